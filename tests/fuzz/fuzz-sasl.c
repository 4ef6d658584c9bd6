/* Fuzz target for the SASL mechanisms (src/lib-auth/sasl.h) and the
   base64 decoding the login processes do before them. Input layout:
   byte 0 picks the mechanism (bit 0: PLAIN/LOGIN, bit 1: no initial
   response, bit 2: responses are base64 text to decode first); then
   responses, each a length byte and that many bytes. The exchange runs
   until done or failed; credentials must respect the limits and, for
   PLAIN, be what the client sent.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include "fuzz-common.h"
#include "lib.h"
#include "sasl.h"
#include <strings.h>

static bool mem_contains(const uint8_t *hay, size_t size, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return true;
	for (size_t i = 0; i + n <= size; i++) {
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl_mech *mech;
	const char *challenge, *user, *pass, *error;
	bool done = false, first = true;
	size_t pos = 1;
	string_t *decoded;

	if (size == 0)
		return 0;
	decoded = str_new(256);
	mech = sasl_mech_create((data[0] & 1) == 0 ? "plain" : "LOGIN");
	CHECK(mech != NULL);
	CHECK(strcasecmp(sasl_mech_name(mech),
			 (data[0] & 1) == 0 ? "PLAIN" : "LOGIN") == 0);
	CHECK(sasl_mech_create("NOSUCH") == NULL);
	for (unsigned int round = 0; round < 16 && !done; round++) {
		const uint8_t *resp = NULL;
		size_t len = 0;
		int ret;

		if (first && (data[0] & 2) != 0) {
			/* no initial response */
		} else {
			if (pos >= size)
				break;
			len = data[pos++];
			if (len > size - pos)
				len = size - pos;
			resp = data + pos;
			pos += len;
			if ((data[0] & 4) != 0) {
				str_truncate(decoded, 0);
				if (base64_decode((const char *)resp, len,
						  decoded) < 0)
					break;
				resp = str_data(decoded);
				len = str_len(decoded);
			}
		}
		first = false;
		challenge = user = pass = error = NULL;
		ret = sasl_mech_input(mech, resp == NULL && len == 0 &&
				      round > 0 ? (const uint8_t *)"" : resp,
				      len, &challenge, &done, &user, &pass,
				      &error);
		if (ret < 0) {
			CHECK(error != NULL);
			break;
		}
		CHECK(ret == 0);
		if (!done) {
			CHECK(challenge != NULL);
			continue;
		}
		CHECK(user != NULL && pass != NULL);
		CHECK(strlen(user) <= SASL_MAX_USER_LEN);
		CHECK(strlen(pass) <= SASL_MAX_PASSWORD_LEN);
		CHECK(user[0] != '\0');
		if ((data[0] & 5) == 0) {
			/* PLAIN, raw responses: both came from the input */
			CHECK(mem_contains(data, size, user));
			CHECK(mem_contains(data, size, pass));
		}
	}
	sasl_mech_destroy(&mech);
	CHECK(mech == NULL);
	str_free(&decoded);
	return 0;
}
