/* MIME structure parser (see message-parser.h).

   The algorithm follows Dovecot's streaming message-parser, expressed
   over a buffer in memory: a stack of active boundaries (innermost
   first), the current part, and a scan position. Sizes are offsets into
   the data; line counts are counted when a part is finished. */
#include "message-parser.h"
#include "message-header.h"
#include "rfc822-parser.h"
#include <stdlib.h>
#include <strings.h>

#define BOUNDARY_STRING_MAX_LEN (70 + 10)
#define BOUNDARY_END_MAX_LEN (BOUNDARY_STRING_MAX_LEN + 2 + 2)

struct boundary {
	struct boundary *next;
	struct message_part *part;
	char *str;
	size_t len;
	bool epilogue_found;
};

struct parser {
	const unsigned char *data;
	size_t size, pos;
	struct boundary *boundaries;
	struct message_part *root, *part;
	unsigned int nested_count, total_count;
	/* last child appended at each depth, to append in O(1) */
	struct message_part *tails[MESSAGE_PARSER_MAX_NESTING + 2];
	/* end offset to use if a boundary is found on the first line that
	   is scanned in body_to_boundary() */
	size_t first_line_end;
	bool first_line;
};

static void boundary_free_list(struct boundary *b, struct boundary *until)
{
	while (b != until && b != NULL) {
		struct boundary *next = b->next;

		free(b->str);
		free(b);
		b = next;
	}
}

static unsigned int count_lf(const unsigned char *data, size_t size)
{
	unsigned int n = 0;
	const unsigned char *p = data, *end = data + size, *lf;

	while (p < end && (lf = memchr(p, '\n', end - p)) != NULL) {
		n++;
		p = lf + 1;
	}
	return n;
}

static struct message_part *part_append(struct parser *ctx, size_t offset)
{
	struct message_part *parent = ctx->part, *part, **pp;
	unsigned int depth = parent == NULL ? 0 : ctx->nested_count + 1;

	part = i_new(struct message_part, 1);
	part->parent = parent;
	part->header_offset = offset;
	if (parent != NULL) {
		if (depth < N_ELEMENTS(ctx->tails) && ctx->tails[depth] != NULL &&
		    ctx->tails[depth]->parent == parent) {
			ctx->tails[depth]->next = part;
		} else {
			for (pp = &parent->children; *pp != NULL;
			     pp = &(*pp)->next) ;
			*pp = part;
		}
		parent->children_count++;
	}
	if (depth < N_ELEMENTS(ctx->tails))
		ctx->tails[depth] = part;
	if (depth + 1 < N_ELEMENTS(ctx->tails))
		ctx->tails[depth + 1] = NULL;
	ctx->part = part;
	ctx->nested_count = depth;
	ctx->total_count++;
	return part;
}

static void part_finish(struct parser *ctx, size_t body_end)
{
	struct message_part *part = ctx->part;

	if (body_end < part->body_offset)
		body_end = part->body_offset;
	part->body_size = body_end - part->body_offset;
	part->body_lines = count_lf(ctx->data + part->body_offset,
				    part->body_size);
	ctx->part = part->parent;
	if (ctx->nested_count > 0)
		ctx->nested_count--;
}

/* Find which active boundary the line at pos is, if any. */
static struct boundary *boundary_line_find(struct parser *ctx, size_t pos)
{
	const unsigned char *data = ctx->data + pos, *lf;
	size_t size = ctx->size - pos, find_size, line_size;
	struct boundary *b, *best = NULL;

	if (ctx->boundaries == NULL || size < 2 ||
	    data[0] != '-' || data[1] != '-')
		return NULL;
	if (ctx->total_count >= MESSAGE_PARSER_MAX_PARTS) {
		/* no more parts can be added: boundaries are body text
		   from now on (as Dovecot's max_total_mime_parts) */
		return NULL;
	}
	data += 2;
	size -= 2;
	lf = memchr(data, '\n', size);
	find_size = size;
	if (lf != NULL) {
		find_size = lf - data;
		if (find_size > 0 && data[find_size - 1] == '\r')
			find_size--;
		line_size = find_size;
		if (find_size > 2 && data[find_size - 1] == '-' &&
		    data[find_size - 2] == '-')
			find_size -= 2;
	} else {
		if (find_size > BOUNDARY_END_MAX_LEN)
			find_size = BOUNDARY_END_MAX_LEN;
		line_size = find_size;
	}
	/* Search innermost first; prefer the longest matching prefix. Unlike
	   Dovecot, a boundary that itself ends in "--" also matches its
	   closing line (Dovecot strips the "--" first and misses it). */
	for (b = ctx->boundaries; b != NULL; b = b->next) {
		if (b->len <= line_size &&
		    memcmp(b->str, data, b->len) == 0 &&
		    (best == NULL || best->len < b->len)) {
			best = b;
			if (best->len == find_size || best->len == line_size)
				break;
		}
	}
	if (best != NULL) {
		best->epilogue_found = size >= best->len + 2 &&
			memcmp(data + best->len, "--", 2) == 0;
	}
	return best;
}

