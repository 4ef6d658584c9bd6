/* loft-loadgen: a load generator for `make bench`.

   Plays N concurrent clients against an IMAP, POP3 or LMTP server over
   plaintext or TLS (libevent + OpenSSL), checks every reply, and prints
   ops/s, p50/p99 latency and the server's CPU seconds per op, read from
   /proc for the server's whole process tree.

   Modes:
     imap  each client loops: LOGIN, SELECT INBOX, OPS random commands
           from the mix, LOGOUT.
     tls   each client loops: TLS connect (full handshake, no resumption),
           greeting, LOGIN, LOGOUT. One op = the whole sequence.
     lmtp  clients deliver the first -n corpus messages once, one
           recipient each (stopping early after -t seconds if given);
           one op = one delivered message.
     pop3  each client loops: USER, PASS, STAT, RETR 1..n, QUIT;
           one op = one RETR, bytes are counted for MB/s.
     idle  -c clients connect (at most -R at a time in login), LOGIN,
           SELECT INBOX and stay idle; once all are up (or -t seconds
           passed) and -S seconds more, the server tree's memory (sum of
           Pss and Rss from /proc/PID/smaps_rollup) is read, then every
           client sends NOOP; a connection that does not answer OK was
           dropped. Memory per connection = (after - before) / up.
     hs    TLS full handshake, then close (works against any TLS server,
           e.g. openssl s_server). One op = one handshake.

   Output: a human summary on stderr, one JSON object on stdout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <signal.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_LINE (1024 * 1024)
#define MAX_PRINTED_ERRORS 10

enum mode { MODE_IMAP, MODE_TLS, MODE_LMTP, MODE_POP3, MODE_IDLE, MODE_HS };

enum imap_op {
	OP_LOGIN, OP_SELECT, OP_FETCH_FLAGS, OP_FETCH_ENV, OP_FETCH_BS,
	OP_FETCH_BODY, OP_STORE, OP_APPEND, OP_SEARCH, OP_EXPUNGE_STORE,
	OP_EXPUNGE, OP_IDLE, OP_LOGOUT, OP_COUNT
};
static const char *const op_names[OP_COUNT] = {
	"login", "select", "fetchflags", "envelope", "bodystructure",
	"body", "store", "append", "search", "expunge_store", "expunge",
	"idle", "logout"
};
/* weights of the random part of a session; -x name=w,... */
static unsigned int mix[OP_COUNT] = {
	[OP_FETCH_FLAGS] = 1, [OP_FETCH_ENV] = 3, [OP_FETCH_BS] = 2,
	[OP_FETCH_BODY] = 3, [OP_STORE] = 3, [OP_APPEND] = 2,
	[OP_SEARCH] = 1, [OP_EXPUNGE] = 2, [OP_IDLE] = 1,
};

struct msg {
	char *data;		/* CRLF line endings */
	size_t size;
	char *stuffed;		/* CRLF + dot-stuffed + ".\r\n", for LMTP */
	size_t stuffed_size;
};

struct latencies {
	uint32_t *us;
	size_t count, alloc;
};

struct client;
typedef void line_handler_t(struct client *c, const char *line, size_t len);

struct client {
	unsigned int id;
	struct bufferevent *bev;
	line_handler_t *handler;
	size_t literal_left;	/* bytes of an IMAP literal still to skip */
	bool after_literal;	/* this line continues one that had a literal */
	int state;
	unsigned int tag;
	enum imap_op op;
	struct timespec op_start;
	unsigned int ops_left;
	unsigned int exists;
	unsigned int fetch_lines;
	unsigned int *own_uids;
	unsigned int own_count, own_alloc;
	unsigned int expunge_uid;
	unsigned int pending_append;
	size_t retr_bytes;
	bool in_retr;
	unsigned int pop_msgs, pop_next;
	unsigned int lmtp_msg;
	unsigned int sessions;
	char user[64];
	bool done;
};

static struct {
	enum mode mode;
	const char *host;
	int port;
	bool tls;
	unsigned int clients;
	double secs;
	const char *user_fmt;
	unsigned int nusers;
	const char *password;
	const char *corpus;
	unsigned int max_msgs;
	unsigned int ops_per_session;
	int server_pid;
	const char *label;
	unsigned int seed;
	bool once;		/* one session per client, then exit */
	unsigned int ramp;	/* idle: clients in login at once */
	double settle;		/* idle: seconds between all up and measuring */
} opt = {
	.mode = MODE_IMAP, .host = "127.0.0.1", .port = 143, .clients = 20,
	.secs = 10, .user_fmt = "user", .nusers = 20, .password = "benchpass",
	.corpus = NULL, .max_msgs = 0, .ops_per_session = 30,
	.server_pid = 0, .label = "", .seed = 1, .once = false, .ramp = 100,
	.settle = 2,
};

static struct event_base *base;
static SSL_CTX *ssl_ctx;
static struct sockaddr_in server_addr;
static struct client *clients;
static struct msg *msgs;
static unsigned int msg_count;
static unsigned int lmtp_next_msg;
static unsigned int clients_done;
static bool stopping;

static struct latencies lat_all;
static struct latencies lat_op[OP_COUNT];
static uint64_t op_count[OP_COUNT];
static uint64_t ops_total, errors_total, bytes_total;
static unsigned int errors_printed;

