/* Fuzz target for the auth protocol line parser
   (src/lib-auth/auth-protocol.h): the input is split at LF into lines;
   every line that parses is written back field by field with
   auth_protocol_append_escaped() and must parse to the same fields; the
   request id and key lookups run over the fields.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include "fuzz-common.h"
#include "lib.h"
#include "auth-protocol.h"

static void fuzz_line(const char *line, size_t len)
{
	char **args, **args2;
	const char *error, *v;
	unsigned int i, count;
	uint32_t id;
	string_t *w;

	if (auth_protocol_parse_line(line, len, &args, &error) < 0) {
		CHECK(error != NULL && args == NULL);
		return;
	}
	CHECK(args != NULL && args[0] != NULL);
	w = str_new(len + 16);
	for (count = 0; args[count] != NULL; count++) {
		if (count > 0)
			str_append_c(w, '\t');
		auth_protocol_append_escaped(w, args[count]);
	}
	CHECK(count <= AUTH_PROTOCOL_MAX_ARGS);
	if (auth_protocol_parse_line(str_c(w), str_len(w), &args2,
				     &error) < 0) {
		fprintf(stderr, "reparse: %s\n", error);
		CHECK(!"written back line does not parse");
	}
	for (i = 0; i < count; i++)
		CHECK(args2[i] != NULL && strcmp(args[i], args2[i]) == 0);
	CHECK(args2[count] == NULL);
	if (count > 1 && auth_protocol_parse_id(args[1], &id) == 0)
		CHECK(id > 0);
	static const char *const keys[] = {
		"user", "password", "service", "rip", "reason", "", "=",
	};
	for (i = 0; i < N_ELEMENTS(keys); i++) {
		v = auth_protocol_args_find(args, count < 2 ? count : 2,
					    keys[i]);
		if (v != NULL)
			CHECK(strlen(v) <= len);
	}
	auth_protocol_args_free(&args);
	auth_protocol_args_free(&args2);
	CHECK(args == NULL && args2 == NULL);
	str_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *lf = memchr(p, '\n', end - p);
		size_t len = lf == NULL ? (size_t)(end - p) : (size_t)(lf - p);
		char *line = i_strndup(p, len);

		/* the parser sees len bytes, NULs included */
		memcpy(line, p, len);
		fuzz_line(line, len);
		free(line);
		p += len + 1;
	}
	return 0;
}