static char *dup_value(const struct message_header_field *field)
{
	string_t *str = str_new(field->value_len + 1);

	message_header_field_get_value(field, str,
				       MESSAGE_PARSER_MAX_FIELD_SIZE);
	return str_free_without_data(&str);
}

static void part_clear_mime(struct message_part *part)
{
	free(part->content_type);
	free(part->content_subtype);
	rfc822_params_free(&part->ctype_params,
			   part->ctype_params_count);
	free(part->transfer_encoding);
	free(part->content_id);
	free(part->description);
	free(part->md5);
	free(part->disposition);
	rfc822_params_free(&part->disposition_params,
			   part->disposition_params_count);
	if (part->language != NULL)
		str_split_free(&part->language);
	free(part->location);
	part->content_type = part->content_subtype = NULL;
	part->transfer_encoding = part->content_id = NULL;
	part->description = part->md5 = part->disposition = NULL;
	part->location = NULL;
	part->ctype_params_count = part->disposition_params_count = 0;
}

/* Content-Type: sets the part data (type, subtype, params) and returns
   the boundary parameter (or NULL). */
static char *parse_content_type(struct message_part *part, const char *value,
				bool *has_slash_r)
{
	struct rfc822_parser parser;
	string_t *str = str_new(64);
	const char *slash;
	char *boundary = NULL;
	int ret;

	rfc822_parser_init(&parser, value, strlen(value), NULL);
	rfc822_skip_lwsp(&parser);
	ret = rfc822_parse_content_type(&parser, str);
	slash = strchr(str_c(str), '/');
	*has_slash_r = slash != NULL;
	if (slash != NULL) {
		part->content_subtype = i_strdup(slash + 1);
		part->content_type = i_strndup(str_c(str), slash - str_c(str));
	} else {
		part->content_subtype = i_strdup("");
		part->content_type = i_strdup(str_c(str));
	}
	str_free(&str);

	if (ret >= 0) {
		rfc822_parse_params(&parser,
				    &part->ctype_params,
				    &part->ctype_params_count);
	}
	if (ret >= 0 && strcasecmp(part->content_type, "multipart") == 0) {
		const char *b = message_part_param(part->ctype_params,
						   part->ctype_params_count,
						   "boundary");
		if (b != NULL)
			boundary = i_strndup(b, strnlen(b, BOUNDARY_STRING_MAX_LEN));
	}
	return boundary;
}

static void set_content_type_flags(struct message_part *part, bool has_slash)
{
	const char *type = part->content_type, *sub = part->content_subtype;

	if (has_slash && strcasecmp(type, "message") == 0 &&
	    strcasecmp(sub, "rfc822") == 0)
		part->flags |= MESSAGE_PART_FLAG_MESSAGE_RFC822;
	else if (strcasecmp(type, "text") == 0)
		part->flags |= MESSAGE_PART_FLAG_TEXT;
	else if (has_slash && strcasecmp(type, "multipart") == 0) {
		part->flags |= MESSAGE_PART_FLAG_MULTIPART;
		if (strcasecmp(sub, "digest") == 0)
			part->flags |= MESSAGE_PART_FLAG_MULTIPART_DIGEST;
	}
}

static void parse_language(struct message_part *part, const char *value)
{
	struct rfc822_parser parser;
	string_t *str = str_new(32), *all = str_new(64);
	unsigned int n = 0;

	rfc822_parser_init(&parser, value, strlen(value), NULL);
	rfc822_skip_lwsp(&parser);
	while (n < 64 && rfc822_parse_atom(&parser, str) >= 0) {
		/* '\001' can't be in an atom: use it as the separator */
		if (n++ > 0)
			str_append_c(all, '\001');
		str_append(all, str_c(str));
		str_truncate(str, 0);
		if (parser.data >= parser.end || *parser.data != ',')
			break;
		parser.data++;
		rfc822_skip_lwsp(&parser);
	}
	if (n > 0)
		part->language = str_split(str_c(all), "\001");
	str_free(&str);
	str_free(&all);
}

