/* Dovecot auth client protocol (SASL for Postfix/Exim). */
#include "auth-sasl-server.h"
#include "auth-connection-private.h"
#include "auth-protocol.h"
#include "auth-request.h"
#include "sasl.h"
#include "log.h"

#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include <sodium.h>

#define SASL_MAX_FIELDS 32

struct auth_sasl_request {
	struct auth_sasl_request *next;
	uint32_t id;
	struct sasl_mech *mech;
	char *service, *rip, *lip, *session;
	bool secured;
};

void auth_sasl_tabescape(string_t *dest, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		switch (*p) {
		case '\001': str_append(dest, "\0011"); break;
		case '\t': str_append(dest, "\001t"); break;
		case '\n': str_append(dest, "\001n"); break;
		case '\r': str_append(dest, "\001r"); break;
		default: str_append_c(dest, *p); break;
		}
	}
}

int auth_sasl_tabunescape(const char *src, size_t len, string_t *dest)
{
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '\0' || src[i] == '\n')
			return -1;
		if (src[i] != '\001') {
			str_append_c(dest, src[i]);
			continue;
		}
		if (++i == len)
			return -1;
		switch (src[i]) {
		case '1': str_append_c(dest, '\001'); break;
		case 't': str_append_c(dest, '\t'); break;
		case 'n': str_append_c(dest, '\n'); break;
		case 'r': str_append_c(dest, '\r'); break;
		default: return -1;
		}
	}
	return 0;
}

static void request_free(struct auth_sasl_request *req)
{
	sasl_mech_destroy(&req->mech);
	free(req->service);
	free(req->rip);
	free(req->lip);
	free(req->session);
	free(req);
}

static void request_unlink(struct auth_connection *conn,
			   struct auth_sasl_request *req)
{
	struct auth_sasl_request **p = &conn->sasl_requests;
	while (*p != NULL && *p != req)
		p = &(*p)->next;
	if (*p == req) {
		*p = req->next;
		conn->sasl_requests_count--;
	}
}

static struct auth_sasl_request *
request_find(struct auth_connection *conn, uint32_t id)
{
	for (struct auth_sasl_request *r = conn->sasl_requests; r != NULL; r = r->next) {
		if (r->id == id)
			return r;
	}
	return NULL;
}

void auth_sasl_server_deinit(struct auth_connection *conn)
{
	while (conn->sasl_requests != NULL) {
		struct auth_sasl_request *req = conn->sasl_requests;
		conn->sasl_requests = req->next;
		request_free(req);
	}
	conn->sasl_requests_count = 0;
}

static bool mech_enabled(struct auth_connection *conn, const char *mech)
{
	char **mechs = auth_settings(conn->auth)->auth_mechanisms;
	for (unsigned int i = 0; mechs != NULL && mechs[i] != NULL; i++) {
		if (strcasecmp(mechs[i], mech) == 0)
			return true;
	}
	return false;
}

void auth_sasl_server_handshake(struct auth_connection *conn)
{
	static const char *const mechs[] = { "PLAIN", "LOGIN" };
	static unsigned int cuid_counter;
	unsigned char cookie[16];
	string_t *str = str_new(256);

	str_append(str, "VERSION\t1\t2\n");
	for (size_t i = 0; i < N_ELEMENTS(mechs); i++) {
		if (mech_enabled(conn, mechs[i]))
			str_printfa(str, "MECH\t%s\tplaintext\n", mechs[i]);
	}
	str_printfa(str, "SPID\t%ld\nCUID\t%u\nCOOKIE\t", (long)getpid(),
		    ++cuid_counter);
	randombytes_buf(cookie, sizeof(cookie));
	for (size_t i = 0; i < sizeof(cookie); i++)
		str_printfa(str, "%02x", cookie[i]);
	str_append(str, "\nDONE\n");
	auth_connection_write(conn, str_c(str));
	str_free(&str);
}

