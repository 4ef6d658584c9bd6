#ifndef LOFT_SETTINGS_H
#define LOFT_SETTINGS_H
/* loft settings: the typed result of reading a Dovecot 2.3/2.4 style
   configuration file (dovecot.conf syntax, see
   https://doc.dovecot.org/configuration_manual/config_file/).

   The master reads the file once (settings_read), then hands every
   service a snapshot (settings_snapshot_write / settings_snapshot_read);
   services never parse the config text. All strings are owned by the
   struct and freed by settings_free(). Lists are NULL-terminated and
   never NULL themselves (an empty list is { NULL }). A string setting
   that is unset or set to "" is NULL. */
#include "lib.h"
#include <stdio.h>

enum ssl_mode { SSL_MODE_NO = 0, SSL_MODE_YES, SSL_MODE_REQUIRED };

struct inet_listener_settings {
	char *name;          /* "imap", "imaps", "pop3s", "lmtp", ...
	                        ("" for an unnamed inet_listener { }) */
	char *address;       /* NULL = the global "listen" addresses */
	unsigned int port;   /* 0 = disabled */
	bool ssl;            /* implicit TLS */
	bool haproxy;
};

struct unix_listener_settings {
	char *path;          /* relative paths are under base_dir */
	unsigned int mode;   /* e.g. 0600 */
	char *user;
	char *group;
};

struct service_settings {
	char *name;          /* "imap-login", "imap", "lmtp", "auth", ... */
	struct inet_listener_settings *inet_listeners;
	unsigned int inet_listeners_count;
	struct unix_listener_settings *unix_listeners;
	unsigned int unix_listeners_count;
	unsigned int process_limit;
	unsigned int process_min_avail;
	unsigned int client_limit;
	unsigned int service_count;  /* 2.4: restart_request_count */
	uint64_t vsz_limit;          /* bytes, 0 = unlimited */
	char *user;
	char *group;
	char *chroot;
};

/* passdb { } / userdb { } blocks, in file order. */
struct auth_db_settings {
	char *name;
	char *driver;        /* "passwd-file", "static", ... */
	char *args;          /* 2.3 "args = ..."; 2.4 passwd_file_path is
	                        stored here too */
	char *default_fields;
	char *override_fields;
	char *default_password_scheme; /* 2.4 passdb_default_password_scheme,
	                                  or NULL (then args' scheme=) */
	bool deny;
	bool master;
	bool pass;           /* passdb: result_success = continue ... */
};

/* mailbox NAME { } inside a namespace block. */
struct mailbox_settings {
	char *name;          /* "Drafts", "Sent", ... */
	char *special_use;   /* "\Drafts", space separated; NULL = none */
	char *autocreate;    /* Dovecot "auto": "no", "create", "subscribe" */
};

struct namespace_settings {
	char *name;
	char *type;          /* "private" */
	char *separator;     /* NULL = layout default ('.' for Maildir++) */
	char *prefix;
	bool inbox;
	bool hidden;
	bool list;           /* "children" is read as yes */
	bool subscriptions;
	char *location;      /* per-namespace mail_location, NULL = global */
	struct mailbox_settings *mailboxes;
	unsigned int mailboxes_count;
};

/* protocol NAME { }, local IP { }, remote IP { } and local_name NAME { }
   blocks. Their settings are kept as "key=value" lines (a value kept as
   a file path starts with '<') and applied by settings_apply_protocol().
   Settings only one protocol reads (imap_*, pop3_*, lmtp_*, lda_*,
   postmaster_address inside protocol lda/lmtp) are also applied to the
   global settings while parsing. */
struct settings_filter {
	char *protocol;      /* "imap", "!indexer-worker", NULL = any */
	char *local;         /* local IP/network, NULL = any */
	char *remote;        /* remote IP/network, NULL = any */
	char *local_name;    /* TLS SNI name, NULL = any */
	char **settings;     /* "key=value", in file order */
};

struct loft_settings {
	char *config_path;   /* the top-level file read */

	/* master */
	char *base_dir;
	char *state_dir;
	char **protocols;    /* "imap", "pop3", "lmtp" */
	char **listen;       /* "*", "::", "127.0.0.1" ... */
	char *log_path;      /* "syslog", "/dev/stderr" or a file */
	char *info_log_path;
	char *debug_log_path;
	char *hostname;
	char *default_login_user;    /* "dovenull" */
	char *default_internal_user; /* "dovecot" */
	bool shutdown_clients;

	/* TLS */
	enum ssl_mode ssl;
	char *ssl_cert_path;         /* ssl_cert = </path, ssl_server_cert_file */
	char *ssl_key_path;
	char *ssl_key_password;
	char *ssl_ca_path;
	char *ssl_min_protocol;      /* "TLSv1.2" */
	char *ssl_cipher_list;
	char *ssl_cipher_suites;     /* TLS 1.3 */
	char *ssl_curve_list;
	bool ssl_prefer_server_ciphers;

	/* auth */
	bool disable_plaintext_auth; /* 2.4: !auth_allow_cleartext */
	char **auth_mechanisms;      /* "plain", "login" */
	char *auth_username_format;  /* "%Lu" */
	char *auth_realms;
	char *auth_default_realm;
	unsigned int auth_failure_delay; /* seconds, default 2 */
	bool auth_verbose;
	bool auth_debug;
	char **login_trusted_networks;
	char *login_greeting;        /* "Dovecot ready." -> "loft ready." */
	struct auth_db_settings *passdbs;
	unsigned int passdbs_count;
	struct auth_db_settings *userdbs;
	unsigned int userdbs_count;

