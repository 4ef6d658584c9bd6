/* SMTP paths, MAIL/RCPT arguments: see smtp-address.h. */
#include "smtp-address.h"
#include <stdlib.h>
#include <ctype.h>
#include <strings.h>

/* RFC 5321 4.1.2 atext (RFC 5322 3.2.3), plus 8-bit bytes for
   SMTPUTF8 senders (RFC 6531) */
static bool smtp_char_is_atext(unsigned char c)
{
	if (isalnum(c) || c >= 0x80)
		return true;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

static bool smtp_char_is_domain(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c >= 0x80;
}

static int smtp_parse_domain(const char **_p, char **domain_r,
			     const char **error_r)
{
	const char *p = *_p, *start = p;

	if (*p == '[') {
		/* address-literal: "[" 1*dcontent "]" */
		for (p++; *p != ']'; p++) {
			if (*p < 33 || *p > 126 || *p == '[' || *p == '\\') {
				*error_r = "Invalid address literal";
				return -1;
			}
		}
		p++;
	} else {
		while (smtp_char_is_domain((unsigned char)*p))
			p++;
		bool double_dot = false;
		for (const char *d = start; d + 1 < p; d++)
			double_dot = double_dot || (d[0] == '.' && d[1] == '.');
		if (p == start || *start == '.' || p[-1] == '.' || double_dot) {
			*error_r = "Invalid domain";
			return -1;
		}
	}
	if ((size_t)(p - start) > SMTP_DOMAIN_MAX_LENGTH) {
		*error_r = "Domain too long";
		return -1;
	}
	*domain_r = i_strndup(start, p - start);
	*_p = p;
	return 0;
}

/* Source route "@a,@b:" (RFC 5321 4.1.2 A-d-l); parsed and dropped. */
static int smtp_skip_source_route(const char **_p, const char **error_r)
{
	const char *p = *_p;
	char *domain;

	if (*p != '@')
		return 0;
	for (;;) {
		if (*p != '@') {
			*error_r = "Invalid source route";
			return -1;
		}
		p++;
		if (smtp_parse_domain(&p, &domain, error_r) < 0)
			return -1;
		free(domain);
		if (*p == ':')
			break;
		if (*p != ',') {
			*error_r = "Invalid source route";
			return -1;
		}
		p++;
	}
	*_p = p + 1;
	return 0;
}

static int smtp_parse_localpart(const char **_p, string_t *dest,
				const char **error_r)
{
	const char *p = *_p;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\\') {
				p++;
				if ((unsigned char)*p < 32 || *p == 127) {
					*error_r = "Invalid quoted local part";
					return -1;
				}
			} else if ((unsigned char)*p < 32 || *p == 127) {
				*error_r = "Invalid quoted local part";
				return -1;
			}
			str_append_c(dest, *p);
		}
		p++;
	} else {
		/* Dot-string; consecutive or trailing dots are tolerated
		   as many real senders produce them */
		while (smtp_char_is_atext((unsigned char)*p) || *p == '.')
			str_append_c(dest, *p++);
		if (str_len(dest) == 0) {
			*error_r = "Empty local part";
			return -1;
		}
	}
	if (str_len(dest) > SMTP_LOCALPART_MAX_LENGTH) {
		*error_r = "Local part too long";
		return -1;
	}
	*_p = p;
	return 0;
}

int smtp_path_parse(const char *s, bool allow_null,
		    struct smtp_address *addr_r, const char **end_r,
		    const char **error_r)
{
	const char *p = s;
	string_t *local;

	memset(addr_r, 0, sizeof(*addr_r));
	if (*p != '<') {
		*error_r = "Missing '<' in path";
		return -1;
	}
	p++;
	if (*p == '>') {
		if (!allow_null) {
			*error_r = "Null path not allowed";
			return -1;
		}
		*end_r = p + 1;
		return 0;
	}
	if (smtp_skip_source_route(&p, error_r) < 0)
		return -1;
	local = str_new(64);
	if (smtp_parse_localpart(&p, local, error_r) < 0) {
		str_free(&local);
		return -1;
	}
	if (*p == '@') {
		p++;
		if (smtp_parse_domain(&p, &addr_r->domain, error_r) < 0) {
			str_free(&local);
			return -1;
		}
	}
	if (*p != '>') {
		free(addr_r->domain);
		addr_r->domain = NULL;
		str_free(&local);
		*error_r = "Invalid character in path";
		return -1;
	}
	if ((size_t)(p + 1 - s) > SMTP_PATH_MAX_LENGTH) {
		free(addr_r->domain);
		addr_r->domain = NULL;
		str_free(&local);
		*error_r = "Path too long";
		return -1;
	}
	addr_r->localpart = str_free_without_data(&local);
	*end_r = p + 1;
	return 0;
}

