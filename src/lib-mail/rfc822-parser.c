/* RFC 5322 / RFC 2045 value tokenizer (see rfc822-parser.h). The token
   rules follow Dovecot's rfc822-parser so that BODYSTRUCTURE and
   ENVELOPE come out the same. */
#include "rfc822-parser.h"
#include <stdlib.h>
#include <strings.h>

/* 1 = atext, 2 = atext and alnum/8-bit, 4 = atext but MIME tspecial */
const unsigned char rfc822_atext_chars[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 4,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 4, 0, 4,
	0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1,
	1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

void rfc822_parser_init(struct rfc822_parser *ctx, const void *data,
			size_t size, string_t *last_comment)
{
	ctx->data = data;
	ctx->end = ctx->data + size;
	ctx->last_comment = last_comment;
}

int rfc822_skip_comment(struct rfc822_parser *ctx)
{
	const unsigned char *start;
	int level = 1;

	if (ctx->last_comment != NULL)
		str_truncate(ctx->last_comment, 0);
	start = ++ctx->data;
	for (; ctx->data < ctx->end; ctx->data++) {
		switch (*ctx->data) {
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				if (ctx->last_comment != NULL)
					str_append_n(ctx->last_comment, start,
						     ctx->data - start);
				ctx->data++;
				return ctx->data < ctx->end ? 1 : 0;
			}
			break;
		case '\\':
			if (ctx->last_comment != NULL)
				str_append_n(ctx->last_comment, start,
					     ctx->data - start);
			start = ctx->data + 1;
			ctx->data++;
			if (ctx->data >= ctx->end)
				return -1;
			break;
		}
	}
	return -1;
}

int rfc822_skip_lwsp(struct rfc822_parser *ctx)
{
	while (ctx->data < ctx->end) {
		unsigned char c = *ctx->data;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			ctx->data++;
			continue;
		}
		if (c != '(')
			break;
		if (rfc822_skip_comment(ctx) < 0)
			return -1;
	}
	return ctx->data < ctx->end ? 1 : 0;
}

int rfc822_parse_atom(struct rfc822_parser *ctx, string_t *str)
{
	const unsigned char *start;

	if (ctx->data >= ctx->end || !IS_ATEXT(*ctx->data))
		return -1;
	for (start = ctx->data++; ctx->data < ctx->end; ctx->data++) {
		if (IS_ATEXT(*ctx->data))
			continue;
		str_append_n(str, start, ctx->data - start);
		return rfc822_skip_lwsp(ctx);
	}
	str_append_n(str, start, ctx->data - start);
	return 0;
}

int rfc822_parse_dot_atom(struct rfc822_parser *ctx, string_t *str)
{
	const unsigned char *start;
	int ret;

	if (ctx->data >= ctx->end || !IS_ATEXT(*ctx->data))
		return -1;
	for (start = ctx->data++; ctx->data < ctx->end; ) {
		if (IS_ATEXT(*ctx->data)) {
			ctx->data++;
			continue;
		}
		str_append_n(str, start, ctx->data - start);
		if ((ret = rfc822_skip_lwsp(ctx)) <= 0)
			return ret;
		if (*ctx->data != '.')
			return 1;
		ctx->data++;
		str_append_c(str, '.');
		if ((ret = rfc822_skip_lwsp(ctx)) <= 0)
			return ret;
		start = ctx->data;
	}
	str_append_n(str, start, ctx->data - start);
	return 0;
}

int rfc822_parse_mime_token(struct rfc822_parser *ctx, string_t *str)
{
	const unsigned char *start;

	for (start = ctx->data; ctx->data < ctx->end; ctx->data++) {
		if (IS_ATEXT_NON_TSPECIAL(*ctx->data) || *ctx->data == '.')
			continue;
		str_append_n(str, start, ctx->data - start);
		return rfc822_skip_lwsp(ctx);
	}
	str_append_n(str, start, ctx->data - start);
	return 0;
}

int rfc822_parse_quoted_string(struct rfc822_parser *ctx, string_t *str)
{
	const unsigned char *start;
	size_t len;

	ctx->data++; /* the opening '"' */
	for (start = ctx->data; ctx->data < ctx->end; ctx->data++) {
		switch (*ctx->data) {
		case '"':
			str_append_n(str, start, ctx->data - start);
			ctx->data++;
			return rfc822_skip_lwsp(ctx);
		case '\n':
			/* folding whitespace: drop the [CR]LF */
			len = ctx->data - start;
			if (len > 0 && start[len - 1] == '\r')
				len--;
			str_append_n(str, start, len);
			start = ctx->data + 1;
			break;
		case '\\':
			ctx->data++;
			if (ctx->data >= ctx->end)
				return -1;
			str_append_n(str, start, ctx->data - start - 1);
			start = ctx->data;
			break;
		}
	}
	return -1;
}