	/* mail */
	char *mail_location;         /* 2.3 "maildir:~/Maildir"; built from
	                                mail_driver + mail_path for 2.4 */
	char *mail_home;
	char *mail_uid;
	char *mail_gid;
	char *mail_privileged_group;
	unsigned int first_valid_uid;
	unsigned int last_valid_uid; /* 0 = no limit */
	unsigned int first_valid_gid;
	unsigned int last_valid_gid;
	char *mail_fsync;            /* "optimized", "always", "never" */
	bool mail_debug;
	unsigned int mail_max_userip_connections;
	struct namespace_settings *namespaces;
	unsigned int namespaces_count;

	/* IMAP */
	uint64_t imap_max_line_length;   /* bytes, default 64k */
	char *imap_capability;
	unsigned int imap_idle_notify_interval; /* seconds */
	/* IDLE: how often to look at the mailbox when inotify is there
	   (it wakes IDLE at once on a change in cur/ or new/) */
	unsigned int mailbox_idle_check_interval; /* seconds */
	char *imap_logout_format;
	char *mail_max_keyword_length;

	/* POP3 */
	char *pop3_uidl_format;      /* "%08Xu%08Xv" */
	char *pop3_logout_format;

	/* LMTP / LDA */
	char *recipient_delimiter;   /* "+" */
	char *postmaster_address;
	bool lmtp_save_to_detail_mailbox;
	bool lda_mailbox_autocreate;
	char *lmtp_hdr_delivery_address; /* "final", "original", "none" */
	bool lmtp_add_received_header;

	/* limits for protocol parsers */
	uint64_t mail_max_message_size; /* bytes, 0 = unlimited (APPEND/LMTP) */

	struct service_settings *services;
	unsigned int services_count;

	/* 2.4 version markers (NULL in 2.3 configs) */
	char *dovecot_config_version;
	char *dovecot_storage_version;
	/* service defaults, already applied to each service's 0 values */
	unsigned int default_process_limit;  /* 100 */
	unsigned int default_client_limit;   /* 1000 */
	uint64_t default_vsz_limit;          /* 256M */

	struct settings_filter *filters;
	unsigned int filters_count;
	/* plugin { } block: "key=value" lines */
	char **plugin_settings;
	/* "file:line: setting X is not supported yet, ignored" and other
	   non-fatal notes from settings_read(), for the caller to log. */
	char **warnings;
};

/* Read a Dovecot-syntax config file (with !include, !include_try,
   globs, "key = <file" values, nested blocks, $variables). Unknown
   settings and invalid values fail with "file:line: message" in
   *error_r (caller frees). Known Dovecot settings loft does not
   implement are accepted and listed in (*set_r)->warnings. Relative
   include and "<file" paths are relative to the including file; paths
   kept in the settings are made absolute. Limits: 64 KiB per line
   (after "\" continuation and $expansion), 16 MiB per file, 64 MiB in
   all, !include depth 16, block depth 16. Returns 0 on success, -1 on
   error. */
int settings_read(const char *path, struct loft_settings **set_r,
		  char **error_r);
/* Same as settings_read(), but from a string (tests, fuzzing); name is
   used as the file name in messages and relative includes. */
int settings_read_string(const char *name, const char *data, size_t size,
			 struct loft_settings **set_r, char **error_r);
/* Log set->warnings with i_warning(). */
void settings_log_warnings(const struct loft_settings *set);
/* Apply the settings of every "protocol NAME { }" block matching
   protocol (and not limited to a local/remote address or local_name) to
   set. Returns 0, or -1 with *error_r (caller frees). */
int settings_apply_protocol(struct loft_settings *set, const char *protocol,
			    char **error_r);
/* Defaults only (used by tests and when no file is given): Dovecot 2.3
   defaults with loft's base_dir and greeting, the default services and
   an inbox namespace. */
struct loft_settings *settings_defaults(void);
void settings_free(struct loft_settings **set);

/* Print settings in dovecot.conf syntax: all (doveconf -a) or only
   those differing from the default (doveconf -n). */
void settings_print(const struct loft_settings *set, bool non_default_only,
		    FILE *out);

/* Serialize the whole settings to fd (master -> services) and read it
   back; every field round-trips. The format is a "LOFTSET1" magic, a 32-bit payload length and a
   table-driven binary payload; the reader reads exactly that many bytes
   (at most 64 MiB), checks every length and rejects trailing bytes. If
   fd is seekable the snapshot is read from offset 0. Returns 0 / -1
   with *error_r (caller frees). */
int settings_snapshot_write(const struct loft_settings *set, int fd);
int settings_snapshot_read(int fd, struct loft_settings **set_r,
			   char **error_r);
/* The same, to and from memory (serialize appends to dest). */
void settings_snapshot_serialize(const struct loft_settings *set,
				 string_t *dest);
int settings_snapshot_parse(const void *data, size_t size,
			    struct loft_settings **set_r, char **error_r);

/* Look up a service block by name (NULL if none). */
const struct service_settings *
settings_service_find(const struct loft_settings *set, const char *name);
/* True if protocol is in "protocols". */
bool settings_has_protocol(const struct loft_settings *set, const char *proto);

#endif
