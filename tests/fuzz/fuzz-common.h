#ifndef LOFT_FUZZ_COMMON_H
#define LOFT_FUZZ_COMMON_H
/* Shared by the fuzz targets in tests/fuzz/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant of the code under test: abort (a "crash" for libFuzzer
   and for the replay test) when it does not hold. */
#define CHECK(expr) do { if (!(expr)) { \
	fprintf(stderr, "invariant failed: %s (%s:%d)\n", #expr, \
		__FILE__, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
