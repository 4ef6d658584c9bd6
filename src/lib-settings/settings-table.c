/* The settings tables (name, type, default, offset) and the typed value
   parsers/formatters that the parser, printer and snapshot share. */
#include "settings-private.h"
#include <stdlib.h>
#include <stdio.h>
#include <ctype.h>
#include <strings.h>

#define DEF(type, st, field, def) \
	{ #field, type, offsetof(struct st, field), def, NULL }
#define DEFN(name, type, st, field, def) \
	{ name, type, offsetof(struct st, field), def, NULL }
#define DEFE(type, st, field, def, values) \
	{ #field, type, offsetof(struct st, field), def, values }

static const struct setting_def global_defs[] = {
	DEF(SET_STR, loft_settings, dovecot_config_version, ""),
	DEF(SET_STR, loft_settings, dovecot_storage_version, ""),
	DEF(SET_STR, loft_settings, base_dir, "/run/loft"),
	DEF(SET_STR, loft_settings, state_dir, "/var/lib/loft"),
	DEF(SET_LIST, loft_settings, protocols, "imap pop3 lmtp"),
	/* values = "," : printed comma separated, as Dovecot does */
	DEFE(SET_LIST, loft_settings, listen, "*, ::", ","),
	DEF(SET_STR, loft_settings, log_path, "syslog"),
	DEF(SET_STR, loft_settings, info_log_path, ""),
	DEF(SET_STR, loft_settings, debug_log_path, ""),
	DEF(SET_STR, loft_settings, hostname, ""),
	DEF(SET_STR, loft_settings, default_login_user, "dovenull"),
	DEF(SET_STR, loft_settings, default_internal_user, "dovecot"),
	DEF(SET_BOOL, loft_settings, shutdown_clients, "yes"),
	DEF(SET_UINT, loft_settings, default_process_limit, "100"),
	DEF(SET_UINT, loft_settings, default_client_limit, "1000"),
	DEF(SET_SIZE, loft_settings, default_vsz_limit, "256M"),

	DEFE(SET_ENUM_INT, loft_settings, ssl, "yes", "no:yes:required"),
	DEFN("ssl_cert", SET_FILE, loft_settings, ssl_cert_path, ""),
	DEFN("ssl_key", SET_FILE, loft_settings, ssl_key_path, ""),
	DEF(SET_STR, loft_settings, ssl_key_password, ""),
	DEFN("ssl_ca", SET_FILE, loft_settings, ssl_ca_path, ""),
	DEFE(SET_ENUM, loft_settings, ssl_min_protocol, "TLSv1.2",
	     "TLSv1.2:TLSv1.3:TLSv1.1:TLSv1:SSLv3:ANY"),
	DEF(SET_STR, loft_settings, ssl_cipher_list,
	    "ALL:!kRSA:!SRP:!kDHd:!DSS:!aNULL:!eNULL:!EXPORT:!DES:!3DES:!MD5:!PSK:!RC4:!ADH:!LOW@STRENGTH"),
	DEF(SET_STR, loft_settings, ssl_cipher_suites, ""),
	DEF(SET_STR, loft_settings, ssl_curve_list, ""),
	DEF(SET_BOOL, loft_settings, ssl_prefer_server_ciphers, "no"),

	DEF(SET_BOOL, loft_settings, disable_plaintext_auth, "yes"),
	DEF(SET_LIST, loft_settings, auth_mechanisms, "plain"),
	DEF(SET_STR, loft_settings, auth_username_format, "%Lu"),
	DEF(SET_STR, loft_settings, auth_realms, ""),
	DEF(SET_STR, loft_settings, auth_default_realm, ""),
	DEF(SET_TIME, loft_settings, auth_failure_delay, "2 secs"),
	DEF(SET_BOOL, loft_settings, auth_verbose, "no"),
	DEF(SET_BOOL, loft_settings, auth_debug, "no"),
	DEF(SET_LIST, loft_settings, login_trusted_networks, ""),
	DEF(SET_STR, loft_settings, login_greeting, "loft ready."),

	DEF(SET_STR, loft_settings, mail_location, ""),
	DEF(SET_STR, loft_settings, mail_home, ""),
	DEF(SET_STR, loft_settings, mail_uid, ""),
	DEF(SET_STR, loft_settings, mail_gid, ""),
	DEF(SET_STR, loft_settings, mail_privileged_group, ""),
	DEF(SET_UINT, loft_settings, first_valid_uid, "500"),
	DEF(SET_UINT, loft_settings, last_valid_uid, "0"),
	DEF(SET_UINT, loft_settings, first_valid_gid, "1"),
	DEF(SET_UINT, loft_settings, last_valid_gid, "0"),
	DEFE(SET_ENUM, loft_settings, mail_fsync, "optimized",
	     "optimized:always:never"),
	DEF(SET_BOOL, loft_settings, mail_debug, "no"),
	DEF(SET_UINT, loft_settings, mail_max_userip_connections, "10"),
	DEF(SET_SIZE, loft_settings, mail_max_message_size, "0"),

	DEF(SET_SIZE, loft_settings, imap_max_line_length, "64k"),
	DEF(SET_STR, loft_settings, imap_capability, ""),
	DEF(SET_TIME, loft_settings, imap_idle_notify_interval, "2 mins"),
	DEF(SET_TIME, loft_settings, mailbox_idle_check_interval, "30 secs"),
	DEF(SET_STR, loft_settings, imap_logout_format,
	    "in=%i out=%o deleted=%{deleted} expunged=%{expunged} trashed=%{trashed} hdr_count=%{fetch_hdr_count} hdr_bytes=%{fetch_hdr_bytes} body_count=%{fetch_body_count} body_bytes=%{fetch_body_bytes}"),
	DEF(SET_STR, loft_settings, mail_max_keyword_length, "50"),

	DEF(SET_STR, loft_settings, pop3_uidl_format, "%08Xu%08Xv"),
	DEF(SET_STR, loft_settings, pop3_logout_format,
	    "top=%t/%p, retr=%r/%b, del=%d/%m, size=%s"),

	DEF(SET_STR, loft_settings, recipient_delimiter, "+"),
	DEF(SET_STR, loft_settings, postmaster_address, ""),
	DEF(SET_BOOL, loft_settings, lmtp_save_to_detail_mailbox, "no"),
	DEF(SET_BOOL, loft_settings, lda_mailbox_autocreate, "no"),
	DEFE(SET_ENUM, loft_settings, lmtp_hdr_delivery_address, "final",
	     "final:original:none"),
	DEF(SET_BOOL, loft_settings, lmtp_add_received_header, "yes"),
};

static const struct setting_def service_defs[] = {
	DEF(SET_UINT, service_settings, process_limit, "0"),
	DEF(SET_UINT, service_settings, process_min_avail, "0"),
	DEF(SET_UINT, service_settings, client_limit, "0"),
	DEF(SET_UINT, service_settings, service_count, "0"),
	DEF(SET_SIZE, service_settings, vsz_limit, "0"),
	DEF(SET_STR, service_settings, user, ""),
	DEF(SET_STR, service_settings, group, ""),
	DEF(SET_STR, service_settings, chroot, ""),
};

static const struct setting_def inet_listener_defs[] = {
	DEF(SET_STR, inet_listener_settings, address, ""),
	DEF(SET_PORT, inet_listener_settings, port, "0"),
	DEF(SET_BOOL, inet_listener_settings, ssl, "no"),
	DEF(SET_BOOL, inet_listener_settings, haproxy, "no"),
};

static const struct setting_def unix_listener_defs[] = {
	DEF(SET_OCTAL, unix_listener_settings, mode, "0600"),
	DEF(SET_STR, unix_listener_settings, user, ""),
	DEF(SET_STR, unix_listener_settings, group, ""),
};

static const struct setting_def auth_db_defs[] = {
	DEF(SET_STR, auth_db_settings, driver, ""),
	DEF(SET_STR, auth_db_settings, args, ""),
	DEF(SET_STR, auth_db_settings, default_fields, ""),
	DEF(SET_STR, auth_db_settings, override_fields, ""),
	DEF(SET_STR, auth_db_settings, default_password_scheme, ""),
	DEF(SET_BOOL, auth_db_settings, deny, "no"),
	DEF(SET_BOOL, auth_db_settings, master, "no"),
	DEF(SET_BOOL, auth_db_settings, pass, "no"),
};

static const struct setting_def namespace_defs[] = {
	DEFE(SET_ENUM, namespace_settings, type, "private",
	     "private:shared:public"),
	DEF(SET_STR, namespace_settings, separator, ""),
	DEF(SET_STR, namespace_settings, prefix, ""),
	DEF(SET_STR, namespace_settings, location, ""),
	DEF(SET_BOOL, namespace_settings, inbox, "no"),
	DEF(SET_BOOL, namespace_settings, hidden, "no"),
	DEF(SET_BOOL, namespace_settings, list, "yes"),
	DEF(SET_BOOL, namespace_settings, subscriptions, "yes"),
};

static const struct setting_def mailbox_defs[] = {
	DEF(SET_STR, mailbox_settings, special_use, ""),
	{ "auto", SET_ENUM, offsetof(struct mailbox_settings, autocreate),
	  "no", "no:create:subscribe" },
};

#define TABLE(n, defs) { n, defs, N_ELEMENTS(defs) }
const struct setting_table settings_global_table = TABLE("global", global_defs);
const struct setting_table settings_service_table = TABLE("service", service_defs);
const struct setting_table settings_inet_listener_table =
	TABLE("inet_listener", inet_listener_defs);
const struct setting_table settings_unix_listener_table =
	TABLE("unix_listener", unix_listener_defs);
const struct setting_table settings_auth_db_table = TABLE("auth_db", auth_db_defs);
const struct setting_table settings_namespace_table =
	TABLE("namespace", namespace_defs);
const struct setting_table settings_mailbox_table = TABLE("mailbox", mailbox_defs);

#define FIELD(obj, def, type) ((type *)((char *)(obj) + (def)->offset))
#define CFIELD(obj, def, type) ((type const *)((const char *)(obj) + (def)->offset))

const struct setting_def *
setting_table_find(const struct setting_table *table, const char *name)
{
	for (unsigned int i = 0; i < table->count; i++) {
		if (strcmp(table->defs[i].name, name) == 0)
			return &table->defs[i];
	}
	return NULL;
}

char **settings_list_empty(void)
{
	return i_new(char *, 1);
}

char **settings_list_dup(char *const *list)
{
	unsigned int n = str_array_length(list);
	char **dup = i_new(char *, n + 1);
	for (unsigned int i = 0; i < n; i++)
		dup[i] = i_strdup(list[i]);
	return dup;
}

void settings_list_append(char ***list, const char *value)
{
	unsigned int n = str_array_length(*list);
	*list = i_realloc(*list, sizeof(char *) * (n + 2));
	(*list)[n] = i_strdup(value);
	(*list)[n + 1] = NULL;
}

static int parse_bool(const char *value, bool *b_r)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0 ||
	    strcmp(value, "1") == 0)
		*b_r = true;
	else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "n") == 0 ||
		 strcmp(value, "0") == 0)
		*b_r = false;
	else
		return -1;
	return 0;
}