static char *fail_line(uint32_t id, const struct auth_request_reply *reply)
{
	string_t *str = str_new(128);
	str_printfa(str, "FAIL\t%u", id);
	if (reply != NULL && reply->user != NULL) {
		str_append(str, "\tuser=");
		auth_sasl_tabescape(str, reply->user);
	}
	if (reply != NULL && reply->reason != NULL &&
	    strcmp(reply->reason, "Authentication failed.") != 0) {
		str_append(str, "\treason=");
		auth_sasl_tabescape(str, reply->reason);
	}
	if (reply != NULL && reply->status == AUTH_REQUEST_TEMPFAIL)
		str_append(str, "\ttemp");
	str_append_c(str, '\n');
	return str_free_without_data(&str);
}

static void send_fail_reason(struct auth_connection *conn, uint32_t id,
			     const char *reason, bool temp)
{
	string_t *str = str_new(128);
	str_printfa(str, "FAIL\t%u\treason=", id);
	auth_sasl_tabescape(str, reason);
	if (temp)
		str_append(str, "\ttemp");
	str_append_c(str, '\n');
	auth_connection_reply(conn, str_free_without_data(&str), !temp);
}

static bool is_local(const char *rip, const char *lip)
{
	if (rip == NULL)
		return false;
	return str_begins(rip, "127.") || strcmp(rip, "::1") == 0 ||
		(lip != NULL && strcmp(rip, lip) == 0);
}

static void sasl_pass_callback(struct auth_connection *conn, uint32_t id,
			       const struct auth_request_reply *reply)
{
	if (reply->status == AUTH_REQUEST_OK) {
		string_t *str = str_new(128);
		str_printfa(str, "OK\t%u\tuser=", id);
		auth_sasl_tabescape(str, reply->user);
		str_append_c(str, '\n');
		auth_connection_reply(conn, str_free_without_data(&str), false);
	} else {
		auth_connection_reply(conn, fail_line(id, reply),
				      reply->status == AUTH_REQUEST_FAIL);
	}
}

static void request_verify(struct auth_connection *conn,
			   struct auth_sasl_request *req,
			   const char *user, const char *pass)
{
	struct auth_request_info info = {
		.service = req->service, .user = user, .password = pass,
		.rip = req->rip, .lip = req->lip, .session = req->session,
		.mech = sasl_mech_name(req->mech),
		.secured = req->secured || is_local(req->rip, req->lip),
	};
	auth_connection_pass(conn, req->id, &info, sasl_pass_callback);
}

/* Feed one (base64) response; data == NULL: no initial response. The
   request is finished and freed unless a challenge was sent. */
static void request_step(struct auth_connection *conn,
			 struct auth_sasl_request *req, const char *b64)
{
	const char *challenge, *user, *pass, *error;
	string_t *data = NULL;
	bool done;
	int ret;

	if (b64 != NULL) {
		data = str_new(128);
		if (base64_decode(b64, strlen(b64), data) < 0) {
			request_unlink(conn, req);
			send_fail_reason(conn, req->id, "Invalid base64 data", false);
			request_free(req);
			str_free(&data);
			return;
		}
	}
	ret = sasl_mech_input(req->mech, data == NULL ? NULL : str_data(data),
			      data == NULL ? 0 : str_len(data), &challenge,
			      &done, &user, &pass, &error);
	if (data != NULL) {
		safe_memset(data->data, 0, data->alloc);
		str_free(&data);
	}
	if (ret < 0) {
		request_unlink(conn, req);
		send_fail_reason(conn, req->id, error, false);
		request_free(req);
	} else if (!done) {
		string_t *str = str_new(64);
		str_printfa(str, "CONT\t%u\t", req->id);
		base64_encode(challenge, strlen(challenge), str);
		str_append_c(str, '\n');
		auth_connection_write(conn, str_c(str));
		str_free(&str);
	} else {
		request_unlink(conn, req);
		request_verify(conn, req, user, pass);
		request_free(req);
	}
}

static const char *field_find(char *const *args, const char *key)
{
	return auth_protocol_args_find(args, 3, key);
}