static void client_start(struct client *c);
static void client_restart(struct client *c);

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static void lat_add(struct latencies *l, uint32_t us)
{
	if (l->count == l->alloc) {
		l->alloc = l->alloc == 0 ? 4096 : l->alloc * 2;
		l->us = realloc(l->us, l->alloc * sizeof(*l->us));
		if (l->us == NULL)
			abort();
	}
	l->us[l->count++] = us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double lat_pct(struct latencies *l, double p)
{
	if (l->count == 0)
		return 0;
	size_t i = (size_t)(p * (l->count - 1) + 0.5);
	return l->us[i] / 1000.0;
}

static void bench_error(struct client *c, const char *fmt, ...)
{
	errors_total++;
	if (errors_printed++ >= MAX_PRINTED_ERRORS)
		return;
	va_list args;
	va_start(args, fmt);
	fprintf(stderr, "loadgen: error: client %u (%s): ", c->id, c->user);
	vfprintf(stderr, fmt, args);
	fputc('\n', stderr);
	va_end(args);
}

static void op_begin(struct client *c, enum imap_op op)
{
	c->op = op;
	clock_gettime(CLOCK_MONOTONIC, &c->op_start);
}

static void op_end(struct client *c)
{
	struct timespec now;

	if (stopping)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint32_t us = (uint32_t)(ts_diff(&c->op_start, &now) * 1e6);
	lat_add(&lat_all, us);
	lat_add(&lat_op[c->op], us);
	op_count[c->op]++;
	ops_total++;
}

static void sendf(struct client *c, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, args);
	va_end(args);
}

/* ---- server CPU from /proc ---- */

struct proc_ent { int pid, ppid; unsigned long long ticks; };

/* every process in /proc: pid, ppid and utime+stime+cutime+cstime */
static struct proc_ent *proc_scan(size_t *count_r)
{
	struct proc_ent *p = NULL;
	size_t n = 0, alloc = 0;
	DIR *dir = opendir("/proc");
	struct dirent *d;

	*count_r = 0;
	if (dir == NULL)
		return NULL;
	while ((d = readdir(dir)) != NULL) {
		char path[300], buf[1024];
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *s = strrchr(buf, ')');
		if (s == NULL)
			continue;
		/* fields after ")": 3 state, 4 ppid, ... 14 utime .. 17 cstime */
		unsigned long long v[18] = { 0 };
		char *tok, *save = NULL;
		int field = 3;
		for (tok = strtok_r(s + 1, " ", &save); tok != NULL && field <= 17;
		     tok = strtok_r(NULL, " ", &save), field++) {
			if (field >= 4)
				v[field] = strtoull(tok, NULL, 10);
		}
		if (n == alloc) {
			alloc = alloc == 0 ? 256 : alloc * 2;
			p = realloc(p, alloc * sizeof(*p));
			if (p == NULL)
				abort();
		}
		p[n].pid = atoi(d->d_name);
		p[n].ppid = (int)v[4];
		p[n].ticks = v[14] + v[15] + v[16] + v[17];
		n++;
	}
	closedir(dir);
	*count_r = n;
	return p;
}

/* indexes into p[] of root and all its descendants (breadth-first) */
static size_t proc_tree(const struct proc_ent *p, size_t n, int root,
			size_t **idx_r)
{
	int *queue = malloc((n + 1) * sizeof(int));
	size_t *idx = malloc((n + 1) * sizeof(size_t));
	size_t qh = 0, qt = 0, found = 0;

	if (queue == NULL || idx == NULL)
		abort();
	queue[qt++] = root;
	while (qh < qt) {
		int pid = queue[qh++];
		for (size_t i = 0; i < n; i++) {
			if (p[i].pid == pid)
				idx[found++] = i;
			else if (p[i].ppid == pid && qt < n + 1)
				queue[qt++] = p[i].pid;
		}
	}
	free(queue);
	*idx_r = idx;
	return found;
}

/* utime+stime of pid and all its descendants plus the cutime+cstime of
   each (which holds every reaped descendant), in seconds. */
static double server_cpu(int root)
{
	size_t n, *idx, found;
	unsigned long long total = 0;

	if (root <= 0)
		return 0;
	struct proc_ent *p = proc_scan(&n);
	found = proc_tree(p, n, root, &idx);
	for (size_t i = 0; i < found; i++)
		total += p[idx[i]].ticks;
	free(idx);
	free(p);
	return (double)total / sysconf(_SC_CLK_TCK);
}

struct mem_sum { unsigned long long pss_kb, rss_kb; unsigned int procs; };

/* Pss and Rss (kB) summed over root's process tree, from smaps_rollup */
static struct mem_sum server_mem(int root)
{
	struct mem_sum m = { 0, 0, 0 };
	size_t n, *idx, found;

	if (root <= 0)
		return m;
	struct proc_ent *p = proc_scan(&n);
	found = proc_tree(p, n, root, &idx);
	for (size_t i = 0; i < found; i++) {
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup",
			 p[idx[i]].pid);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		unsigned long long v;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "Rss: %llu kB", &v) == 1)
				m.rss_kb += v;
			else if (sscanf(line, "Pss: %llu kB", &v) == 1)
				m.pss_kb += v;
		}
		fclose(f);
		m.procs++;
	}
	free(idx);
	free(p);
	return m;
}

/* ---- corpus ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void corpus_load(const char *dirpath, unsigned int max)
{
	DIR *dir = opendir(dirpath);
	struct dirent *d;
	char **names = NULL;
	size_t n = 0, alloc = 0;

	if (dir == NULL) {
		fprintf(stderr, "loadgen: opendir(%s): %s\n", dirpath,
			strerror(errno));
		exit(2);
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		if (n == alloc) {
			alloc = alloc == 0 ? 1024 : alloc * 2;
			names = realloc(names, alloc * sizeof(*names));
		}
		names[n++] = strdup(d->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), cmp_str);
	if (max > 0 && n > max)
		n = max;
	msgs = calloc(n, sizeof(*msgs));
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dirpath, names[i]);
		FILE *f = fopen(path, "rb");
		if (f == NULL)
			continue;
		struct stat st;
		if (fstat(fileno(f), &st) < 0) {
			fclose(f);
			continue;
		}
		char *raw = malloc(st.st_size + 1);
		size_t len = fread(raw, 1, st.st_size, f);
		fclose(f);
		/* worst case: every byte a LF (+CR) at line start (+dot) */
		char *crlf = malloc(len * 2 + 8), *dot = malloc(len * 3 + 8);
		size_t cl = 0, dl = 0;
		bool bol = true;
		for (size_t j = 0; j < len; j++) {
			char ch = raw[j];
			if (ch == '\r')
				continue;
			if (ch == '\n') {
				crlf[cl++] = '\r';
				dot[dl++] = '\r';
			}
			if (bol && ch == '.')
				dot[dl++] = '.';
			crlf[cl++] = ch;
			dot[dl++] = ch;
			bol = ch == '\n';
		}
		if (!bol) {
			memcpy(crlf + cl, "\r\n", 2);
			cl += 2;
			memcpy(dot + dl, "\r\n", 2);
			dl += 2;
		}
		memcpy(dot + dl, ".\r\n", 3);
		dl += 3;
		free(raw);
		msgs[msg_count].data = crlf;
		msgs[msg_count].size = cl;
		msgs[msg_count].stuffed = dot;
		msgs[msg_count].stuffed_size = dl;
		msg_count++;
	}
	for (size_t i = 0; i < alloc && i < n; i++)
		free(names[i]);
	free(names);
	if (msg_count == 0) {
		fprintf(stderr, "loadgen: no messages in %s\n", dirpath);
		exit(2);
	}
}

