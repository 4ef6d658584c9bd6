/* Settings snapshot: the master serializes the parsed settings once and
   every service reads them back (DESIGN.md: services never parse the
   config text). Layout, all integers big-endian:
     "LOFTSET1" u32 payload_length payload
   payload = global table, config_path, services, passdbs, userdbs,
   namespaces, filters, plugin_settings, warnings, u32 end marker.
   A string is u8 present + (u32 length + bytes); a list is u32 count +
   strings. The reader trusts no length. */
#include "settings-private.h"
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>

#define SNAPSHOT_MAGIC "LOFTSET1"
#define SNAPSHOT_MAGIC_LEN 8
#define SNAPSHOT_MAX_SIZE (64 * 1024 * 1024)
#define SNAPSHOT_END 0x454e4421U /* "END!" */

#define FIELD(obj, def, type) ((type *)((char *)(obj) + (def)->offset))
#define CFIELD(obj, def, type) ((type const *)((const char *)(obj) + (def)->offset))

/* ---- writer ---- */

static void put_u8(string_t *d, uint8_t v)
{
	str_append_n(d, &v, 1);
}

static void put_u32(string_t *d, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };
	str_append_n(d, b, 4);
}

static void put_u64(string_t *d, uint64_t v)
{
	put_u32(d, (uint32_t)(v >> 32));
	put_u32(d, (uint32_t)v);
}

static void put_str(string_t *d, const char *s)
{
	put_u8(d, s != NULL);
	if (s != NULL) {
		put_u32(d, (uint32_t)strlen(s));
		str_append(d, s);
	}
}

static void put_list(string_t *d, char *const *list)
{
	unsigned int n = str_array_length(list);
	put_u32(d, n);
	for (unsigned int i = 0; i < n; i++)
		put_str(d, list[i]);
}

static void put_table(string_t *d, const struct setting_table *table,
		      const void *obj)
{
	for (unsigned int i = 0; i < table->count; i++) {
		const struct setting_def *def = &table->defs[i];
		switch (def->type) {
		case SET_STR:
		case SET_FILE:
		case SET_ENUM:
			put_str(d, *CFIELD(obj, def, char *));
			break;
		case SET_BOOL:
			put_u8(d, *CFIELD(obj, def, bool) ? 1 : 0);
			break;
		case SET_UINT:
		case SET_PORT:
		case SET_OCTAL:
		case SET_TIME:
			put_u32(d, *CFIELD(obj, def, unsigned int));
			break;
		case SET_SIZE:
			put_u64(d, *CFIELD(obj, def, uint64_t));
			break;
		case SET_LIST:
			put_list(d, *CFIELD(obj, def, char **));
			break;
		case SET_ENUM_INT:
			put_u32(d, (uint32_t)*CFIELD(obj, def, int));
			break;
		}
	}
}

void settings_snapshot_serialize(const struct loft_settings *set,
				 string_t *d)
{
	size_t start = str_len(d);
	str_append(d, SNAPSHOT_MAGIC);
	put_u32(d, 0); /* length, patched below */
	size_t payload = str_len(d);

	put_table(d, &settings_global_table, set);
	put_str(d, set->config_path);
	put_u32(d, set->services_count);
	for (unsigned int i = 0; i < set->services_count; i++) {
		const struct service_settings *s = &set->services[i];
		put_str(d, s->name);
		put_table(d, &settings_service_table, s);
		put_u32(d, s->inet_listeners_count);
		for (unsigned int j = 0; j < s->inet_listeners_count; j++) {
			put_str(d, s->inet_listeners[j].name);
			put_table(d, &settings_inet_listener_table,
				  &s->inet_listeners[j]);
		}
		put_u32(d, s->unix_listeners_count);
		for (unsigned int j = 0; j < s->unix_listeners_count; j++) {
			put_str(d, s->unix_listeners[j].path);
			put_table(d, &settings_unix_listener_table,
				  &s->unix_listeners[j]);
		}
	}
	const struct auth_db_settings *dbs[2] = { set->passdbs, set->userdbs };
	unsigned int counts[2] = { set->passdbs_count, set->userdbs_count };
	for (unsigned int k = 0; k < 2; k++) {
		put_u32(d, counts[k]);
		for (unsigned int i = 0; i < counts[k]; i++) {
			put_str(d, dbs[k][i].name);
			put_table(d, &settings_auth_db_table, &dbs[k][i]);
		}
	}
	put_u32(d, set->namespaces_count);
	for (unsigned int i = 0; i < set->namespaces_count; i++) {
		const struct namespace_settings *ns = &set->namespaces[i];
		put_str(d, ns->name);
		put_table(d, &settings_namespace_table, ns);
		put_u32(d, ns->mailboxes_count);
		for (unsigned int j = 0; j < ns->mailboxes_count; j++) {
			put_str(d, ns->mailboxes[j].name);
			put_table(d, &settings_mailbox_table, &ns->mailboxes[j]);
		}
	}
	put_u32(d, set->filters_count);
	for (unsigned int i = 0; i < set->filters_count; i++) {
		const struct settings_filter *f = &set->filters[i];
		put_str(d, f->protocol);
		put_str(d, f->local);
		put_str(d, f->remote);
		put_str(d, f->local_name);
		put_list(d, f->settings);
	}
	put_list(d, set->plugin_settings);
	put_list(d, set->warnings);
	put_u32(d, SNAPSHOT_END);

	uint32_t len = (uint32_t)(str_len(d) - payload);
	unsigned char *p = (unsigned char *)d->data + start + SNAPSHOT_MAGIC_LEN;
	p[0] = len >> 24; p[1] = len >> 16; p[2] = len >> 8; p[3] = len;
}

