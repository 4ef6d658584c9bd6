/* Fuzz target for the config parser (src/lib-settings, Dovecot syntax)
   and the settings snapshot format. Input starting with "LOFTSET1" goes
   to settings_snapshot_parse(); anything else to settings_read_string()
   as /nonexistent/loft-fuzz/dovecot.conf (so relative includes find
   nothing). Settings that parse must survive a snapshot round trip
   byte for byte, print in both doveconf -a and -n styles, and the -n
   output must read back and print the same; protocol blocks are
   applied for imap, pop3 and lmtp.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include "fuzz-common.h"
#include "lib.h"
#include "log.h"
#include "settings.h"

#define FUZZ_CONF "/nonexistent/loft-fuzz/dovecot.conf"

static void check_snapshot(const struct loft_settings *set, string_t *snap)
{
	struct loft_settings *set2;
	string_t *snap2 = str_new(str_len(snap) + 16);
	char *error;

	if (settings_snapshot_parse(str_data(snap), str_len(snap), &set2,
				    &error) < 0) {
		fprintf(stderr, "snapshot: %s\n", error);
		CHECK(!"snapshot of parsed settings does not parse");
	}
	settings_snapshot_serialize(set2, snap2);
	CHECK(str_len(snap2) == str_len(snap));
	CHECK(memcmp(str_data(snap2), str_data(snap), str_len(snap)) == 0);
	settings_free(&set2);
	str_free(&snap2);
}

static char *print(const struct loft_settings *set, bool non_default)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f != NULL);
	settings_print(set, non_default, f);
	CHECK(fclose(f) == 0);
	return buf;
}

static void fuzz_config(const uint8_t *data, size_t size)
{
	static const char *const protocols[] = { "imap", "pop3", "lmtp" };
	struct loft_settings *set, *set2, *copy;
	string_t *snap;
	char *error = NULL, *out;
	unsigned int i;

	if (settings_read_string(FUZZ_CONF, (const char *)data, size, &set,
				 &error) < 0) {
		CHECK(error != NULL && set == NULL);
		free(error);
		return;
	}
	snap = str_new(1024);
	settings_snapshot_serialize(set, snap);
	check_snapshot(set, snap);
	out = print(set, false);
	free(out);
	out = print(set, true);
	if (settings_read_string(FUZZ_CONF, out, strlen(out), &set2,
				 &error) < 0) {
		fprintf(stderr, "doveconf -n output:\n%s\nerror: %s\n",
			out, error);
		CHECK(!"printed settings do not read back");
	}
	/* printed again, the same text (compared as text: a filter left
	   empty by ignored settings is not printed, harmlessly) */
	char *out2 = print(set2, true);
	if (strcmp(out, out2) != 0) {
		fprintf(stderr, "printed:\n%s\nread back and printed:\n%s\n",
			out, out2);
		CHECK(!"printed settings read back differently");
	}
	free(out2);
	settings_free(&set2);
	free(out);
	for (i = 0; i < N_ELEMENTS(protocols); i++) {
		CHECK(settings_snapshot_parse(str_data(snap), str_len(snap),
					      &copy, &error) == 0);
		if (settings_apply_protocol(copy, protocols[i], &error) < 0)
			free(error);
		(void)settings_service_find(copy, protocols[i]);
		(void)settings_has_protocol(copy, protocols[i]);
		settings_free(&copy);
	}
	str_free(&snap);
	settings_free(&set);
}

static void fuzz_snapshot(const uint8_t *data, size_t size)
{
	struct loft_settings *set;
	string_t *snap;
	char *error = NULL;

	if (settings_snapshot_parse(data, size, &set, &error) < 0) {
		CHECK(error != NULL);
		free(error);
		return;
	}
	snap = str_new(size + 16);
	settings_snapshot_serialize(set, snap);
	check_snapshot(set, snap);
	str_free(&snap);
	settings_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	if (size >= 8 && memcmp(data, "LOFTSET1", 8) == 0)
		fuzz_snapshot(data, size);
	else
		fuzz_config(data, size);
	return 0;
}