/* ---- IMAP ---- */

enum imap_state { IMAP_GREETING, IMAP_CMD, IMAP_APPEND_CONT,
		  IMAP_IDLE_CONT, IMAP_BYE };

static unsigned int rnd(unsigned int n)
{
	return n == 0 ? 0 : (unsigned int)(random() % n);
}

static void imap_send(struct client *c, enum imap_op op, const char *fmt, ...)
{
	va_list args;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	op_begin(c, op);
	c->tag++;
	c->fetch_lines = 0;
	evbuffer_add_printf(out, "a%u ", c->tag);
	va_start(args, fmt);
	evbuffer_add_vprintf(out, fmt, args);
	va_end(args);
	evbuffer_add(out, "\r\n", 2);
	c->state = IMAP_CMD;
}

static enum imap_op imap_pick(struct client *c)
{
	unsigned int total = 0, r;
	for (int i = 0; i < OP_COUNT; i++)
		total += mix[i];
	r = rnd(total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (r < mix[i]) {
			enum imap_op op = i;
			if (op == OP_EXPUNGE && c->own_count == 0)
				op = OP_APPEND;
			if (c->exists == 0 && op != OP_APPEND && op != OP_IDLE &&
			    op != OP_SEARCH)
				op = OP_APPEND;
			return op;
		}
		r -= mix[i];
	}
	return OP_FETCH_FLAGS;
}

static void imap_next(struct client *c)
{
	static const char *const searches[] = {
		"SEARCH UNSEEN", "SEARCH FROM \"com\"", "SEARCH SUBJECT \"re\"",
		"SEARCH FLAGGED SINCE 1-Jan-2002",
	};
	unsigned int seq = 1 + rnd(c->exists);

	if (stopping)
		return;
	if (c->ops_left == 0) {
		imap_send(c, OP_LOGOUT, "LOGOUT");
		return;
	}
	c->ops_left--;
	switch (imap_pick(c)) {
	case OP_FETCH_FLAGS:
		imap_send(c, OP_FETCH_FLAGS, "FETCH 1:* (FLAGS)");
		break;
	case OP_FETCH_ENV:
		imap_send(c, OP_FETCH_ENV, "FETCH %u (ENVELOPE)", seq);
		break;
	case OP_FETCH_BS:
		imap_send(c, OP_FETCH_BS, "FETCH %u (BODYSTRUCTURE)", seq);
		break;
	case OP_FETCH_BODY:
		imap_send(c, OP_FETCH_BODY, "FETCH %u (BODY.PEEK[])", seq);
		break;
	case OP_STORE:
		imap_send(c, OP_STORE, "STORE %u %cFLAGS (%s)", seq,
			  rnd(2) ? '+' : '-', rnd(2) ? "\\Seen" : "\\Flagged");
		break;
	case OP_SEARCH:
		imap_send(c, OP_SEARCH, "%s", searches[rnd(4)]);
		break;
	case OP_EXPUNGE:
		c->expunge_uid = c->own_uids[--c->own_count];
		imap_send(c, OP_EXPUNGE_STORE, "UID STORE %u +FLAGS.SILENT (\\Deleted)",
			  c->expunge_uid);
		break;
	case OP_IDLE:
		imap_send(c, OP_IDLE, "IDLE");
		c->state = IMAP_IDLE_CONT;
		break;
	case OP_APPEND:
	default: {
		struct msg *m = &msgs[rnd(msg_count)];
		c->pending_append = m - msgs;
		imap_send(c, OP_APPEND, "APPEND INBOX (\\Seen) {%zu}", m->size);
		c->state = IMAP_APPEND_CONT;
		break;
	}
	}
}

static bool imap_tag_ok(struct client *c, const char *line, size_t len)
{
	char tag[32];
	int n = snprintf(tag, sizeof(tag), "a%u ", c->tag);
	if (len < (size_t)n || memcmp(line, tag, n) != 0)
		return false;	/* not ours: caller handles */
	return true;
}

