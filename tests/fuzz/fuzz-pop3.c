/* Fuzz target for POP3 command handling (src/pop3/pop3-client.c and
   pop3-commands.c): a real session over socketpairs on a copy of a
   small fixed Maildir INBOX. The input is what the client sends; it is
   pipelined in one go, then the client's side is closed. If the input
   starts with "#uidl=FORMAT\n", FORMAT becomes pop3_uidl_format. The
   server's output is read and checked: it starts with the greeting,
   and every line ends with CRLF.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include "fuzz-mailbox.h"
#include "pop3-client.h"
#include <sys/socket.h>
#include <fcntl.h>

static struct loft_settings *set;
static char *default_uidl_format;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_mailbox_init();
	set = settings_defaults();
	default_uidl_format = set->pop3_uidl_format;
	return 0;
}

struct output_reader {
	struct event *ev;
	string_t *head;     /* the first bytes */
	char last;          /* the last byte so far */
	size_t total;
};

/* Read what the server wrote; every LF must follow a CR. */
static bool output_read(int fd, struct output_reader *r)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			CHECK((i > 0 ? buf[i - 1] : r->last) == '\r');
	}
	if (str_len(r->head) < 64)
		str_append_n(r->head, buf, (size_t)n < 64 ? (size_t)n : 64);
	r->last = buf[n - 1];
	r->total += (size_t)n;
	return true;
}

static void output_read_cb(evutil_socket_t fd, short what, void *context)
{
	struct output_reader *r = context;

	if (!output_read(fd, r))
		event_del(r->ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct output_reader reader;
	struct pop3_client *client;
	struct mail_user *user;
	struct mailbox *box;
	struct event_base *base;
	const char *error;
	char *uidl_format = NULL, *home;
	int in[2], out[2];

	if (size > 65536)
		return 0;
	if (size > 6 && memcmp(data, "#uidl=", 6) == 0) {
		const uint8_t *lf = memchr(data, '\n', size);
		size_t len = lf == NULL ? size : (size_t)(lf - data);

		uidl_format = i_strndup(data + 6, len - 6);
		set->pop3_uidl_format = uidl_format;
		data += len;
		size -= len;
		if (size > 0) {
			data++;
			size--;
		}
	}
	home = fuzz_home_copy();
	user = fuzz_user_open(home);
	CHECK(mailbox_open(user, "INBOX", false, &box, &error) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, in) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, out) == 0);
	close(in[1]);   /* the client sent everything and closed */
	base = event_base_new();
	memset(&reader, 0, sizeof(reader));
	reader.head = str_new(128);
	fcntl(out[1], F_SETFL, O_NONBLOCK);
	reader.ev = event_new(base, out[1], EV_READ | EV_PERSIST,
			      output_read_cb, &reader);
	event_add(reader.ev, NULL);
	client = pop3_client_create(base, in[0], out[0], set, "fuzz",
				    "fuzzsession", user, box, data, size);
	event_base_dispatch(base);
	pop3_client_destroy(&client);
	/* what was still queued */
	close(out[0]);
	while (output_read(out[1], &reader)) ;
	CHECK(str_len(reader.head) >= 16);
	CHECK(memcmp(str_c(reader.head), "+OK Logged in.\r\n", 16) == 0);
	CHECK(reader.last == '\n');
	event_free(reader.ev);
	str_free(&reader.head);
	event_base_free(base);
	close(in[0]);
	close(out[1]);
	mailbox_close(&box);
	mail_user_close(&user);
	fuzz_home_remove(home);
	set->pop3_uidl_format = default_uidl_format;
	free(uidl_format);
	return 0;
}
