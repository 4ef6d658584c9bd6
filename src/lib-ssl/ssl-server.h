#ifndef LOFT_SSL_SERVER_H
#define LOFT_SSL_SERVER_H
/* OpenSSL 3 server contexts from loft settings: ssl_cert / ssl_key
   (PEM files; ssl_server_cert_file / ssl_server_key_file in 2.4),
   ssl_key_password, ssl_min_protocol (default TLSv1.2), ssl_cipher_list,
   ssl_cipher_suites (TLS 1.3), ssl_curve_list, ssl_prefer_server_ciphers. */
#include "lib.h"
#include "settings.h"
#include <openssl/ssl.h>

/* Create a server SSL_CTX. Returns NULL with *error_r (caller frees) when
   a file can't be read or a setting is invalid. */
SSL_CTX *ssl_server_ctx_create(const struct loft_settings *set,
			       char **error_r);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" style
   description of an established connection, for logs. Caller frees. */
char *ssl_connection_describe(SSL *ssl);

#endif