static void imap_line(struct client *c, const char *line, size_t len)
{
	unsigned int n;

	if (c->state == IMAP_GREETING) {
		if (len < 4 || memcmp(line, "* OK", 4) != 0) {
			bench_error(c, "bad greeting: %.*s", (int)len, line);
			client_restart(c);
			return;
		}
		c->ops_left = opt.ops_per_session;
		imap_send(c, OP_LOGIN, "LOGIN %s %s", c->user, opt.password);
		return;
	}
	if (c->after_literal) {
		/* the rest of an untagged response after a literal */
		return;
	}
	if (line[0] == '*') {
		int end = 0;
		if (sscanf(line, "* %u EXISTS%n", &n, &end) == 1 && end > 0)
			c->exists = n;
		else if (sscanf(line, "* %u EXPUNGE%n", &n, &end) == 1 &&
			 end > 0) {
			if (c->exists > 0)
				c->exists--;
		} else if (sscanf(line, "* %u FETCH %n", &n, &end) == 1 &&
			   end > 0)
			c->fetch_lines++;
		return;
	}
	if (line[0] == '+') {
		if (c->state == IMAP_APPEND_CONT) {
			struct msg *m = &msgs[c->pending_append];
			struct evbuffer *out = bufferevent_get_output(c->bev);
			evbuffer_add(out, m->data, m->size);
			evbuffer_add(out, "\r\n", 2);
			c->state = IMAP_CMD;
		} else if (c->state == IMAP_IDLE_CONT) {
			sendf(c, "DONE\r\n");
			c->state = IMAP_CMD;
		} else {
			bench_error(c, "unexpected continuation: %.*s",
				    (int)len, line);
		}
		return;
	}
	if (!imap_tag_ok(c, line, len)) {
		bench_error(c, "unexpected line: %.*s", (int)len, line);
		return;
	}
	const char *status = strchr(line, ' ') + 1;
	if (strncmp(status, "OK", 2) != 0) {
		bench_error(c, "%s: %.*s", op_names[c->op], (int)len, line);
		if (c->op == OP_LOGIN || c->op == OP_SELECT ||
		    c->op == OP_LOGOUT) {
			client_restart(c);
			return;
		}
		imap_next(c);
		return;
	}
	if ((c->op == OP_FETCH_ENV || c->op == OP_FETCH_BS ||
	     c->op == OP_FETCH_BODY) && c->fetch_lines == 0) {
		bench_error(c, "%s returned no FETCH response", op_names[c->op]);
	}
	op_end(c);
	switch (c->op) {
	case OP_LOGIN:
		c->exists = 0;
		imap_send(c, OP_SELECT, "SELECT INBOX");
		return;
	case OP_LOGOUT:
		client_restart(c);
		return;
	case OP_APPEND: {
		const char *p = strstr(status, "[APPENDUID ");
		unsigned int v, uid;
		if (p == NULL || sscanf(p, "[APPENDUID %u %u]", &v, &uid) != 2) {
			bench_error(c, "APPEND without APPENDUID: %.*s",
				    (int)len, line);
			break;
		}
		if (c->own_count == c->own_alloc) {
			c->own_alloc = c->own_alloc == 0 ? 16 : c->own_alloc * 2;
			c->own_uids = realloc(c->own_uids,
					      c->own_alloc * sizeof(unsigned int));
		}
		c->own_uids[c->own_count++] = uid;
		break;
	}
	case OP_EXPUNGE_STORE:
		imap_send(c, OP_EXPUNGE, "UID EXPUNGE %u", c->expunge_uid);
		return;
	default:
		break;
	}
	imap_next(c);
}

/* ---- TLS handshake + LOGIN + LOGOUT ---- */

static void tls_line(struct client *c, const char *line, size_t len)
{
	switch (c->state) {
	case 0:
		if (len < 4 || memcmp(line, "* OK", 4) != 0) {
			bench_error(c, "bad greeting: %.*s", (int)len, line);
			client_restart(c);
			return;
		}
		sendf(c, "a1 LOGIN %s %s\r\n", c->user, opt.password);
		c->state = 1;
		return;
	case 1:
		if (line[0] == '*')
			return;
		if (strncmp(line, "a1 OK", 5) != 0) {
			bench_error(c, "LOGIN: %.*s", (int)len, line);
			client_restart(c);
			return;
		}
		sendf(c, "a2 LOGOUT\r\n");
		c->state = 2;
		return;
	default:
		if (line[0] == '*')
			return;
		if (strncmp(line, "a2 OK", 5) != 0)
			bench_error(c, "LOGOUT: %.*s", (int)len, line);
		else
			op_end(c);
		client_restart(c);
		return;
	}
}

/* ---- POP3 ---- */

enum pop3_state { POP3_GREETING, POP3_USER, POP3_PASS, POP3_STAT,
		  POP3_RETR, POP3_QUIT };

static void pop3_retr_next(struct client *c)
{
	if (c->pop_next > c->pop_msgs) {
		sendf(c, "QUIT\r\n");
		c->state = POP3_QUIT;
		return;
	}
	op_begin(c, OP_FETCH_BODY);
	sendf(c, "RETR %u\r\n", c->pop_next++);
	c->state = POP3_RETR;
	c->in_retr = false;
	c->retr_bytes = 0;
}

static void pop3_line(struct client *c, const char *line, size_t len)
{
	if (c->state == POP3_RETR && c->in_retr) {
		if (len == 1 && line[0] == '.') {
			bytes_total += stopping ? 0 : c->retr_bytes;
			op_end(c);
			if (!stopping)
				pop3_retr_next(c);
		} else {
			c->retr_bytes += len + 2;
		}
		return;
	}
	if (len < 3 || memcmp(line, "+OK", 3) != 0) {
		bench_error(c, "pop3 state %d: %.*s", c->state, (int)len, line);
		client_restart(c);
		return;
	}
	switch (c->state) {
	case POP3_GREETING:
		sendf(c, "USER %s\r\n", c->user);
		c->state = POP3_USER;
		break;
	case POP3_USER:
		sendf(c, "PASS %s\r\n", opt.password);
		c->state = POP3_PASS;
		break;
	case POP3_PASS:
		sendf(c, "STAT\r\n");
		c->state = POP3_STAT;
		break;
	case POP3_STAT:
		if (sscanf(line, "+OK %u", &c->pop_msgs) != 1 || c->pop_msgs == 0) {
			bench_error(c, "STAT: %.*s", (int)len, line);
			client_restart(c);
			return;
		}
		if (opt.max_msgs > 0 && c->pop_msgs > opt.max_msgs)
			c->pop_msgs = opt.max_msgs;
		c->pop_next = 1;
		pop3_retr_next(c);
		break;
	case POP3_RETR:
		c->in_retr = true;
		break;
	case POP3_QUIT:
		client_restart(c);
		break;
	}
}

/* ---- LMTP ---- */

enum lmtp_state { LMTP_GREETING, LMTP_LHLO, LMTP_MAIL, LMTP_RCPT,
		  LMTP_DATA, LMTP_BODY, LMTP_QUIT };