void smtp_address_free(struct smtp_address *addr)
{
	i_free(addr->localpart);
	i_free(addr->domain);
}

static bool smtp_localpart_is_dot_string(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (s[1] == '.' || s[1] == '\0')
				return false;
		} else if (!smtp_char_is_atext((unsigned char)*s)) {
			return false;
		}
	}
	return true;
}

char *smtp_address_encode_parts(const char *localpart, const char *domain)
{
	string_t *str = str_new(64);

	if (localpart == NULL)
		return str_free_without_data(&str);
	if (smtp_localpart_is_dot_string(localpart)) {
		str_append(str, localpart);
	} else {
		str_append_c(str, '"');
		for (const char *p = localpart; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				str_append_c(str, '\\');
			str_append_c(str, *p);
		}
		str_append_c(str, '"');
	}
	if (domain != NULL) {
		str_append_c(str, '@');
		str_append(str, domain);
	}
	return str_free_without_data(&str);
}

char *smtp_address_encode(const struct smtp_address *addr)
{
	return smtp_address_encode_parts(addr->localpart, addr->domain);
}

static int smtp_parse_params(const char *p, struct smtp_envelope_cmd *cmd,
			     const char **error_r)
{
	while (*p == ' ')
		p++;
	while (*p != '\0') {
		const char *start = p, *eq = NULL;

		if (cmd->params_count == SMTP_MAX_PARAMS) {
			*error_r = "Too many parameters";
			return -1;
		}
		if (!isalnum((unsigned char)*p)) {
			*error_r = "Invalid parameter";
			return -1;
		}
		for (; *p != ' ' && *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;
			if (eq == NULL && c == '=') {
				eq = p;
			} else if (eq == NULL && !isalnum(c) && c != '-') {
				*error_r = "Invalid parameter keyword";
				return -1;
			} else if (eq != NULL && (c < 33 || c == '=' || c == 127)) {
				*error_r = "Invalid parameter value";
				return -1;
			}
		}
		if ((size_t)(p - start) > SMTP_PARAM_MAX_LENGTH) {
			*error_r = "Parameter too long";
			return -1;
		}
		if (eq != NULL && eq + 1 == p) {
			*error_r = "Empty parameter value";
			return -1;
		}
		struct smtp_param *param = &cmd->params[cmd->params_count++];
		param->keyword = i_strndup(start, (eq != NULL ? eq : p) - start);
		str_ucase(param->keyword);
		param->value = eq == NULL ? NULL : i_strndup(eq + 1, p - eq - 1);
		while (*p == ' ')
			p++;
	}
	return 0;
}

static int smtp_parse_envelope(const char *args, const char *keyword,
			       bool allow_null, struct smtp_envelope_cmd *cmd_r,
			       const char **error_r)
{
	size_t len = strlen(keyword);
	const char *p;

	memset(cmd_r, 0, sizeof(*cmd_r));
	if (strncasecmp(args, keyword, len) != 0) {
		*error_r = allow_null ? "Invalid FROM: missing FROM:" :
			"Invalid TO: missing TO:";
		return -1;
	}
	p = args + len;
	while (*p == ' ')
		p++;
	if (smtp_path_parse(p, allow_null, &cmd_r->path, &p, error_r) < 0)
		return -1;
	if (*p != ' ' && *p != '\0') {
		*error_r = "Invalid character after path";
		smtp_envelope_cmd_free(cmd_r);
		return -1;
	}
	if (smtp_parse_params(p, cmd_r, error_r) < 0) {
		smtp_envelope_cmd_free(cmd_r);
		return -1;
	}
	return 0;
}

int smtp_parse_mail(const char *args, struct smtp_envelope_cmd *cmd_r,
		    const char **error_r)
{
	return smtp_parse_envelope(args, "FROM:", true, cmd_r, error_r);
}

int smtp_parse_rcpt(const char *args, struct smtp_envelope_cmd *cmd_r,
		    const char **error_r)
{
	return smtp_parse_envelope(args, "TO:", false, cmd_r, error_r);
}

void smtp_envelope_cmd_free(struct smtp_envelope_cmd *cmd)
{
	smtp_address_free(&cmd->path);
	for (unsigned int i = 0; i < cmd->params_count; i++) {
		i_free(cmd->params[i].keyword);
		i_free(cmd->params[i].value);
	}
	cmd->params_count = 0;
}

const char *smtp_envelope_cmd_param(const struct smtp_envelope_cmd *cmd,
				    const char *keyword, bool *found_r)
{
	for (unsigned int i = 0; i < cmd->params_count; i++) {
		if (strcasecmp(cmd->params[i].keyword, keyword) == 0) {
			if (found_r != NULL)
				*found_r = true;
			return cmd->params[i].value;
		}
	}
	if (found_r != NULL)
		*found_r = false;
	return NULL;
}