/* Split "123 k" into number and lowercased unit. */
static int parse_number_unit(const char *value, uint64_t *num_r,
			     char unit_r[16])
{
	const char *p = value;
	uint64_t n = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	size_t len = strlen(p);
	if (len >= 16)
		return -1;
	for (size_t i = 0; i <= len; i++)
		unit_r[i] = (char)tolower((unsigned char)p[i]);
	*num_r = n;
	return 0;
}

static bool unit_in(const char *unit, const char *const *names)
{
	for (unsigned int i = 0; names[i] != NULL; i++) {
		if (strcmp(unit, names[i]) == 0)
			return true;
	}
	return false;
}

static int parse_size(const char *value, uint64_t *size_r, char **error_r)
{
	static const char *const b[] = { "", "b", "byte", "bytes", NULL };
	static const char *const k[] = { "k", "kb", "kib", "kilobyte", "kilobytes", NULL };
	static const char *const m[] = { "m", "mb", "mib", "megabyte", "megabytes", NULL };
	static const char *const g[] = { "g", "gb", "gib", "gigabyte", "gigabytes", NULL };
	static const char *const t[] = { "t", "tb", "tib", "terabyte", "terabytes", NULL };
	uint64_t n, mul;
	char unit[16];

	if (strcasecmp(value, "unlimited") == 0) {
		*size_r = 0;
		return 0;
	}
	if (parse_number_unit(value, &n, unit) < 0) {
		*error_r = i_strdup_printf("Invalid size '%s'", value);
		return -1;
	}
	if (unit_in(unit, b)) mul = 1;
	else if (unit_in(unit, k)) mul = 1024ULL;
	else if (unit_in(unit, m)) mul = 1024ULL * 1024;
	else if (unit_in(unit, g)) mul = 1024ULL * 1024 * 1024;
	else if (unit_in(unit, t)) mul = 1024ULL * 1024 * 1024 * 1024;
	else {
		*error_r = i_strdup_printf("Invalid size unit in '%s'", value);
		return -1;
	}
	if (n > UINT64_MAX / mul) {
		*error_r = i_strdup_printf("Size '%s' is too large", value);
		return -1;
	}
	*size_r = n * mul;
	return 0;
}