static void lmtp_next(struct client *c)
{
	if (lmtp_next_msg >= msg_count || stopping) {
		sendf(c, "QUIT\r\n");
		c->state = LMTP_QUIT;
		return;
	}
	c->lmtp_msg = lmtp_next_msg++;
	snprintf(c->user, sizeof(c->user), "%s%u", opt.user_fmt,
		 (c->lmtp_msg % opt.nusers) + 1);
	op_begin(c, OP_APPEND);
	sendf(c, "MAIL FROM:<bench@example.org>\r\n");
	c->state = LMTP_MAIL;
}

static void lmtp_line(struct client *c, const char *line, size_t len)
{
	if (len >= 4 && line[3] == '-')
		return;		/* continuation of a multi-line reply */
	int code = len >= 3 ? atoi(line) : 0;
	int want = c->state == LMTP_GREETING ? 220 :
		c->state == LMTP_DATA ? 354 :
		c->state == LMTP_QUIT ? 221 : 250;
	if (code != want) {
		bench_error(c, "lmtp state %d: %.*s", c->state, (int)len, line);
		if (c->state == LMTP_BODY || c->state == LMTP_RCPT) {
			sendf(c, "RSET\r\n");
			c->state = LMTP_LHLO;	/* next 250 starts the next message */
			return;
		}
		c->done = true;
		clients_done++;
		bufferevent_free(c->bev);
		c->bev = NULL;
		if (clients_done == opt.clients)
			event_base_loopexit(base, NULL);
		return;
	}
	switch (c->state) {
	case LMTP_GREETING:
		sendf(c, "LHLO loadgen\r\n");
		c->state = LMTP_LHLO;
		break;
	case LMTP_LHLO:
		lmtp_next(c);
		break;
	case LMTP_MAIL:
		sendf(c, "RCPT TO:<%s>\r\n", c->user);
		c->state = LMTP_RCPT;
		break;
	case LMTP_RCPT:
		sendf(c, "DATA\r\n");
		c->state = LMTP_DATA;
		break;
	case LMTP_DATA: {
		struct msg *m = &msgs[c->lmtp_msg];
		evbuffer_add(bufferevent_get_output(c->bev), m->stuffed,
			     m->stuffed_size);
		c->state = LMTP_BODY;
		break;
	}
	case LMTP_BODY:
		op_end(c);
		bytes_total += msgs[c->lmtp_msg].size;
		lmtp_next(c);
		break;
	case LMTP_QUIT:
		c->done = true;
		clients_done++;
		bufferevent_free(c->bev);
		c->bev = NULL;
		if (clients_done == opt.clients)
			event_base_loopexit(base, NULL);
		break;
	}
}

/* ---- idle: many authenticated connections doing nothing ---- */

enum idle_state { IDLE_GREETING, IDLE_LOGIN, IDLE_SELECT, IDLE_UP,
		  IDLE_NOOP, IDLE_DONE };

static unsigned int idle_started, idle_inflight, idle_up, idle_failed;
static unsigned int idle_dropped, idle_noop_sent, idle_noop_ok;
static bool idle_setup_over, idle_noop_phase;
static struct timespec idle_t0, idle_t_up;
static struct mem_sum idle_mem_before, idle_mem_after;
static struct event *idle_timeout_ev, *idle_settle_ev;


static void idle_launch(void)
{
	while (!idle_setup_over && idle_started < opt.clients &&
	       idle_inflight < opt.ramp) {
		struct client *c = &clients[idle_started++];
		idle_inflight++;
		client_start(c);
	}
}

static void idle_end_setup(void)
{
	struct timeval tv = { (time_t)opt.settle,
		(suseconds_t)((opt.settle - (time_t)opt.settle) * 1e6) };

	if (idle_setup_over)
		return;
	idle_setup_over = true;
	clock_gettime(CLOCK_MONOTONIC, &idle_t_up);
	fprintf(stderr, "%s idle: %u of %u up in %.1f s (%u failed)\n",
		opt.label, idle_up, opt.clients, ts_diff(&idle_t0, &idle_t_up),
		idle_failed);
	evtimer_del(idle_timeout_ev);
	evtimer_add(idle_settle_ev, &tv);
}

static void idle_check(void)
{
	if (!idle_noop_phase) {
		if (!idle_setup_over && idle_started == opt.clients &&
		    idle_inflight == 0)
			idle_end_setup();
		else
			idle_launch();
	} else if (idle_noop_ok + idle_dropped >= idle_up) {
		event_base_loopexit(base, NULL);
	}
}

static void idle_fail(struct client *c, const char *what)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	switch (c->state) {
	case IDLE_UP:
	case IDLE_NOOP:
		idle_dropped++;
		bench_error(c, "idle connection lost (%s)", what);
		break;
	case IDLE_DONE:
		return;
	default:
		idle_failed++;
		idle_inflight--;
		bench_error(c, "setup failed in state %d: %s", c->state, what);
		break;
	}
	c->state = IDLE_DONE;
	c->done = true;
	idle_check();
}

static void idle_line(struct client *c, const char *line, size_t len)
{
	if (c->state == IDLE_GREETING) {
		if (len < 4 || memcmp(line, "* OK", 4) != 0) {
			idle_fail(c, line);
			return;
		}
		op_begin(c, OP_LOGIN);
		sendf(c, "a1 LOGIN %s %s\r\n", c->user, opt.password);
		c->state = IDLE_LOGIN;
		return;
	}
	if (line[0] == '*' || c->after_literal)
		return;
	switch (c->state) {
	case IDLE_LOGIN:
		if (strncmp(line, "a1 OK", 5) != 0) {
			idle_fail(c, line);
			return;
		}
		op_end(c);
		op_begin(c, OP_SELECT);
		sendf(c, "a2 SELECT INBOX\r\n");
		c->state = IDLE_SELECT;
		return;
	case IDLE_SELECT:
		if (strncmp(line, "a2 OK", 5) != 0) {
			idle_fail(c, line);
			return;
		}
		op_end(c);
		c->state = IDLE_UP;
		idle_up++;
		idle_inflight--;
		idle_check();
		return;
	case IDLE_NOOP:
		if (strncmp(line, "a3 OK", 5) != 0) {
			idle_fail(c, line);
			return;
		}
		op_end(c);
		c->state = IDLE_DONE;
		idle_noop_ok++;
		idle_check();
		return;
	default:
		bench_error(c, "unexpected line while idle: %.*s", (int)len, line);
		return;
	}
}