int settings_snapshot_write(const struct loft_settings *set, int fd)
{
	string_t *d = str_new(8192);
	settings_snapshot_serialize(set, d);
	int ret = write_full(fd, str_data(d), str_len(d));
	str_free(&d);
	return ret;
}

/* ---- reader ---- */

struct reader {
	const unsigned char *p, *end;
	const char *error;
};

static bool get_fail(struct reader *r, const char *error)
{
	if (r->error == NULL)
		r->error = error;
	r->p = r->end;
	return false;
}

static bool get_u8(struct reader *r, uint8_t *v)
{
	if (r->end - r->p < 1)
		return get_fail(r, "truncated");
	*v = *r->p++;
	return true;
}

static bool get_u32(struct reader *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return get_fail(r, "truncated");
	*v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
		((uint32_t)r->p[2] << 8) | r->p[3];
	r->p += 4;
	return true;
}

static bool get_u64(struct reader *r, uint64_t *v)
{
	uint32_t hi, lo;
	if (!get_u32(r, &hi) || !get_u32(r, &lo))
		return false;
	*v = ((uint64_t)hi << 32) | lo;
	return true;
}

/* A count of items each at least min_item bytes long. */
static bool get_count(struct reader *r, unsigned int max, size_t min_item,
		      unsigned int *count_r)
{
	uint32_t n;
	if (!get_u32(r, &n))
		return false;
	if (n > max || (size_t)n * min_item > (size_t)(r->end - r->p))
		return get_fail(r, "invalid count");
	*count_r = n;
	return true;
}

static bool get_str(struct reader *r, char **s_r)
{
	uint8_t present;
	uint32_t len;
	*s_r = NULL;
	if (!get_u8(r, &present))
		return false;
	if (present > 1)
		return get_fail(r, "invalid string flag");
	if (present == 0)
		return true;
	if (!get_u32(r, &len))
		return false;
	if (len > (size_t)(r->end - r->p))
		return get_fail(r, "string length beyond end");
	if (memchr(r->p, '\0', len) != NULL)
		return get_fail(r, "NUL in string");
	*s_r = i_strndup(r->p, len);
	r->p += len;
	return true;
}

static bool get_name(struct reader *r, char **s_r)
{
	if (!get_str(r, s_r))
		return false;
	if (*s_r == NULL)
		return get_fail(r, "missing name");
	return true;
}

static bool get_list(struct reader *r, char ***list_r)
{
	unsigned int n;
	*list_r = settings_list_empty();
	if (!get_count(r, SETTINGS_MAX_LIST, 1, &n))
		return false;
	*list_r = i_realloc(*list_r, sizeof(char *) * (n + 1));
	memset(*list_r, 0, sizeof(char *) * (n + 1));
	for (unsigned int i = 0; i < n; i++) {
		if (!get_str(r, &(*list_r)[i]))
			return false;
		if ((*list_r)[i] == NULL) {
			(*list_r)[i] = i_strdup("");
			return get_fail(r, "NULL list item");
		}
	}
	return true;
}

static unsigned int enum_count(const char *values)
{
	unsigned int n = 1;
	for (; *values != '\0'; values++)
		n += *values == ':';
	return n;
}