static void parse_transfer_encoding(struct message_part *part,
				    const char *value)
{
	struct rfc822_parser parser;
	string_t *str = str_new(32);

	rfc822_parser_init(&parser, value, strlen(value), NULL);
	rfc822_skip_lwsp(&parser);
	if (rfc822_parse_mime_token(&parser, str) >= 0 &&
	    rfc822_skip_lwsp(&parser) == 0 && str_len(str) > 0)
		part->transfer_encoding = str_free_without_data(&str);
	else
		str_free(&str);
}

static void parse_disposition(struct message_part *part, const char *value)
{
	struct rfc822_parser parser;
	string_t *str = str_new(32);

	free(part->disposition);
	rfc822_params_free(&part->disposition_params,
			   part->disposition_params_count);
	part->disposition_params_count = 0;
	rfc822_parser_init(&parser, value, strlen(value), NULL);
	rfc822_skip_lwsp(&parser);
	if (rfc822_parse_mime_token(&parser, str) < 0) {
		part->disposition = NULL;
		str_free(&str);
		return;
	}
	part->disposition = str_free_without_data(&str);
	rfc822_parse_params(&parser,
			    &part->disposition_params,
			    &part->disposition_params_count);
}

struct header_state {
	bool seen_content_type;
	bool has_slash;
	char *boundary;
	size_t prev_newline_size;
};

/* One Content-* / MIME-Version field of the current part. */
static void parse_header_field(struct parser *ctx, struct header_state *hs,
			       const struct message_header_field *field)
{
	struct message_part *part = ctx->part;
	const char *name;
	char *value;

	if (message_header_field_is(field, "MIME-Version")) {
		part->flags |= MESSAGE_PART_FLAG_IS_MIME;
		return;
	}
	if (field->name_len <= 8 ||
	    strncasecmp((const char *)field->name, "Content-", 8) != 0)
		return;
	name = (const char *)field->name + 8;
	value = dup_value(field);
#define IS(n) (field->name_len - 8 == strlen(n) && \
	       strncasecmp(name, n, strlen(n)) == 0)
	if (IS("Type")) {
		part->flags |= MESSAGE_PART_FLAG_IS_MIME;
		if (!hs->seen_content_type) {
			hs->seen_content_type = true;
			hs->boundary = parse_content_type(part, value,
							  &hs->has_slash);
			set_content_type_flags(part, hs->has_slash);
		}
	} else if (IS("Transfer-Encoding")) {
		if (part->transfer_encoding == NULL)
			parse_transfer_encoding(part, value);
	} else if (IS("ID")) {
		if (part->content_id == NULL) {
			part->content_id = value;
			value = NULL;
		}
	} else if (IS("MD5")) {
		if (part->md5 == NULL) {
			part->md5 = value;
			value = NULL;
		}
	} else if (IS("Description")) {
		if (part->description == NULL) {
			part->description = value;
			value = NULL;
		}
	} else if (IS("Location")) {
		if (part->location == NULL) {
			part->location = value;
			value = NULL;
		}
	} else if (IS("Language")) {
		if (part->language == NULL)
			parse_language(part, value);
	} else if (IS("Disposition")) {
		/* Dovecot re-parses until one with parameters is seen */
		if (part->disposition_params_count == 0)
			parse_disposition(part, value);
	}
#undef IS
	free(value);
}

/* After the header of ctx->part: decide how its body is parsed. */
static void header_finished(struct parser *ctx, struct header_state *hs,
			    size_t header_end, bool eoh)
{
	struct message_part *part = ctx->part;

	if ((part->flags & MESSAGE_PART_FLAG_IS_MIME) == 0) {
		/* not MIME: forget everything Content-* said */
		part->flags = 0;
		part_clear_mime(part);
	}
	if (eoh && hs->boundary != NULL &&
	    (part->flags & MESSAGE_PART_FLAG_IS_MIME) != 0) {
		if (ctx->nested_count + 1 < MESSAGE_PARSER_MAX_NESTING) {
			struct boundary *b = i_new(struct boundary, 1);

			b->part = part;
			b->str = hs->boundary;
			b->len = strlen(b->str);
			b->next = ctx->boundaries;
			ctx->boundaries = b;
			hs->boundary = NULL;
		} else {
			part->flags &= ~(MESSAGE_PART_FLAG_MULTIPART |
					 MESSAGE_PART_FLAG_MULTIPART_DIGEST);
		}
	}
	free(hs->boundary);
	hs->boundary = NULL;

	if (!hs->seen_content_type ||
	    (part->flags & MESSAGE_PART_FLAG_IS_MIME) == 0) {
		if (part->parent != NULL &&
		    (part->parent->flags & MESSAGE_PART_FLAG_MULTIPART_DIGEST) != 0)
			part->flags |= MESSAGE_PART_FLAG_MESSAGE_RFC822;
		else
			part->flags |= MESSAGE_PART_FLAG_TEXT;
	}
	if (!eoh)
		part->flags |= MESSAGE_PART_FLAG_NO_HEADER_END;
	part->header_size = header_end - part->header_offset;
	part->body_offset = header_end;
	part->header_lines = count_lf(ctx->data + part->header_offset,
				      part->header_size);
}