static void idle_timeout_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd; (void)what; (void)ctx;
	if (!idle_setup_over) {
		fprintf(stderr, "%s idle: setup time limit (%.0f s) reached\n",
			opt.label, opt.secs);
		idle_end_setup();
	} else {
		fprintf(stderr, "%s idle: NOOP answers still missing after 60 s\n",
			opt.label);
		stopping = true;
		event_base_loopexit(base, NULL);
	}
}

static void idle_settle_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct timeval tv = { 60, 0 };
	(void)fd; (void)what; (void)ctx;

	idle_mem_after = server_mem(opt.server_pid);
	idle_noop_phase = true;
	for (unsigned int i = 0; i < opt.clients; i++) {
		struct client *c = &clients[i];
		if (c->state != IDLE_UP || c->bev == NULL)
			continue;
		op_begin(c, OP_IDLE);
		sendf(c, "a3 NOOP\r\n");
		c->state = IDLE_NOOP;
		idle_noop_sent++;
	}
	evtimer_add(idle_timeout_ev, &tv);
	idle_check();
}

/* ---- connection plumbing ---- */

static void read_cb(struct bufferevent *bev, void *ctx)
{
	struct client *c = ctx;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (c->bev == bev) {
		if (c->literal_left > 0) {
			size_t avail = evbuffer_get_length(in);
			size_t n = avail < c->literal_left ? avail : c->literal_left;
			if (n == 0)
				return;
			evbuffer_drain(in, n);
			c->literal_left -= n;
			continue;
		}
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL,
							     EVBUFFER_EOL_CRLF_STRICT);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > MAX_LINE) {
				bench_error(c, "line longer than %d bytes", MAX_LINE);
				client_restart(c);
			}
			return;
		}
		size_t len = eol.pos;
		char *line = (char *)evbuffer_pullup(in, len + 2);
		char saved = line[len];
		line[len] = '\0';
		/* IMAP literal at the end of a line: skip its bytes */
		size_t lit = 0;
		if (opt.mode == MODE_IMAP && len > 2 && line[len - 1] == '}') {
			const char *b = memrchr(line, '{', len);
			if (b != NULL)
				lit = strtoul(b + 1, NULL, 10);
		}
		static char *copy = NULL;
		static size_t copy_alloc = 0;
		if (len + 1 > copy_alloc) {
			copy_alloc = len + 1 < 4096 ? 4096 : len + 1;
			copy = realloc(copy, copy_alloc);
			if (copy == NULL)
				abort();
		}
		memcpy(copy, line, len + 1);
		line[len] = saved;
		evbuffer_drain(in, len + 2);
		c->literal_left = lit;
		c->handler(c, copy, len);
		if (c->bev == bev)
			c->after_literal = lit > 0;
	}
}

static void event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct client *c = ctx;

	if ((what & BEV_EVENT_CONNECTED) != 0) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
			   &one, sizeof(one));
		if (opt.mode == MODE_HS) {
			/* an SSL bufferevent reports CONNECTED after the
			   handshake */
			op_end(c);
			client_restart(c);
		}
		return;
	}
	if (c->done || stopping)
		return;
	if (opt.mode == MODE_IDLE) {
		unsigned long e = ERR_get_error();
		idle_fail(c, (what & BEV_EVENT_EOF) != 0 ? "closed by server" :
			  e != 0 ? ERR_error_string(e, NULL) : "connection error");
		return;
	}
	if (opt.mode == MODE_IMAP && c->op == OP_LOGOUT &&
	    c->state == IMAP_CMD) {
		/* server closed after the tagged LOGOUT reply was read */
		client_restart(c);
		return;
	}
	unsigned long e = ERR_get_error();
	bench_error(c, "connection %s (state %d%s%s)",
		    (what & BEV_EVENT_EOF) != 0 ? "closed" : "failed", c->state,
		    e != 0 ? ", " : "", e != 0 ? ERR_error_string(e, NULL) : "");
	client_restart(c);
}

static void client_start(struct client *c)
{
	c->literal_left = 0;
	c->after_literal = false;
	c->state = 0;
	c->done = false;
	if (opt.tls) {
		SSL *ssl = SSL_new(ssl_ctx);
		SSL_set_tlsext_host_name(ssl, "localhost");
		c->bev = bufferevent_openssl_socket_new(base, -1, ssl,
			BUFFEREVENT_SSL_CONNECTING,
			BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE |
						BEV_OPT_DEFER_CALLBACKS);
	}
	switch (opt.mode) {
	case MODE_IMAP:
		c->handler = imap_line;
		snprintf(c->user, sizeof(c->user), "%s%u", opt.user_fmt,
			 (c->id % opt.nusers) + 1);
		break;
	case MODE_TLS:
		c->handler = tls_line;
		snprintf(c->user, sizeof(c->user), "%s%u", opt.user_fmt,
			 (c->id % opt.nusers) + 1);
		op_begin(c, OP_LOGIN);
		break;
	case MODE_POP3:
		c->handler = pop3_line;
		snprintf(c->user, sizeof(c->user), "%s%u", opt.user_fmt,
			 (c->id % opt.nusers) + 1);
		break;
	case MODE_LMTP:
		c->handler = lmtp_line;
		break;
	case MODE_IDLE:
		c->handler = idle_line;
		snprintf(c->user, sizeof(c->user), "%s%u", opt.user_fmt,
			 (c->id % opt.nusers) + 1);
		break;
	case MODE_HS:
		c->handler = tls_line;
		c->user[0] = '\0';
		op_begin(c, OP_LOGIN);
		break;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&server_addr,
				       sizeof(server_addr)) < 0) {
		int err = errno;
		bufferevent_free(c->bev);
		c->bev = NULL;
		if (opt.mode == MODE_IDLE)
			idle_fail(c, strerror(err));
		else
			bench_error(c, "connect: %s", strerror(err));
	}
}

