/* Dovecot 2.3/2.4 settings that loft knows by name but does not
   implement yet. A real dovecot.conf (Debian's conf.d tree) uses many of
   them; they are accepted with a warning, while a name that is neither
   implemented nor listed here is a typo and stops startup. Exact names
   are listed for the core prefixes (mail_, auth_, ssl_, imap_ ...) so
   that typos there are still caught; plugin families go by prefix. */
#include "settings-private.h"

static const char *const global_names[] = {
	/* master, logging, process defaults */
	"config_cache_size", "default_idle_kill", "default_internal_group",
	"import_environment", "instance_name", "libexec_dir",
	"log_core_filter", "log_debug", "log_timestamp", "syslog_facility",
	"login_log_format", "login_log_format_elements", "login_access_sockets",
	"login_plugin_dir", "login_plugins", "login_source_ips",
	"login_proxy_max_disconnect_delay", "login_proxy_notify_path",
	"login_proxy_max_reconnects", "login_proxy_timeout",
	"login_proxy_rawlog_dir", "login_auth_socket_path",
	"login_socket_path", "version_ignore", "verbose_proctitle",
	"verbose_ssl", "valid_chroot_dirs", "haproxy_timeout",
	"haproxy_trusted_networks", "log_debug", "mail_log_prefix",
	"dotlock_use_excl", "lock_method", "mmap_disable", "rawlog_dir",
	"stats_writer_socket_path", "shutdown_clients",
	/* auth */
	"auth_anonymous_username", "auth_cache_negative_ttl", "auth_cache_size",
	"auth_cache_ttl", "auth_cache_verify_password_with_worker",
	"auth_internal_failure_delay", "auth_master_user_separator",
	"auth_proxy_self", "auth_socket_path", "auth_ssl_require_client_cert",
	"auth_ssl_username_from_cert", "auth_stats", "auth_use_winbind",
	"auth_username_chars", "auth_username_translation",
	"auth_verbose_passwords", "auth_debug_passwords",
	"auth_worker_max_count", "auth_worker_max_request_count",
	"auth_allow_weak_schemes", "auth_mechanisms_allow_weak",
	"auth_sasl_mechanisms", "auth_cache_lookup_failure_fields",
	"master_user_separator", "passdb_default_password_scheme",
	"passwd_file_path", "userdb_fields", "passdb_fields",
	/* mail */
	"mail_access_groups", "mail_always_cache_fields",
	"mail_attribute_dict", "mail_cache_fields", "mail_cache_min_mail_count",
	"mail_cache_max_size", "mail_cache_path", "mail_chroot",
	"mail_full_filesystem_access", "mail_max_lock_timeout",
	"mail_never_cache_fields", "mail_nfs_index", "mail_nfs_storage",
	"mail_plugin_dir", "mail_plugins", "mail_prefetch_count",
	"mail_save_crlf", "mail_server_admin", "mail_server_comment",
	"mail_shared_explicit_inbox", "mail_sort_max_read_count",
	"mail_temp_dir", "mail_temp_scan_interval", "mail_vsize_bg_after_count",
	"mail_driver", "mail_path", "mail_index_path", "mail_control_path",
	"mail_inbox_path", "mail_index_private_path", "mail_alt_path",
	"mail_alt_check", "mail_volatile_path", "mail_index_log_rotate_min_size",
	"mail_index_log_rotate_max_size", "mail_index_log_rotate_min_age",
	"mail_index_log2_max_age", "mail_index_rewrite_min_log_bytes",
	"mail_index_rewrite_max_log_bytes", "mail_cache_compress_delete_percentage",
	"mail_cache_purge_delete_percentage", "mail_cache_unaccessed_field_drop",
	"mail_cache_record_max_size", "mail_cache_max_headers_count",
	"mail_cache_max_header_name_length", "mail_location_legacy",
	"mailbox_list_index",
	"mailbox_list_index_include_inbox", "mailbox_list_index_very_dirty_syncs",
	"mailbox_list_layout", "mailbox_list_utf8", "mailbox_list_index_prefix",
	"mailbox_directory_name", "mailbox_root_directory_name",
	"mailbox_subscriptions_filename", "mailbox_list_iter_from_index_dir",
	"mailbox_list_drop_noselect", "mailbox_list_visible_escape_char",
	"mailbox_list_storage_escape_char", "mailbox_list_validate_fs_names",
	"maildir_broken_filename_sizes", "maildir_copy_with_hardlinks",
	"maildir_empty_new", "maildir_stat_dirs", "maildir_very_dirty_syncs",
	"pop3_client_workarounds", "pop3_delete_type", "pop3_deleted_flag",
	"pop3_enable_last", "pop3_fast_size_lookups", "pop3_lock_session",
	"pop3_no_flag_updates", "pop3_reuse_xuidl", "pop3_save_uidl",
	"pop3_uidl_duplicates",
	"imap_client_workarounds", "imap_fetch_failure", "imap_hibernate_timeout",
	"imap_id_log", "imap_id_retain", "imap_id_send", "imap_literal_minus",
	"imap_metadata", "imap_max_line_length", "imap_urlauth_host",
	"imap_urlauth_logout_format", "imap_urlauth_port",
	"imap_id_send", "imap_compress_deflate_level",
	"lmtp_address_translate", "lmtp_client_workarounds", "lmtp_proxy",
	"lmtp_proxy_rawlog_dir", "lmtp_rawlog_dir", "lmtp_rcpt_check_quota",
	"lmtp_user_concurrency_limit", "lmtp_verbose_replies",
	"lda_original_recipient_header", "lda_mailbox_autosubscribe",
	"deliver_log_format", "sendmail_path", "submission_host",
	"rejection_reason", "rejection_subject", "quota_full_tempfail",
	"hostname", "mail_attachment_detection_options",
	/* ssl */
	"ssl_alt_cert", "ssl_alt_key", "ssl_cert_username_field",
	"ssl_client_ca_dir", "ssl_client_ca_file", "ssl_client_cert",
	"ssl_client_key", "ssl_crypto_device", "ssl_dh", "ssl_options",
	"ssl_require_crl", "ssl_verify_client_cert", "ssl_server_dh_file",
	"ssl_server_request_client_cert", "ssl_server_cert_username_field",
	"ssl_server_alt_cert_file", "ssl_server_alt_key_file",
	"ssl_client_cert_file", "ssl_client_key_file",
	"ssl_client_require_valid_cert", "ssl_peer_certificate_fingerprint_hash",
	"ssl_server_ca_dir", "ssl_server_require_crl", "ssl_client_ca",
	/* misc 2.4 */
	"dict_db_config", "mail_attachment_dir", "mail_attachment_fs",
	"mail_attachment_hash", "mail_attachment_min_size",
	"mail_ext_attachment_path", "language_filters", "language_tokenizers",
	NULL
};

