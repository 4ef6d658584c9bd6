#ifndef LOFT_RFC822_PARSER_H
#define LOFT_RFC822_PARSER_H
/* Tokenizer for RFC 5322 / RFC 2045 structured header values: atoms,
   dot-atoms, quoted strings, comments, MIME tokens, content types and
   parameters (with RFC 2231 continuations). Works on an in-memory value
   (normally an unfolded header value); never reads past end. Return
   values follow Dovecot's convention: 1 = ok and more data follows,
   0 = ok and at end of input, -1 = syntax error. */
#include "lib.h"
#include "message-parser.h"

#define RFC822_MAX_PARAMS 256

struct rfc822_parser {
	const unsigned char *data, *end;
	/* if non-NULL, receives the text of the last skipped comment */
	string_t *last_comment;
};

extern const unsigned char rfc822_atext_chars[256];
#define IS_ATEXT(c) (rfc822_atext_chars[(unsigned char)(c)] != 0)
#define IS_ATEXT_NON_TSPECIAL(c) \
	((rfc822_atext_chars[(unsigned char)(c)] & 3) != 0)

void rfc822_parser_init(struct rfc822_parser *ctx, const void *data,
			size_t size, string_t *last_comment);
int rfc822_skip_comment(struct rfc822_parser *ctx);
int rfc822_skip_lwsp(struct rfc822_parser *ctx);
int rfc822_parse_atom(struct rfc822_parser *ctx, string_t *str);
int rfc822_parse_dot_atom(struct rfc822_parser *ctx, string_t *str);
int rfc822_parse_mime_token(struct rfc822_parser *ctx, string_t *str);
int rfc822_parse_quoted_string(struct rfc822_parser *ctx, string_t *str);
int rfc822_parse_phrase(struct rfc822_parser *ctx, string_t *str);
/* ctx->data must point at '@' */
int rfc822_parse_domain(struct rfc822_parser *ctx, string_t *str);
/* "type/subtype" into str (as far as it parses) */
int rfc822_parse_content_type(struct rfc822_parser *ctx, string_t *str);

/* Parse ";name=value" parameters until the end, merging RFC 2231
   name*0/name*1*... continuations into "name" / "name*" as Dovecot
   does. Malformed parameters are skipped. At most RFC822_MAX_PARAMS
   are returned. Free with rfc822_params_free(). */
void rfc822_parse_params(struct rfc822_parser *ctx,
			 struct message_param **params_r,
			 unsigned int *count_r);
void rfc822_params_free(struct message_param **params, unsigned int count);

#endif
