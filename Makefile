# Thin wrapper around Meson. See README.md.
BUILD ?= build
TESTBUILD ?= build-test
FUZZBUILD ?= build-fuzz
SECS ?= 60
PYTHON ?= /usr/bin/python3

.PHONY: all deps run test unit integration bench fuzz clean

all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(TESTBUILD)/build.ninja:
	meson setup $(TESTBUILD) --buildtype=debug -Db_sanitize=address,undefined

run: all
	@bash scripts/quickstart.sh $(BUILD)

test: deps $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	@bash scripts/run-tests.sh $(TESTBUILD)

# libFuzzer (clang): each target in tests/fuzz/ for $(SECS) seconds;
# FUZZ_TARGETS="imap-parser smtp" to pick some. See README.md "Fuzzing".
fuzz: deps
	@bash scripts/run-fuzz.sh $(FUZZBUILD) $(SECS) $(FUZZ_TARGETS)

# loft beside a private Debian Dovecot (not part of `make test`); SECS=N
# for a quick run. See bench/README.md.
bench:
	@env $(if $(filter command line environment,$(origin SECS)),SECS=$(SECS),-u SECS) bash bench/run.sh

clean:
	rm -rf $(BUILD) $(TESTBUILD)
