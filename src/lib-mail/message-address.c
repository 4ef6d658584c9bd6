/* Address list parser (see message-address.h); the grammar handling and
   its fallbacks for broken input mirror Dovecot's message-address.c so
   that ENVELOPE output matches. */
#include "message-address.h"
#include "rfc822-parser.h"
#include <stdlib.h>

struct addr_ctx {
	struct rfc822_parser parser;
	struct message_address *first, *last, addr;
	string_t *str;
	unsigned int count;
	bool fill_missing;
};

static char *dup_str(const char *s)
{
	return s == NULL ? NULL : i_strdup(s);
}

static void addr_clear(struct message_address *a)
{
	free(a->name);
	free(a->route);
	free(a->mailbox);
	free(a->domain);
	memset(a, 0, sizeof(*a));
}

static void add_address(struct addr_ctx *ctx)
{
	struct message_address *addr;

	if (ctx->count >= MESSAGE_ADDRESS_MAX_COUNT) {
		addr_clear(&ctx->addr);
		return;
	}
	ctx->count++;
	addr = i_new(struct message_address, 1);
	*addr = ctx->addr;
	memset(&ctx->addr, 0, sizeof(ctx->addr));
	if (ctx->first == NULL)
		ctx->first = addr;
	else
		ctx->last->next = addr;
	ctx->last = addr;
}

static void set_field(char **field, const char *value)
{
	free(*field);
	*field = dup_str(value);
}

static int parse_local_part(struct addr_ctx *ctx)
{
	int ret;

	str_truncate(ctx->str, 0);
	if (*ctx->parser.data == '"')
		ret = rfc822_parse_quoted_string(&ctx->parser, ctx->str);
	else
		ret = rfc822_parse_dot_atom(&ctx->parser, ctx->str);
	if (ret < 0)
		return -1;
	set_field(&ctx->addr.mailbox, str_c(ctx->str));
	return ret;
}

static int parse_domain(struct addr_ctx *ctx)
{
	int ret;

	str_truncate(ctx->str, 0);
	if ((ret = rfc822_parse_domain(&ctx->parser, ctx->str)) < 0)
		return -1;
	set_field(&ctx->addr.domain, str_c(ctx->str));
	return ret;
}

static int parse_domain_list(struct addr_ctx *ctx)
{
	int ret;

	/* obs-domain-list = "@" domain *(*(CFWS / ",") [CFWS] "@" domain) */
	str_truncate(ctx->str, 0);
	for (;;) {
		if (ctx->parser.data >= ctx->parser.end)
			return 0;
		if (*ctx->parser.data != '@')
			break;
		if (str_len(ctx->str) > 0)
			str_append_c(ctx->str, ',');
		str_append_c(ctx->str, '@');
		if ((ret = rfc822_parse_domain(&ctx->parser, ctx->str)) <= 0)
			return ret;
		while (rfc822_skip_lwsp(&ctx->parser) > 0 &&
		       *ctx->parser.data == ',')
			ctx->parser.data++;
	}
	set_field(&ctx->addr.route, str_c(ctx->str));
	return 1;
}

static int parse_angle_addr(struct addr_ctx *ctx)
{
	ctx->parser.data++; /* '<' */
	if (rfc822_skip_lwsp(&ctx->parser) <= 0)
		return -1;
	if (*ctx->parser.data == '@') {
		if (parse_domain_list(ctx) > 0 && *ctx->parser.data == ':') {
			ctx->parser.data++;
		} else {
			if (ctx->fill_missing)
				set_field(&ctx->addr.route, "INVALID_ROUTE");
			if (ctx->parser.data >= ctx->parser.end)
				return -1;
		}
		if (rfc822_skip_lwsp(&ctx->parser) <= 0)
			return -1;
	}
	if (*ctx->parser.data != '>') {
		if (parse_local_part(ctx) <= 0)
			return -1;
		if (*ctx->parser.data == '@') {
			if (parse_domain(ctx) <= 0)
				return -1;
		}
	}
	if (*ctx->parser.data != '>')
		return -1;
	ctx->parser.data++;
	return rfc822_skip_lwsp(&ctx->parser);
}