static int parse_time(const char *value, unsigned int *secs_r, char **error_r)
{
	static const char *const ms[] = { "ms", "msec", "msecs", "millisecond", "milliseconds", NULL };
	static const char *const s[] = { "", "s", "sec", "secs", "second", "seconds", NULL };
	static const char *const m[] = { "m", "min", "mins", "minute", "minutes", NULL };
	static const char *const h[] = { "h", "hour", "hours", NULL };
	static const char *const d[] = { "d", "day", "days", NULL };
	static const char *const w[] = { "w", "week", "weeks", NULL };
	uint64_t n, mul;
	char unit[16];

	if (parse_number_unit(value, &n, unit) < 0) {
		*error_r = i_strdup_printf("Invalid time interval '%s'", value);
		return -1;
	}
	if (unit_in(unit, ms)) {
		if (n % 1000 != 0) {
			*error_r = i_strdup_printf(
				"Time '%s' is not a whole number of seconds", value);
			return -1;
		}
		n /= 1000;
		mul = 1;
	} else if (unit_in(unit, s)) mul = 1;
	else if (unit_in(unit, m)) mul = 60;
	else if (unit_in(unit, h)) mul = 3600;
	else if (unit_in(unit, d)) mul = 86400;
	else if (unit_in(unit, w)) mul = 7 * 86400;
	else {
		*error_r = i_strdup_printf("Invalid time unit in '%s'", value);
		return -1;
	}
	if (n > UINT32_MAX / mul) {
		*error_r = i_strdup_printf("Time '%s' is too large", value);
		return -1;
	}
	*secs_r = (unsigned int)(n * mul);
	return 0;
}