static const char *const global_prefixes[] = {
	"acl_", "auth_policy_", "auth_winbind_", "auth_krb5_", "auth_gssapi_",
	"director_", "doveadm_", "dsync_", "fts_", "sieve_", "quota_",
	"imapc_", "pop3c_", "pop3_migration_", "submission_", "replication_",
	"replicator_", "managesieve_", "mbox_", "mdbox_", "sdbox_",
	"mail_crypt_", "mail_lua_", "mail_log_", "mail_compress_",
	"mail_attachment_", "push_notification_", "last_login_",
	"imap_urlauth_", "imap_hibernate_", "lazy_expunge", "trash_",
	"virtual_", "zlib_", "language_", "textcat_", "ldap_", "sql_",
	"oauth2_", "lua_", "stats_", "metric_", "event_", "http_client_",
	"http_server_", "dict_", "fs_", "welcome_", "notify_", "quota",
	"mail_replica", "imap_zlib", "old_stats_", "lmtp_proxy_",
	"passwd_file_", "passdb_", "userdb_", "login_proxy_",
	"mailbox_list_", "mail_index_", "mail_cache_", "mail_fts_",
	"crypt_", "smtp_", "apparmor_", "fts", "pigeonhole_",
	/* 2.4 passdb/userdb driver settings */
	"pam_", "checkpassword_", "bsdauth_", "static_", "passwd_",
	NULL
};

static const char *const service_names[] = {
	"executable", "privileged_group", "extra_groups",
	"drop_priv_before_exec", "idle_kill", "idle_kill_interval",
	"protocol", "type", "process_shutdown_filter", "log_prefix",
	NULL
};
static const char *const listener_names[] = {
	"reuse_port", "type", "path", NULL
};
static const char *const auth_db_names[] = {
	"skip", "mechanisms", "username_filter", "auth_verbose",
	"result_failure", "result_internalfail", "use_cache", "use_worker",
	"fields_import_all", "static_password", "passwd_file_path",
	NULL
};
static const char *const namespace_names[] = {
	"ignore_on_failure", "disabled", "alias_for", "order",
	"mail_driver", "mail_path", "mail_index_path", "mail_control_path",
	NULL
};
static const char *const mailbox_names[] = {
	"autoexpunge", "autoexpunge_max_mails", "comment", "driver",
	"special_use_", "mailbox_special_use", "mailbox_auto",
	NULL
};

static const char *const ignored_blocks[] = {
	"dict", "metric", "event_exporter", "quota", "quota_clone",
	"sieve_script", "fts", "mail_attribute", "dict_server", "dict_map",
	"language", "doveadm", "ssl_client", "ssl_server", "auth_policy",
	"mail_plugins", "mail_lua", "oauth2", "ldap", "sql", "pgsql",
	"mysql", "sqlite", "cassandra", "imapc", "quota_rule",
	"quota_warning", "push_notification", "replication", "acl",
	"acl_sharing_map", "metric_group", "fs", "http_client",
	"shared", "mail_crypt", "submission_relay", "lazy_expunge",
	"trash", "auth_mechanisms", "login_plugins", "mailbox",
	"log_core_filter", "event_exporter_http", "fifo_listener",
	NULL
};

static bool name_in(const char *const *names, const char *name)
{
	for (unsigned int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

bool settings_known_ignored(const char *context, const char *name)
{
	if (strcmp(context, "global") == 0) {
		if (name_in(global_names, name))
			return true;
		for (unsigned int i = 0; global_prefixes[i] != NULL; i++) {
			if (str_begins(name, global_prefixes[i]))
				return true;
		}
		return false;
	}
	if (strcmp(context, "service") == 0)
		return name_in(service_names, name);
	if (strcmp(context, "inet_listener") == 0 ||
	    strcmp(context, "unix_listener") == 0)
		return name_in(listener_names, name);
	if (strcmp(context, "passdb") == 0 || strcmp(context, "userdb") == 0)
		return name_in(auth_db_names, name);
	if (strcmp(context, "namespace") == 0)
		return name_in(namespace_names, name);
	if (strcmp(context, "mailbox") == 0)
		return name_in(mailbox_names, name);
	return false;
}

bool settings_known_ignored_block(const char *name)
{
	return name_in(ignored_blocks, name);
}