static bool get_table(struct reader *r, const struct setting_table *table,
		      void *obj)
{
	for (unsigned int i = 0; i < table->count && r->error == NULL; i++) {
		const struct setting_def *def = &table->defs[i];
		uint8_t b;
		uint32_t n;
		char *s, *error;

		switch (def->type) {
		case SET_STR:
		case SET_FILE:
			if (!get_str(r, FIELD(obj, def, char *)))
				return false;
			break;
		case SET_ENUM:
			if (!get_str(r, &s))
				return false;
			if (s == NULL ||
			    setting_parse(def, obj, s, false, &error) < 0) {
				if (s != NULL)
					free(error);
				free(s);
				return get_fail(r, "invalid enum value");
			}
			free(s);
			break;
		case SET_BOOL:
			if (!get_u8(r, &b))
				return false;
			if (b > 1)
				return get_fail(r, "invalid boolean");
			*FIELD(obj, def, bool) = b == 1;
			break;
		case SET_UINT:
		case SET_PORT:
		case SET_OCTAL:
		case SET_TIME:
			if (!get_u32(r, &n))
				return false;
			if (def->type == SET_OCTAL && n > 07777)
				return get_fail(r, "invalid file mode");
			if (def->type == SET_PORT && n > 65535)
				return get_fail(r, "invalid port");
			*FIELD(obj, def, unsigned int) = n;
			break;
		case SET_SIZE:
			if (!get_u64(r, FIELD(obj, def, uint64_t)))
				return false;
			break;
		case SET_LIST:
			if (!get_list(r, FIELD(obj, def, char **)))
				return false;
			break;
		case SET_ENUM_INT:
			if (!get_u32(r, &n))
				return false;
			if (n >= enum_count(def->values))
				return get_fail(r, "invalid enum value");
			*FIELD(obj, def, int) = (int)n;
			break;
		}
	}
	return r->error == NULL;
}

static bool get_service(struct reader *r, struct service_settings *s)
{
	unsigned int n;
	if (!get_name(r, &s->name) ||
	    !get_table(r, &settings_service_table, s) ||
	    !get_count(r, SETTINGS_MAX_LISTENERS, 5, &n))
		return false;
	s->inet_listeners = i_new(struct inet_listener_settings, n);
	for (; s->inet_listeners_count < n; s->inet_listeners_count++) {
		struct inet_listener_settings *l =
			&s->inet_listeners[s->inet_listeners_count];
		if (!get_name(r, &l->name) ||
		    !get_table(r, &settings_inet_listener_table, l)) {
			s->inet_listeners_count++;
			return false;
		}
	}
	if (!get_count(r, SETTINGS_MAX_LISTENERS, 5, &n))
		return false;
	s->unix_listeners = i_new(struct unix_listener_settings, n);
	for (; s->unix_listeners_count < n; s->unix_listeners_count++) {
		struct unix_listener_settings *l =
			&s->unix_listeners[s->unix_listeners_count];
		if (!get_name(r, &l->path) ||
		    !get_table(r, &settings_unix_listener_table, l)) {
			s->unix_listeners_count++;
			return false;
		}
	}
	return true;
}

static bool get_auth_dbs(struct reader *r, struct auth_db_settings **dbs_r,
			 unsigned int *count_r)
{
	unsigned int n;
	if (!get_count(r, SETTINGS_MAX_AUTH_DBS, 1, &n))
		return false;
	*dbs_r = i_new(struct auth_db_settings, n);
	for (; *count_r < n; (*count_r)++) {
		struct auth_db_settings *db = &(*dbs_r)[*count_r];
		if (!get_str(r, &db->name) ||
		    !get_table(r, &settings_auth_db_table, db)) {
			(*count_r)++;
			return false;
		}
	}
	return true;
}

static bool get_namespace(struct reader *r, struct namespace_settings *ns)
{
	unsigned int n;
	if (!get_str(r, &ns->name) ||
	    !get_table(r, &settings_namespace_table, ns) ||
	    !get_count(r, SETTINGS_MAX_MAILBOXES, 5, &n))
		return false;
	ns->mailboxes = i_new(struct mailbox_settings, n);
	for (; ns->mailboxes_count < n; ns->mailboxes_count++) {
		struct mailbox_settings *box = &ns->mailboxes[ns->mailboxes_count];
		if (!get_name(r, &box->name) ||
		    !get_table(r, &settings_mailbox_table, box)) {
			ns->mailboxes_count++;
			return false;
		}
	}
	return true;
}

static bool get_filter(struct reader *r, struct settings_filter *f)
{
	return get_str(r, &f->protocol) && get_str(r, &f->local) &&
		get_str(r, &f->remote) && get_str(r, &f->local_name) &&
		get_list(r, &f->settings);
}