static int parse_name_addr(struct addr_ctx *ctx)
{
	str_truncate(ctx->str, 0);
	if (rfc822_parse_phrase(&ctx->parser, ctx->str) <= 0 ||
	    *ctx->parser.data != '<')
		return -1;
	set_field(&ctx->addr.name, str_len(ctx->str) == 0 ? NULL :
		  str_c(ctx->str));
	if (parse_angle_addr(ctx) < 0) {
		if (ctx->fill_missing)
			set_field(&ctx->addr.domain, "SYNTAX_ERROR");
		ctx->addr.invalid_syntax = true;
	}
	return ctx->parser.data < ctx->parser.end ? 1 : 0;
}

static int parse_addr_spec(struct addr_ctx *ctx)
{
	int ret, ret2 = -2;
	bool quoted_string = *ctx->parser.data == '"';

	str_truncate(ctx->parser.last_comment, 0);
	ret = parse_local_part(ctx);
	if (ret <= 0)
		ctx->addr.invalid_syntax = true;
	if (ret != 0 && ctx->parser.data < ctx->parser.end &&
	    *ctx->parser.data == '@') {
		ret2 = parse_domain(ctx);
		if (ret2 <= 0)
			ret = ret2;
	}
	if (str_len(ctx->parser.last_comment) > 0) {
		set_field(&ctx->addr.name, str_c(ctx->parser.last_comment));
	} else if (ret2 == -2) {
		/* "user" alone is a mailbox, "user more words" a name */
		size_t orig_len;

		str_append_c(ctx->str, ' ');
		orig_len = str_len(ctx->str);
		(void)rfc822_parse_phrase(&ctx->parser, ctx->str);
		if (str_len(ctx->str) != orig_len) {
			set_field(&ctx->addr.mailbox, NULL);
			set_field(&ctx->addr.name, str_c(ctx->str));
		} else if (!quoted_string) {
			set_field(&ctx->addr.domain, "");
		}
		ctx->addr.invalid_syntax = true;
		ret = -1;
	}
	return ret;
}

static void add_fixed_address(struct addr_ctx *ctx)
{
	if (ctx->addr.mailbox == NULL) {
		set_field(&ctx->addr.mailbox,
			  ctx->fill_missing ? "MISSING_MAILBOX" : "");
		ctx->addr.invalid_syntax = true;
	}
	if (ctx->addr.domain == NULL || ctx->addr.domain[0] == '\0') {
		set_field(&ctx->addr.domain,
			  ctx->fill_missing ? "MISSING_DOMAIN" : "");
		ctx->addr.invalid_syntax = true;
	}
	add_address(ctx);
}

static int parse_mailbox(struct addr_ctx *ctx)
{
	const unsigned char *start = ctx->parser.data;
	int ret;

	if ((ret = parse_name_addr(ctx)) < 0) {
		ctx->parser.data = start;
		addr_clear(&ctx->addr);
		ret = parse_addr_spec(ctx);
		if (ctx->addr.invalid_syntax && ctx->addr.name == NULL &&
		    ctx->addr.mailbox != NULL && ctx->addr.domain == NULL) {
			ctx->addr.name = ctx->addr.mailbox;
			ctx->addr.mailbox = NULL;
		}
	}
	if (ret < 0)
		ctx->addr.invalid_syntax = true;
	add_fixed_address(ctx);
	return ret;
}