static void client_restart(struct client *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (stopping)
		return;
	if (opt.once) {
		/* -1: this client's one session is over */
		c->done = true;
		if (++clients_done == opt.clients)
			event_base_loopexit(base, NULL);
		return;
	}
	/* appended-but-not-expunged UIDs stay valid across sessions */
	client_start(c);
}

static void stop_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd; (void)what; (void)ctx;
	stopping = true;
	event_base_loopexit(base, NULL);
}

static bool parse_mix(const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	memset(mix, 0, sizeof(mix));
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL)
			return false;
		*eq = '\0';
		int i;
		for (i = 0; i < OP_COUNT; i++) {
			if (strcmp(op_names[i], tok) == 0)
				break;
		}
		if (i == OP_COUNT || i == OP_LOGIN || i == OP_SELECT ||
		    i == OP_LOGOUT || i == OP_EXPUNGE_STORE)
			return false;
		mix[i] = strtoul(eq + 1, NULL, 10);
	}
	free(copy);
	return true;
}

static void usage(void)
{
	fprintf(stderr,
"usage: loft-loadgen -m imap|tls|lmtp|pop3|idle|hs [options]\n"
"  -H host        server address (127.0.0.1)\n"
"  -p port        server port\n"
"  -s             TLS from the first byte (imaps/pop3s)\n"
"  -c N           concurrent clients (20)\n"
"  -1             one session per client, then exit (imap, pop3, tls)\n"
"  -R N           idle: at most N clients logging in at once (100)\n"
"  -S SECS        idle: wait after all are up before measuring (2)\n"
"  -t SECS        duration for imap/tls/pop3/hs (10); for lmtp and the\n"
"                 setup of idle a time limit\n"
"  -u PREFIX      user names are PREFIX1..PREFIXnusers (user)\n"
"  -U N           number of users (20)\n"
"  -w PASS        password of every user (benchpass)\n"
"  -C DIR         corpus directory of message files (APPEND, LMTP)\n"
"  -n N           messages: LMTP delivers the first N; POP3 RETRs <= N\n"
"  -o N           random commands per IMAP session (30)\n"
"  -x MIX         weights, e.g. fetchflags=1,envelope=3,bodystructure=2,\n"
"                 body=3,store=3,append=2,search=1,expunge=2,idle=1\n"
"  -P PID         server master pid for CPU accounting (/proc)\n"
"  -l LABEL       label copied into the JSON\n"
"  -r SEED        random seed (1)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	bool secs_given = false;
	int ch;

	while ((ch = getopt(argc, argv, "hm:H:p:sc:t:u:U:w:C:n:o:x:P:l:r:1R:S:")) != -1) {
		switch (ch) {
		case 'm':
			if (strcmp(optarg, "imap") == 0) opt.mode = MODE_IMAP;
			else if (strcmp(optarg, "tls") == 0) opt.mode = MODE_TLS;
			else if (strcmp(optarg, "lmtp") == 0) opt.mode = MODE_LMTP;
			else if (strcmp(optarg, "pop3") == 0) opt.mode = MODE_POP3;
			else if (strcmp(optarg, "idle") == 0) opt.mode = MODE_IDLE;
			else if (strcmp(optarg, "hs") == 0) opt.mode = MODE_HS;
			else usage();
			break;
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 's': opt.tls = true; break;
		case 'c': opt.clients = strtoul(optarg, NULL, 10); break;
		case 't': opt.secs = atof(optarg); secs_given = true; break;
		case 'u': opt.user_fmt = optarg; break;
		case 'U': opt.nusers = strtoul(optarg, NULL, 10); break;
		case 'w': opt.password = optarg; break;
		case 'C': opt.corpus = optarg; break;
		case 'n': opt.max_msgs = strtoul(optarg, NULL, 10); break;
		case 'o': opt.ops_per_session = strtoul(optarg, NULL, 10); break;
		case 'x': if (!parse_mix(optarg)) usage(); break;
		case 'P': opt.server_pid = atoi(optarg); break;
		case 'l': opt.label = optarg; break;
		case 'r': opt.seed = strtoul(optarg, NULL, 10); break;
		case '1': opt.once = true; break;
		case 'R': opt.ramp = strtoul(optarg, NULL, 10); break;
		case 'S': opt.settle = atof(optarg); break;
		default: usage();
		}
	}
	if (opt.clients == 0 || opt.nusers == 0)
		usage();
	if (opt.mode == MODE_TLS || opt.mode == MODE_HS)
		opt.tls = true;
	if (opt.ramp == 0)
		opt.ramp = 1;
	if (opt.corpus != NULL)
		corpus_load(opt.corpus, opt.mode == MODE_LMTP ? opt.max_msgs : 500);
	else if (opt.mode == MODE_LMTP ||
		 (opt.mode == MODE_IMAP && mix[OP_APPEND] + mix[OP_EXPUNGE] > 0)) {
		fprintf(stderr, "loadgen: -C corpus needed for APPEND/LMTP\n");
		exit(2);
	}
	srandom(opt.seed);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	memset(&server_addr, 0, sizeof(server_addr));
	server_addr.sin_family = AF_INET;
	server_addr.sin_port = htons(opt.port);
	if (inet_pton(AF_INET, opt.host, &server_addr.sin_addr) != 1) {
		fprintf(stderr, "loadgen: bad address %s\n", opt.host);
		exit(2);
	}
	if (opt.tls) {
		ssl_ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
		/* full handshakes every time: no session cache, no tickets */
		SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);
	}
	base = event_base_new();
	clients = calloc(opt.clients, sizeof(*clients));

	struct timespec t0, t1;
	struct rusage ru0, ru1;
	if (opt.mode == MODE_IDLE)
		idle_mem_before = server_mem(opt.server_pid);
	double cpu0 = server_cpu(opt.server_pid);
	getrusage(RUSAGE_SELF, &ru0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < opt.clients; i++)
		clients[i].id = i;
	if (opt.mode == MODE_IDLE) {
		struct timeval tv = { (time_t)opt.secs,
			(suseconds_t)((opt.secs - (time_t)opt.secs) * 1e6) };
		idle_t0 = t0;
		idle_timeout_ev = evtimer_new(base, idle_timeout_cb, NULL);
		idle_settle_ev = evtimer_new(base, idle_settle_cb, NULL);
		evtimer_add(idle_timeout_ev, &tv);
		idle_launch();
	} else {
		for (unsigned int i = 0; i < opt.clients; i++)
			client_start(&clients[i]);
	}
	struct event *stop_ev = NULL;
	if (opt.mode != MODE_IDLE && (opt.mode != MODE_LMTP || secs_given)) {
		struct timeval tv = { (time_t)opt.secs,
			(suseconds_t)((opt.secs - (time_t)opt.secs) * 1e6) };
		stop_ev = evtimer_new(base, stop_cb, NULL);
		evtimer_add(stop_ev, &tv);
	}
	event_base_dispatch(base);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stopping = true;
	double cpu1 = server_cpu(opt.server_pid);
	getrusage(RUSAGE_SELF, &ru1);
	double secs = ts_diff(&t0, &t1);
	double client_cpu = ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
		ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec +
		(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
		 ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

	qsort(lat_all.us, lat_all.count, sizeof(uint32_t), cmp_u32);
	for (int i = 0; i < OP_COUNT; i++)
		qsort(lat_op[i].us, lat_op[i].count, sizeof(uint32_t), cmp_u32);
	double ops_s = ops_total / secs;
	double cpu = cpu1 - cpu0;
	double cpu_per_op_ms = ops_total > 0 ? cpu * 1000.0 / ops_total : 0;
	double mb_s = bytes_total / secs / 1e6;
	static const char *const mode_names[] = { "imap", "tls", "lmtp", "pop3",
						  "idle", "hs" };

	fprintf(stderr, "%s %s: %" PRIu64 " ops in %.2f s = %.1f ops/s, "
		"p50 %.2f ms, p99 %.2f ms, %.2f MB/s, server cpu %.2f s "
		"(%.3f ms/op), loadgen cpu %.2f s (%.3f ms/op), errors %"
		PRIu64 "\n", opt.label,
		mode_names[opt.mode], ops_total, secs, ops_s,
		lat_pct(&lat_all, 0.5), lat_pct(&lat_all, 0.99), mb_s, cpu,
		cpu_per_op_ms, client_cpu,
		ops_total > 0 ? client_cpu * 1000.0 / ops_total : 0,
		errors_total);
	printf("{\"label\": \"%s\", \"mode\": \"%s\", \"clients\": %u, "
	       "\"tls\": %s, \"ops\": %" PRIu64 ", \"secs\": %.3f, "
	       "\"ops_per_s\": %.2f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
	       "\"mb_per_s\": %.3f, \"server_cpu_s\": %.3f, "
	       "\"server_cpu_ms_per_op\": %.4f, \"loadgen_cpu_s\": %.3f, "
	       "\"loadgen_cpu_ms_per_op\": %.4f, \"errors\": %" PRIu64 ", ",
	       opt.label, mode_names[opt.mode], opt.clients,
	       opt.tls ? "true" : "false", ops_total, secs, ops_s,
	       lat_pct(&lat_all, 0.5), lat_pct(&lat_all, 0.99), mb_s, cpu,
	       cpu_per_op_ms, client_cpu,
	       ops_total > 0 ? client_cpu * 1000.0 / ops_total : 0,
	       errors_total);
	if (opt.mode == MODE_IDLE) {
		double setup = ts_diff(&idle_t0, &idle_t_up);
		long long dpss = (long long)idle_mem_after.pss_kb -
			(long long)idle_mem_before.pss_kb;
		long long drss = (long long)idle_mem_after.rss_kb -
			(long long)idle_mem_before.rss_kb;
		unsigned int dropped = idle_up - idle_noop_ok;
		fprintf(stderr, "%s idle: %u conns, %u up, %u answered NOOP, "
			"%u dropped; server Pss %llu -> %llu kB (%.1f kB/conn), "
			"Rss %llu -> %llu kB (%.1f kB/conn), %u -> %u procs\n",
			opt.label, opt.clients, idle_up, idle_noop_ok, dropped,
			idle_mem_before.pss_kb, idle_mem_after.pss_kb,
			idle_up > 0 ? (double)dpss / idle_up : 0,
			idle_mem_before.rss_kb, idle_mem_after.rss_kb,
			idle_up > 0 ? (double)drss / idle_up : 0,
			idle_mem_before.procs, idle_mem_after.procs);
		printf("\"conns\": %u, \"up\": %u, \"setup_failed\": %u, "
		       "\"noop_ok\": %u, \"dropped\": %u, \"setup_s\": %.3f, "
		       "\"logins_per_s\": %.2f, "
		       "\"pss_before_kb\": %llu, \"pss_after_kb\": %llu, "
		       "\"rss_before_kb\": %llu, \"rss_after_kb\": %llu, "
		       "\"procs_before\": %u, \"procs_after\": %u, "
		       "\"pss_kb_per_conn\": %.2f, \"rss_kb_per_conn\": %.2f, ",
		       opt.clients, idle_up, idle_failed, idle_noop_ok, dropped,
		       setup, setup > 0 ? idle_up / setup : 0,
		       idle_mem_before.pss_kb, idle_mem_after.pss_kb,
		       idle_mem_before.rss_kb, idle_mem_after.rss_kb,
		       idle_mem_before.procs, idle_mem_after.procs,
		       idle_up > 0 ? (double)dpss / idle_up : 0,
		       idle_up > 0 ? (double)drss / idle_up : 0);
	}
	printf("\"per_op\": {");
	bool first = true;
	for (int i = 0; i < OP_COUNT; i++) {
		if (op_count[i] == 0)
			continue;
		printf("%s\"%s\": {\"count\": %" PRIu64 ", \"p50_ms\": %.3f, "
		       "\"p99_ms\": %.3f}", first ? "" : ", ", op_names[i],
		       op_count[i], lat_pct(&lat_op[i], 0.5),
		       lat_pct(&lat_op[i], 0.99));
		first = false;
	}
	printf("}}\n");
	return 0;
}