static int rfc822_parse_atom_or_dot(struct rfc822_parser *ctx, string_t *str)
{
	const unsigned char *start;

	for (start = ctx->data; ctx->data < ctx->end; ctx->data++) {
		if (IS_ATEXT(*ctx->data) || *ctx->data == '.')
			continue;
		str_append_n(str, start, ctx->data - start);
		return rfc822_skip_lwsp(ctx);
	}
	str_append_n(str, start, ctx->data - start);
	return 0;
}

int rfc822_parse_phrase(struct rfc822_parser *ctx, string_t *str)
{
	int ret;

	/* phrase = 1*word / obs-phrase; obs-phrase allows '.' */
	if (ctx->data >= ctx->end)
		return 0;
	if (*ctx->data == '.')
		return -1;
	for (;;) {
		if (*ctx->data == '"')
			ret = rfc822_parse_quoted_string(ctx, str);
		else
			ret = rfc822_parse_atom_or_dot(ctx, str);
		if (ret <= 0)
			return ret;
		if (!IS_ATEXT(*ctx->data) && *ctx->data != '"' &&
		    *ctx->data != '.')
			break;
		str_append_c(str, ' ');
	}
	return rfc822_skip_lwsp(ctx);
}

static int rfc822_parse_domain_literal(struct rfc822_parser *ctx,
				       string_t *str)
{
	const unsigned char *start;

	for (start = ctx->data; ctx->data < ctx->end; ctx->data++) {
		if (*ctx->data == '\\') {
			ctx->data++;
			if (ctx->data >= ctx->end)
				break;
		} else if (*ctx->data == ']') {
			ctx->data++;
			str_append_n(str, start, ctx->data - start);
			return rfc822_skip_lwsp(ctx);
		}
	}
	return -1;
}

int rfc822_parse_domain(struct rfc822_parser *ctx, string_t *str)
{
	ctx->data++; /* '@' */
	if (rfc822_skip_lwsp(ctx) <= 0)
		return -1;
	if (*ctx->data == '[')
		return rfc822_parse_domain_literal(ctx, str);
	return rfc822_parse_dot_atom(ctx, str);
}

int rfc822_parse_content_type(struct rfc822_parser *ctx, string_t *str)
{
	if (rfc822_skip_lwsp(ctx) <= 0)
		return -1;
	if (rfc822_parse_mime_token(ctx, str) <= 0)
		return -1;
	if (*ctx->data != '/')
		return -1;
	ctx->data++;
	if (rfc822_skip_lwsp(ctx) <= 0)
		return -1;
	str_append_c(str, '/');
	return rfc822_parse_mime_token(ctx, str);
}

/* ";" attribute "=" value; returns 1 with key/value, 0 at end, -1 on
   a broken parameter */
static int rfc822_parse_content_param(struct rfc822_parser *ctx,
				      string_t *key, string_t *value)
{
	int ret;

	str_truncate(key, 0);
	str_truncate(value, 0);
	if (ctx->data >= ctx->end)
		return 0;
	if (*ctx->data != ';')
		return -1;
	ctx->data++;
	if (rfc822_skip_lwsp(ctx) <= 0)
		return -1;
	if (rfc822_parse_mime_token(ctx, key) <= 0)
		return -1;
	if (*ctx->data != '=')
		return -1;
	ctx->data++;
	if ((ret = rfc822_skip_lwsp(ctx)) <= 0) {
		/* no value */
	} else if (*ctx->data == '"') {
		ret = rfc822_parse_quoted_string(ctx, value);
	} else if (*ctx->data == '=') {
		/* broken input: name==?utf-8?b?...?= */
		while (ctx->data < ctx->end && *ctx->data != ';' &&
		       *ctx->data != ' ' && *ctx->data != '\t' &&
		       *ctx->data != '\r' && *ctx->data != '\n') {
			str_append_c(value, *ctx->data);
			ctx->data++;
		}
	} else {
		ret = rfc822_parse_mime_token(ctx, value);
	}
	return ret < 0 ? -1 : 1;
}

struct rfc2231_param {
	char *key;
	char *value;
	unsigned int idx;
	bool extended;
	unsigned int order;
};

static int rfc2231_param_cmp(const void *p1, const void *p2)
{
	const struct rfc2231_param *r1 = p1, *r2 = p2;
	int ret = strcmp(r1->key, r2->key);

	if (ret != 0)
		return ret;
	if (r1->idx != r2->idx)
		return r1->idx < r2->idx ? -1 : 1;
	return r1->order < r2->order ? -1 : (r1->order > r2->order);
}