static int parse_group(struct addr_ctx *ctx)
{
	int ret;

	str_truncate(ctx->str, 0);
	if (rfc822_parse_phrase(&ctx->parser, ctx->str) <= 0 ||
	    *ctx->parser.data != ':')
		return -1;
	/* from now on it's a group even if broken */
	ctx->parser.data++;
	if ((ret = rfc822_skip_lwsp(&ctx->parser)) <= 0)
		ctx->addr.invalid_syntax = true;
	addr_clear(&ctx->addr);
	set_field(&ctx->addr.mailbox, str_c(ctx->str));
	add_address(ctx);

	if (ret > 0 && *ctx->parser.data != ';') {
		for (;;) {
			(void)parse_mailbox(ctx);
			if (ctx->parser.data >= ctx->parser.end ||
			    *ctx->parser.data != ',')
				break;
			ctx->parser.data++;
			if (rfc822_skip_lwsp(&ctx->parser) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (ctx->parser.data >= ctx->parser.end ||
		    *ctx->parser.data != ';')
			ret = -1;
		else {
			ctx->parser.data++;
			ret = rfc822_skip_lwsp(&ctx->parser);
		}
	}
	addr_clear(&ctx->addr);
	if (ret < 0)
		ctx->addr.invalid_syntax = true;
	add_address(ctx);
	return ret == 0 ? 0 : 1;
}

static int parse_address(struct addr_ctx *ctx)
{
	const unsigned char *start = ctx->parser.data;
	int ret;

	if ((ret = parse_group(ctx)) < 0) {
		ctx->parser.data = start;
		addr_clear(&ctx->addr);
		ret = parse_mailbox(ctx);
	}
	return ret;
}

static void parse_address_list(struct addr_ctx *ctx)
{
	int ret;

	while (ctx->count < MESSAGE_ADDRESS_MAX_COUNT) {
		const unsigned char *before = ctx->parser.data;

		if ((ret = parse_address(ctx)) == 0)
			break;
		if (ctx->parser.data >= ctx->parser.end ||
		    *ctx->parser.data != ',')
			break;
		ctx->parser.data++;
		if ((ret = rfc822_skip_lwsp(&ctx->parser)) <= 0) {
			if (ret < 0)
				add_fixed_address(ctx);
			break;
		}
		if (ctx->parser.data <= before)
			break; /* no progress: give up */
	}
}

struct message_address *
message_address_parse(const void *data, size_t size, bool fill_missing)
{
	struct addr_ctx ctx;
	string_t *comment = str_new(64);

	memset(&ctx, 0, sizeof(ctx));
	rfc822_parser_init(&ctx.parser, data, size, comment);
	ctx.str = str_new(128);
	ctx.fill_missing = fill_missing;
	if (rfc822_skip_lwsp(&ctx.parser) > 0)
		parse_address_list(&ctx);
	addr_clear(&ctx.addr);
	str_free(&ctx.str);
	str_free(&comment);
	return ctx.first;
}

void message_address_free(struct message_address **_addr)
{
	struct message_address *addr = *_addr, *next;

	*_addr = NULL;
	for (; addr != NULL; addr = next) {
		next = addr->next;
		addr_clear(addr);
		free(addr);
	}
}

void message_address_write(string_t *dest, const struct message_address *addr)
{
	bool first = true, in_group = false;

	for (; addr != NULL; addr = addr->next) {
		if (addr->domain == NULL && !in_group) {
			/* group start */
			if (!first)
				str_append(dest, ", ");
			if (addr->mailbox != NULL)
				str_append(dest, addr->mailbox);
			str_append(dest, ": ");
			first = true;
			in_group = true;
			continue;
		}
		if (addr->domain == NULL && in_group) {
			str_append_c(dest, ';');
			in_group = false;
			first = false;
			continue;
		}
		if (!first)
			str_append(dest, ", ");
		first = false;
		if (addr->name != NULL) {
			str_append(dest, addr->name);
			str_append_c(dest, ' ');
		}
		str_append_c(dest, '<');
		if (addr->route != NULL) {
			str_append(dest, addr->route);
			str_append_c(dest, ':');
		}
		if (addr->mailbox != NULL)
			str_append(dest, addr->mailbox);
		if (addr->domain != NULL && addr->domain[0] != '\0') {
			str_append_c(dest, '@');
			str_append(dest, addr->domain);
		}
		str_append_c(dest, '>');
	}
}