/* Index of value in "a:b:c", or -1. */
static int enum_index(const char *values, const char *value)
{
	int idx = 0;
	size_t vlen = strlen(value);
	for (const char *p = values;; idx++) {
		const char *end = strchr(p, ':');
		size_t len = end == NULL ? strlen(p) : (size_t)(end - p);
		if (len == vlen && strncmp(p, value, len) == 0)
			return idx;
		if (end == NULL)
			return -1;
		p = end + 1;
	}
}

static char *enum_value_list(const char *values)
{
	string_t *str = str_new(64);
	for (const char *p = values; *p != '\0'; p++) {
		if (*p == ':')
			str_append(str, ", ");
		else
			str_append_c(str, *p);
	}
	return str_free_without_data(&str);
}

/* Split at spaces and commas, dropping empty and repeated items
   (Debian's protocols.d files do "protocols = $protocols imap"). */
static char **parse_list(const char *value)
{
	char **parts = str_split(value, " \t,");
	unsigned int j = 0;
	for (unsigned int i = 0; parts[i] != NULL; i++) {
		bool dup = parts[i][0] == '\0';
		for (unsigned int k = 0; k < j && !dup; k++)
			dup = strcmp(parts[k], parts[i]) == 0;
		if (dup)
			free(parts[i]);
		else
			parts[j++] = parts[i];
	}
	parts[j] = NULL;
	return parts;
}

static void set_string(char **field, const char *value)
{
	free(*field);
	*field = value == NULL || value[0] == '\0' ? NULL : i_strdup(value);
}