static bool get_settings(struct reader *r, struct loft_settings *set)
{
	unsigned int n;
	uint32_t end;

	if (!get_table(r, &settings_global_table, set) ||
	    !get_str(r, &set->config_path) ||
	    !get_count(r, SETTINGS_MAX_SERVICES, 10, &n))
		return false;
	set->services = i_new(struct service_settings, n);
	for (; set->services_count < n; set->services_count++) {
		if (!get_service(r, &set->services[set->services_count])) {
			set->services_count++;
			return false;
		}
	}
	if (!get_auth_dbs(r, &set->passdbs, &set->passdbs_count) ||
	    !get_auth_dbs(r, &set->userdbs, &set->userdbs_count) ||
	    !get_count(r, SETTINGS_MAX_NAMESPACES, 5, &n))
		return false;
	set->namespaces = i_new(struct namespace_settings, n);
	for (; set->namespaces_count < n; set->namespaces_count++) {
		if (!get_namespace(r, &set->namespaces[set->namespaces_count])) {
			set->namespaces_count++;
			return false;
		}
	}
	if (!get_count(r, SETTINGS_MAX_FILTERS, 8, &n))
		return false;
	set->filters = i_new(struct settings_filter, n);
	for (; set->filters_count < n; set->filters_count++) {
		if (!get_filter(r, &set->filters[set->filters_count])) {
			set->filters_count++;
			return false;
		}
	}
	str_split_free(&set->plugin_settings);
	str_split_free(&set->warnings);
	if (!get_list(r, &set->plugin_settings) ||
	    !get_list(r, &set->warnings) || !get_u32(r, &end))
		return false;
	if (end != SNAPSHOT_END)
		return get_fail(r, "missing end marker");
	if (r->p != r->end)
		return get_fail(r, "trailing garbage");
	return true;
}

/* A struct whose every pointer is valid (empty lists) so that
   settings_free() works at any point of a failed read. */
static struct loft_settings *settings_empty(void)
{
	struct loft_settings *set = i_new(struct loft_settings, 1);
	for (unsigned int i = 0; i < settings_global_table.count; i++) {
		const struct setting_def *def = &settings_global_table.defs[i];
		if (def->type == SET_LIST)
			*FIELD(set, def, char **) = settings_list_empty();
	}
	set->plugin_settings = settings_list_empty();
	set->warnings = settings_list_empty();
	return set;
}

int settings_snapshot_parse(const void *data, size_t size,
			    struct loft_settings **set_r, char **error_r)
{
	const unsigned char *p = data;
	*set_r = NULL;
	if (size < SNAPSHOT_MAGIC_LEN + 4 ||
	    memcmp(p, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_LEN) != 0) {
		*error_r = i_strdup("Settings snapshot: bad magic");
		return -1;
	}
	uint32_t len = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) |
		((uint32_t)p[10] << 8) | p[11];
	if (len != size - SNAPSHOT_MAGIC_LEN - 4) {
		*error_r = i_strdup("Settings snapshot: length mismatch");
		return -1;
	}
	struct reader r = { p + 12, p + size, NULL };
	struct loft_settings *set = settings_empty();
	/* get_table() replaces the empty lists; free them first */
	for (unsigned int i = 0; i < settings_global_table.count; i++) {
		const struct setting_def *def = &settings_global_table.defs[i];
		if (def->type == SET_LIST)
			str_split_free(FIELD(set, def, char **));
	}
	if (!get_settings(&r, set)) {
		*error_r = i_strdup_printf("Settings snapshot: %s", r.error);
		settings_free(&set);
		return -1;
	}
	*set_r = set;
	return 0;
}

static int read_exact(int fd, void *buf, size_t size, off_t *offset)
{
	unsigned char *p = buf;
	while (size > 0) {
		ssize_t ret = *offset >= 0 ? pread(fd, p, size, *offset) :
			read(fd, p, size);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (ret == 0) {
			errno = EPIPE;
			return -1;
		}
		p += ret;
		size -= (size_t)ret;
		if (*offset >= 0)
			*offset += ret;
	}
	return 0;
}

int settings_snapshot_read(int fd, struct loft_settings **set_r,
			   char **error_r)
{
	unsigned char hdr[SNAPSHOT_MAGIC_LEN + 4];
	off_t offset = lseek(fd, 0, SEEK_CUR) < 0 ? -1 : 0;

	*set_r = NULL;
	if (read_exact(fd, hdr, sizeof(hdr), &offset) < 0) {
		*error_r = i_strdup_printf("Settings snapshot: read failed: %s",
					   errno == EPIPE ? "truncated" :
					   strerror(errno));
		return -1;
	}
	if (memcmp(hdr, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_LEN) != 0) {
		*error_r = i_strdup("Settings snapshot: bad magic");
		return -1;
	}
	uint32_t len = ((uint32_t)hdr[8] << 24) | ((uint32_t)hdr[9] << 16) |
		((uint32_t)hdr[10] << 8) | hdr[11];
	if (len > SNAPSHOT_MAX_SIZE) {
		*error_r = i_strdup("Settings snapshot: too large");
		return -1;
	}
	unsigned char *buf = i_malloc(sizeof(hdr) + len);
	memcpy(buf, hdr, sizeof(hdr));
	if (read_exact(fd, buf + sizeof(hdr), len, &offset) < 0) {
		*error_r = i_strdup_printf("Settings snapshot: read failed: %s",
					   errno == EPIPE ? "truncated" :
					   strerror(errno));
		free(buf);
		return -1;
	}
	int ret = settings_snapshot_parse(buf, sizeof(hdr) + len, set_r, error_r);
	free(buf);
	return ret;
}