static void params_add(struct message_param **params, unsigned int *count,
		       unsigned int *alloc, char *name, char *value)
{
	if (*count >= RFC822_MAX_PARAMS) {
		free(name);
		free(value);
		return;
	}
	if (*count == *alloc) {
		*alloc = *alloc == 0 ? 4 : *alloc * 2;
		*params = i_realloc(*params, *alloc * sizeof(**params));
	}
	(*params)[*count].name = name;
	(*params)[*count].value = value;
	(*count)++;
}

static void rfc2231_escape(string_t *dest, const char *src)
{
	for (; *src != '\0'; src++) {
		if (*src == '%')
			str_append(dest, "%25");
		else
			str_append_c(dest, *src);
	}
}

static void rfc2231_merge(struct rfc2231_param *rp, unsigned int rcount,
			  struct message_param **params, unsigned int *count,
			  unsigned int *alloc)
{
	unsigned int i, j, next;

	qsort(rp, rcount, sizeof(*rp), rfc2231_param_cmp);
	for (i = 0; i < rcount; i = next) {
		bool ok = true, have_extended = false;
		unsigned int next_idx = 0;

		for (j = i; j < rcount; j++) {
			if (strcasecmp(rp[i].key, rp[j].key) != 0)
				break;
			if (rp[j].idx != next_idx)
				ok = false;
			if (rp[j].extended)
				have_extended = true;
			next_idx++;
		}
		next = j;
		if (!ok) {
			for (j = i; j < next; j++) {
				params_add(params, count, alloc,
					   i_strdup_printf(rp[j].extended ?
							   "%s*%u*" : "%s*%u",
							   rp[j].key, rp[j].idx),
					   i_strdup(rp[j].value));
			}
			continue;
		}
		string_t *str = str_new(64);
		if (!rp[i].extended && have_extended)
			str_append(str, "''");
		for (j = i; j < next; j++) {
			if (!rp[j].extended && have_extended)
				rfc2231_escape(str, rp[j].value);
			else
				str_append(str, rp[j].value);
		}
		params_add(params, count, alloc,
			   i_strdup_printf("%s%s", rp[i].key,
					   have_extended ? "*" : ""),
			   str_free_without_data(&str));
	}
}

void rfc822_parse_params(struct rfc822_parser *ctx,
			 struct message_param **params_r,
			 unsigned int *count_r)
{
	struct message_param *params = NULL;
	struct rfc2231_param *rp = NULL;
	unsigned int count = 0, alloc = 0, rcount = 0, ralloc = 0, order = 0;
	string_t *key = str_new(64), *value = str_new(128);
	int ret;

	while ((ret = rfc822_parse_content_param(ctx, key, value)) != 0) {
		if (ret < 0) {
			/* skip a byte and try to continue */
			if (ctx->data >= ctx->end)
				break;
			ctx->data++;
			continue;
		}
		if (count + rcount >= RFC822_MAX_PARAMS)
			continue;
		const char *k = str_c(key), *p = strchr(k, '*');
		if (p != NULL) {
			const char *p2 = p;
			unsigned int idx = 0;
			bool extended;

			if (p[1] != '\0') {
				p++;
				for (; *p >= '0' && *p <= '9'; p++)
					idx = idx * 10 + (*p - '0');
			}
			extended = *p == '*';
			if (extended)
				p++;
			if (*p == '\0' && idx < 10000) {
				if (rcount == ralloc) {
					ralloc = ralloc == 0 ? 4 : ralloc * 2;
					rp = i_realloc(rp, ralloc * sizeof(*rp));
				}
				rp[rcount].key = i_strndup(k, p2 - k);
				rp[rcount].value = i_strdup(str_c(value));
				rp[rcount].idx = idx;
				rp[rcount].extended = extended;
				rp[rcount].order = order++;
				rcount++;
				continue;
			}
		}
		params_add(&params, &count, &alloc, i_strdup(k),
			   i_strdup(str_c(value)));
	}
	if (rcount > 0)
		rfc2231_merge(rp, rcount, &params, &count, &alloc);
	for (unsigned int i = 0; i < rcount; i++) {
		free(rp[i].key);
		free(rp[i].value);
	}
	free(rp);
	str_free(&key);
	str_free(&value);
	*params_r = params;
	*count_r = count;
}

void rfc822_params_free(struct message_param **params, unsigned int count)
{
	if (*params == NULL)
		return;
	for (unsigned int i = 0; i < count; i++) {
		free((*params)[i].name);
		free((*params)[i].value);
	}
	i_free(*params);
}