int setting_parse(const struct setting_def *def, void *obj, const char *value,
		  bool keyfile, char **error_r)
{
	uint64_t n;
	int idx;

	if (keyfile && def->type != SET_FILE) {
		*error_r = i_strdup("Internal error: '<' value for non-file setting");
		return -1;
	}
	switch (def->type) {
	case SET_STR:
		set_string(FIELD(obj, def, char *), value);
		return 0;
	case SET_FILE:
		if (!keyfile && value[0] != '\0') {
			*error_r = i_strdup_printf(
				"Expected '<' and a file path, e.g. %s = </etc/ssl/file.pem",
				def->name);
			return -1;
		}
		set_string(FIELD(obj, def, char *), value);
		return 0;
	case SET_BOOL:
		if (parse_bool(value, FIELD(obj, def, bool)) < 0) {
			*error_r = i_strdup_printf(
				"Invalid boolean value '%s' (use yes or no)", value);
			return -1;
		}
		return 0;
	case SET_UINT:
	case SET_PORT:
		if (str_to_uint64(value, &n) < 0 || n > UINT32_MAX) {
			*error_r = i_strdup_printf("Invalid number '%s'", value);
			return -1;
		}
		if (def->type == SET_PORT && n > 65535) {
			*error_r = i_strdup_printf("Invalid port '%s' (max 65535)",
						   value);
			return -1;
		}
		*FIELD(obj, def, unsigned int) = (unsigned int)n;
		return 0;
	case SET_OCTAL: {
		uint64_t m = 0;
		if (value[0] == '\0' || strlen(value) > 11) {
			*error_r = i_strdup_printf("Invalid file mode '%s'", value);
			return -1;
		}
		for (const char *p = value; *p != '\0'; p++) {
			if (*p < '0' || *p > '7') {
				*error_r = i_strdup_printf(
					"Invalid file mode '%s'", value);
				return -1;
			}
			m = m * 8 + (uint64_t)(*p - '0');
		}
		if (m > 07777) {
			*error_r = i_strdup_printf("Invalid file mode '%s'", value);
			return -1;
		}
		*FIELD(obj, def, unsigned int) = (unsigned int)m;
		return 0;
	}
	case SET_SIZE:
		return parse_size(value, FIELD(obj, def, uint64_t), error_r);
	case SET_TIME:
		return parse_time(value, FIELD(obj, def, unsigned int), error_r);
	case SET_LIST: {
		char ***list = FIELD(obj, def, char **);
		str_split_free(list);
		*list = parse_list(value);
		return 0;
	}
	case SET_ENUM:
	case SET_ENUM_INT:
		idx = enum_index(def->values, value);
		if (idx < 0) {
			char *vals = enum_value_list(def->values);
			*error_r = i_strdup_printf("Invalid value '%s' (allowed: %s)",
						   value, vals);
			free(vals);
			return -1;
		}
		if (def->type == SET_ENUM_INT)
			*FIELD(obj, def, int) = idx;
		else
			set_string(FIELD(obj, def, char *), value);
		return 0;
	}
	*error_r = i_strdup("Internal error: bad setting type");
	return -1;
}

static void format_size(uint64_t size, string_t *dest)
{
	static const char units[] = "kMGT";
	int u = -1;
	while (size != 0 && size % 1024 == 0 && u < 3) {
		size /= 1024;
		u++;
	}
	str_printfa(dest, "%llu", (unsigned long long)size);
	if (u >= 0)
		str_append_c(dest, units[u]);
}

static void format_time(unsigned int secs, string_t *dest)
{
	if (secs != 0 && secs % 86400 == 0)
		str_printfa(dest, "%u day%s", secs / 86400, secs == 86400 ? "" : "s");
	else if (secs != 0 && secs % 3600 == 0)
		str_printfa(dest, "%u hour%s", secs / 3600, secs == 3600 ? "" : "s");
	else if (secs != 0 && secs % 60 == 0)
		str_printfa(dest, "%u min%s", secs / 60, secs == 60 ? "" : "s");
	else
		str_printfa(dest, "%u sec%s", secs, secs == 1 ? "" : "s");
}