/* Parse the header of ctx->part starting at ctx->pos. Returns with
   ctx->pos where body scanning continues: the body start, or the start
   of a boundary line that cut the header short. ctx->first_line_end is
   the end of the body if the scan finds a boundary at once. */
static void parse_header(struct parser *ctx)
{
	struct message_part *part = ctx->part;
	struct message_header_iter iter;
	struct message_header_field field;
	struct header_state hs;
	struct boundary *b;
	unsigned int nfields = 0;
	size_t start = ctx->pos, end;

	memset(&hs, 0, sizeof(hs));
	message_header_iter_init(&iter, ctx->data + start, ctx->size - start);
	for (;;) {
		size_t line = start + iter.pos;

		b = boundary_line_find(ctx, line);
		if (b != NULL && b->part != part) {
			/* a boundary ends the header; the newline before it
			   belongs to the boundary */
			end = nfields == 0 ? part->header_offset :
				line - hs.prev_newline_size;
			header_finished(ctx, &hs, end, false);
			ctx->first_line_end = end;
			ctx->pos = line;
			return;
		}
		if (!message_header_iter_next(&iter, &field))
			break;
		hs.prev_newline_size = field.no_newline ? 0 :
			(field.end >= 2 && iter.data[field.end - 2] == '\r' ?
			 2 : 1);
		if (++nfields <= MESSAGE_PARSER_MAX_HEADER_FIELDS)
			parse_header_field(ctx, &hs, &field);
	}
	ctx->pos = start + iter.pos;
	header_finished(ctx, &hs, ctx->pos, iter.eoh);
	ctx->first_line_end = ctx->pos;
	if (iter.eoh) {
		/* As Dovecot: a parent's boundary right after the empty line
		   takes the empty line's newline, so the header ends before
		   it (and the body is empty). */
		b = boundary_line_find(ctx, ctx->pos);
		if (b != NULL && b->part != part) {
			size_t nl = ctx->pos >= 2 &&
				ctx->data[ctx->pos - 2] == '\r' ? 2 : 1;

			part->header_size -= nl;
			part->body_offset -= nl;
			part->header_lines--;
			part->flags |= MESSAGE_PART_FLAG_NO_HEADER_END;
			ctx->first_line_end = part->body_offset;
		}
	}
}

/* A boundary line starts at line_start; the part(s) inside end at
   body_end. Finish them and consume the boundary line. */
static void boundary_reached(struct parser *ctx, struct boundary *b,
			     size_t body_end, size_t line_start)
{
	const unsigned char *lf;

	while (ctx->part != b->part)
		part_finish(ctx, body_end);
	struct boundary *old = ctx->boundaries;

	if (b->epilogue_found) {
		/* this boundary (and any inner ones) aren't needed anymore */
		ctx->boundaries = b->next;
		boundary_free_list(old, b->next);
	} else {
		/* forget the inner boundaries we skipped */
		ctx->boundaries = b;
		boundary_free_list(old, b);
	}
	lf = memchr(ctx->data + line_start, '\n', ctx->size - line_start);
	ctx->pos = lf == NULL ? ctx->size : (size_t)(lf - ctx->data) + 1;
	ctx->first_line_end = ctx->pos;
}

/* Scan the body of ctx->part for the next boundary line. Returns true
   if one was found (ctx->pos is then after the boundary line and
   ctx->part the multipart that owns it), false at end of data. */
static bool parse_body_to_boundary(struct parser *ctx)
{
	const unsigned char *data = ctx->data, *lf;
	struct boundary *b;
	size_t pos = ctx->pos;

	b = boundary_line_find(ctx, pos);
	if (b != NULL) {
		boundary_reached(ctx, b, ctx->first_line_end, pos);
		return true;
	}
	while ((lf = memchr(data + pos, '\n', ctx->size - pos)) != NULL) {
		size_t line = (lf - data) + 1, body_end = lf - data;

		if (body_end > 0 && data[body_end - 1] == '\r')
			body_end--;
		b = boundary_line_find(ctx, line);
		if (b != NULL) {
			boundary_reached(ctx, b, body_end, line);
			return true;
		}
		pos = line;
	}
	ctx->pos = ctx->size;
	return false;
}