static void handle_auth(struct auth_connection *conn, uint32_t id,
			char **args)
{
	const char *mech = args[2];
	const char *service = field_find(args, "service");
	const char *secured = field_find(args, "secured");

	if (request_find(conn, id) != NULL) {
		i_error("auth SASL client: AUTH with an id already in use, "
			"disconnecting");
		auth_connection_close(conn);
		return;
	}
	if (conn->sasl_requests_count + conn->lookups_count >=
	    AUTH_SASL_MAX_REQUESTS) {
		send_fail_reason(conn, id, "Too many pending requests", true);
		return;
	}
	if (mech == NULL || !mech_enabled(conn, mech)) {
		send_fail_reason(conn, id, "Unsupported authentication mechanism",
				 false);
		return;
	}
	struct sasl_mech *m = sasl_mech_create(mech);
	if (m == NULL) {
		send_fail_reason(conn, id, "Unsupported authentication mechanism",
				 false);
		return;
	}
	if (service == NULL || service[0] == '\0') {
		sasl_mech_destroy(&m);
		send_fail_reason(conn, id, "Missing service", false);
		return;
	}
	struct auth_sasl_request *req = i_new(struct auth_sasl_request, 1);
	req->id = id;
	req->mech = m;
	req->service = i_strdup(service);
	req->rip = i_strdup(field_find(args, "rip"));
	req->lip = i_strdup(field_find(args, "lip"));
	req->session = i_strdup(field_find(args, "session"));
	req->secured = secured != NULL && strcmp(secured, "0") != 0;
	req->next = conn->sasl_requests;
	conn->sasl_requests = req;
	conn->sasl_requests_count++;
	request_step(conn, req, field_find(args, "resp"));
}

static void handle_cont(struct auth_connection *conn, uint32_t id,
			char **args)
{
	struct auth_sasl_request *req = request_find(conn, id);
	if (req == NULL) {
		/* the client may not know yet that we failed it */
		i_debug("auth SASL client: CONT for unknown id %u", id);
		return;
	}
	request_step(conn, req, args[2] == NULL ? "" : args[2]);
}

/* Split and unescape; NULL on a bad line. */
static char **sasl_split(const char *line, size_t len)
{
	char **args = i_new(char *, SASL_MAX_FIELDS + 1);
	unsigned int count = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		string_t *field = str_new(i - start + 1);
		if (count == SASL_MAX_FIELDS ||
		    auth_sasl_tabunescape(line + start, i - start, field) < 0) {
			str_free(&field);
			auth_protocol_args_free(&args);
			return NULL;
		}
		args[count++] = str_free_without_data(&field);
		start = i + 1;
	}
	return args;
}

void auth_sasl_server_input(struct auth_connection *conn, const char *line,
			    size_t len)
{
	char **args = sasl_split(line, len);
	uint32_t id;

	if (args == NULL) {
		i_error("auth SASL client: Invalid input line, disconnecting");
		auth_connection_close(conn);
		return;
	}
	const char *cmd = args[0];
	if (!conn->sasl_handshake_done) {
		if (strcmp(cmd, "VERSION") != 0 || args[1] == NULL ||
		    strcmp(args[1], "1") != 0) {
			i_error("auth SASL client: Not a compatible Dovecot auth "
				"client (VERSION 1 expected), disconnecting");
			auth_connection_close(conn);
		} else {
			conn->sasl_handshake_done = true;
		}
	} else if (strcmp(cmd, "CPID") == 0) {
		/* client pid: nothing to do */
	} else if (args[1] == NULL || auth_protocol_parse_id(args[1], &id) < 0) {
		i_error("auth SASL client: Invalid request id, disconnecting");
		auth_connection_close(conn);
	} else if (strcmp(cmd, "AUTH") == 0) {
		handle_auth(conn, id, args);
	} else if (strcmp(cmd, "CONT") == 0) {
		handle_cont(conn, id, args);
	} else if (strcmp(cmd, "CANCEL") == 0) {
		struct auth_sasl_request *req = request_find(conn, id);
		if (req != NULL) {
			request_unlink(conn, req);
			request_free(req);
		}
	} else {
		i_error("auth SASL client: Unknown command, disconnecting");
		auth_connection_close(conn);
	}
	auth_protocol_args_free(&args);
}