static void format_enum_int(const char *values, int idx, string_t *dest)
{
	const char *p = values;
	for (int i = 0; i < idx && p != NULL; i++) {
		p = strchr(p, ':');
		if (p != NULL)
			p++;
	}
	if (p == NULL) {
		str_printfa(dest, "%d", idx);
		return;
	}
	const char *end = strchr(p, ':');
	str_append_n(dest, p, end == NULL ? strlen(p) : (size_t)(end - p));
}

void setting_format(const struct setting_def *def, const void *obj,
		    string_t *dest)
{
	const char *s;

	switch (def->type) {
	case SET_STR:
	case SET_FILE:
	case SET_ENUM:
		s = *CFIELD(obj, def, char *);
		if (s != NULL)
			str_append(dest, s);
		break;
	case SET_BOOL:
		str_append(dest, *CFIELD(obj, def, bool) ? "yes" : "no");
		break;
	case SET_UINT:
	case SET_PORT:
		str_printfa(dest, "%u", *CFIELD(obj, def, unsigned int));
		break;
	case SET_OCTAL:
		str_printfa(dest, "0%o", *CFIELD(obj, def, unsigned int));
		break;
	case SET_SIZE:
		format_size(*CFIELD(obj, def, uint64_t), dest);
		break;
	case SET_TIME:
		format_time(*CFIELD(obj, def, unsigned int), dest);
		break;
	case SET_LIST: {
		char *const *list = *CFIELD(obj, def, char **);
		for (unsigned int i = 0; list != NULL && list[i] != NULL; i++) {
			if (i > 0)
				str_append(dest, def->values != NULL ? ", " : " ");
			str_append(dest, list[i]);
		}
		break;
	}
	case SET_ENUM_INT:
		format_enum_int(def->values, *CFIELD(obj, def, int), dest);
		break;
	}
}

bool setting_equals(const struct setting_def *def, const void *a,
		    const void *b)
{
	string_t *sa = str_new(64), *sb = str_new(64);
	setting_format(def, a, sa);
	setting_format(def, b, sb);
	bool ret = strcmp(str_c(sa), str_c(sb)) == 0;
	str_free(&sa);
	str_free(&sb);
	return ret;
}

void setting_table_defaults(const struct setting_table *table, void *obj)
{
	for (unsigned int i = 0; i < table->count; i++) {
		const struct setting_def *def = &table->defs[i];
		char *error = NULL;
		bool keyfile = def->type == SET_FILE;
		if (setting_parse(def, obj, def->default_value, keyfile,
				  &error) < 0) {
			/* a broken default table is a programming error */
			fprintf(stderr, "Panic: default of %s: %s\n",
				def->name, error);
			abort();
		}
	}
}

void setting_table_free(const struct setting_table *table, void *obj)
{
	for (unsigned int i = 0; i < table->count; i++) {
		const struct setting_def *def = &table->defs[i];
		switch (def->type) {
		case SET_STR:
		case SET_FILE:
		case SET_ENUM:
			i_free(*FIELD(obj, def, char *));
			break;
		case SET_LIST:
			str_split_free(FIELD(obj, def, char **));
			break;
		default:
			break;
		}
	}
}

void setting_table_copy(const struct setting_table *table, void *dest,
			const void *src)
{
	for (unsigned int i = 0; i < table->count; i++) {
		const struct setting_def *def = &table->defs[i];
		switch (def->type) {
		case SET_STR:
		case SET_FILE:
		case SET_ENUM:
			*FIELD(dest, def, char *) =
				i_strdup(*CFIELD(src, def, char *));
			break;
		case SET_LIST:
			*FIELD(dest, def, char **) =
				settings_list_dup(*CFIELD(src, def, char **));
			break;
		case SET_BOOL:
			*FIELD(dest, def, bool) = *CFIELD(src, def, bool);
			break;
		case SET_UINT:
		case SET_PORT:
		case SET_OCTAL:
		case SET_TIME:
			*FIELD(dest, def, unsigned int) =
				*CFIELD(src, def, unsigned int);
			break;
		case SET_SIZE:
			*FIELD(dest, def, uint64_t) = *CFIELD(src, def, uint64_t);
			break;
		case SET_ENUM_INT:
			*FIELD(dest, def, int) = *CFIELD(src, def, int);
			break;
		}
	}
}
