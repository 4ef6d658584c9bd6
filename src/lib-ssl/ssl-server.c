#include "ssl-server.h"
#include <openssl/err.h>

static int ssl_password_cb(char *buf, int size, int rwflag, void *userdata)
{
	const char *pw = userdata;
	if (pw == NULL)
		return 0;
	int len = (int)strlen(pw);
	if (len > size)
		len = size;
	memcpy(buf, pw, (size_t)len);
	return len;
}

static char *ssl_last_error(const char *what, const char *path)
{
	unsigned long err = ERR_get_error();
	char buf[256];
	ERR_error_string_n(err, buf, sizeof(buf));
	ERR_clear_error();
	return i_strdup_printf("%s %s: %s", what, path, buf);
}

static int ssl_protocol_version(const char *name)
{
	if (name == NULL || name[0] == '\0' || strcasecmp(name, "TLSv1.2") == 0)
		return TLS1_2_VERSION;
	if (strcasecmp(name, "TLSv1.3") == 0)
		return TLS1_3_VERSION;
	if (strcasecmp(name, "TLSv1.1") == 0)
		return TLS1_1_VERSION;
	if (strcasecmp(name, "TLSv1") == 0)
		return TLS1_VERSION;
	if (strcasecmp(name, "ANY") == 0)
		return 0;
	return -1;
}

SSL_CTX *ssl_server_ctx_create(const struct loft_settings *set, char **error_r)
{
	if (set->ssl_cert_path == NULL || set->ssl_key_path == NULL) {
		*error_r = i_strdup("ssl enabled, but ssl_cert or ssl_key not set");
		return NULL;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = ssl_last_error("SSL_CTX_new", "");
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
			    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	int min = ssl_protocol_version(set->ssl_min_protocol);
	if (min < 0) {
		*error_r = i_strdup_printf("Invalid ssl_min_protocol: %s",
					   set->ssl_min_protocol);
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, min);
	if (set->ssl_prefer_server_ciphers)
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (set->ssl_cipher_list != NULL && set->ssl_cipher_list[0] != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, set->ssl_cipher_list) != 1) {
		*error_r = ssl_last_error("Invalid ssl_cipher_list", set->ssl_cipher_list);
		goto fail;
	}
	if (set->ssl_cipher_suites != NULL && set->ssl_cipher_suites[0] != '\0' &&
	    SSL_CTX_set_ciphersuites(ctx, set->ssl_cipher_suites) != 1) {
		*error_r = ssl_last_error("Invalid ssl_cipher_suites", set->ssl_cipher_suites);
		goto fail;
	}
	if (set->ssl_curve_list != NULL && set->ssl_curve_list[0] != '\0' &&
	    SSL_CTX_set1_groups_list(ctx, set->ssl_curve_list) != 1) {
		*error_r = ssl_last_error("Invalid ssl_curve_list", set->ssl_curve_list);
		goto fail;
	}
	SSL_CTX_set_default_passwd_cb(ctx, ssl_password_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, set->ssl_key_password);
	if (SSL_CTX_use_certificate_chain_file(ctx, set->ssl_cert_path) != 1) {
		*error_r = ssl_last_error("Can't load ssl_cert", set->ssl_cert_path);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, set->ssl_key_path, SSL_FILETYPE_PEM) != 1) {
		*error_r = ssl_last_error("Can't load ssl_key", set->ssl_key_path);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = ssl_last_error("ssl_key does not match ssl_cert", set->ssl_key_path);
		goto fail;
	}
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

char *ssl_connection_describe(SSL *ssl)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	int alg_bits = 0;
	int bits = SSL_CIPHER_get_bits(cipher, &alg_bits);
	return i_strdup_printf("%s with cipher %s (%d/%d bits)",
			       SSL_get_version(ssl), SSL_CIPHER_get_name(cipher),
			       bits, alg_bits);
}