enum parse_state { STATE_HEADER, STATE_BODY, STATE_EOF };

static enum parse_state after_header(struct parser *ctx)
{
	struct message_part *part = ctx->part;

	if (ctx->total_count >= MESSAGE_PARSER_MAX_PARTS) {
		/* the last part allowed: it gets the rest of the data */
		part->flags &= ~(MESSAGE_PART_FLAG_MULTIPART |
				 MESSAGE_PART_FLAG_MULTIPART_DIGEST |
				 MESSAGE_PART_FLAG_MESSAGE_RFC822);
		return STATE_EOF;
	}
	if (ctx->boundaries != NULL && ctx->boundaries->part == part)
		return STATE_BODY; /* our own multipart body */
	if ((part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0) {
		if (ctx->nested_count + 1 < MESSAGE_PARSER_MAX_NESTING &&
		    ctx->total_count < MESSAGE_PARSER_MAX_PARTS) {
			/* the encapsulated message starts right here */
			part_append(ctx, ctx->first_line_end);
			return STATE_HEADER;
		}
		part->flags &= ~MESSAGE_PART_FLAG_MESSAGE_RFC822;
	}
	return ctx->boundaries != NULL ? STATE_BODY : STATE_EOF;
}

struct message_part *message_parse(const unsigned char *data, size_t size)
{
	struct parser ctx;
	enum parse_state state = STATE_HEADER;

	memset(&ctx, 0, sizeof(ctx));
	ctx.data = data;
	ctx.size = size;
	ctx.root = part_append(&ctx, 0);
	while (state != STATE_EOF) {
		switch (state) {
		case STATE_HEADER:
			parse_header(&ctx);
			state = after_header(&ctx);
			break;
		case STATE_BODY:
			if (!parse_body_to_boundary(&ctx)) {
				state = STATE_EOF;
			} else if (ctx.boundaries != NULL &&
				   ctx.boundaries->part == ctx.part) {
				/* a new MIME part begins */
				part_append(&ctx, ctx.pos);
				ctx.part->flags |= MESSAGE_PART_FLAG_IS_MIME;
				state = STATE_HEADER;
			} else if (ctx.boundaries == NULL) {
				state = STATE_EOF;
			}
			/* else: epilogue, scan on */
			break;
		case STATE_EOF:
			break;
		}
	}
	while (ctx.part != NULL)
		part_finish(&ctx, size);
	boundary_free_list(ctx.boundaries, NULL);
	return ctx.root;
}

void message_part_free(struct message_part **_part)
{
	struct message_part *part = *_part, *child, *next;

	if (part == NULL)
		return;
	*_part = NULL;
	/* iterative over siblings, recursive over depth (bounded by
	   MESSAGE_PARSER_MAX_NESTING) */
	for (child = part->children; child != NULL; child = next) {
		next = child->next;
		child->next = NULL;
		message_part_free(&child);
	}
	part_clear_mime(part);
	free(part);
}

const struct message_part *
message_part_find(const struct message_part *part, const char *path)
{
	while (part != NULL && *path >= '0' && *path <= '9') {
		unsigned long num = 0;

		while (*path >= '0' && *path <= '9') {
			num = num * 10 + (*path - '0');
			if (num > MESSAGE_PARSER_MAX_PARTS + 1)
				return NULL;
			path++;
		}
		if (*path == '.')
			path++;
		else if (*path != '\0')
			return NULL;
		if (num == 0)
			return NULL;

		if ((part->flags & MESSAGE_PART_FLAG_MULTIPART) != 0) {
			part = part->children;
			for (; num > 1 && part != NULL; num--)
				part = part->next;
		} else if (num != 1) {
			part = NULL;
		} else if (*path != '\0' &&
			   (part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) == 0) {
			part = NULL;
		}
		if (part != NULL &&
		    (part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0 &&
		    *path >= '0' && *path <= '9')
			part = part->children;
	}
	return *path == '\0' ? part : NULL;
}

const char *message_part_param(const struct message_param *params,
			       unsigned int count, const char *name)
{
	for (unsigned int i = 0; i < count; i++) {
		if (strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	}
	return NULL;
}

bool message_part_is_type(const struct message_part *part,
			  const char *type, const char *subtype)
{
	const char *t = part->content_type, *s = part->content_subtype;

	if ((part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0) {
		t = "message";
		s = "rfc822";
	} else if (t == NULL) {
		t = "text";
		s = "plain";
	}
	if (strcasecmp(t, type) != 0)
		return false;
	return subtype == NULL || strcasecmp(s, subtype) == 0;
}
