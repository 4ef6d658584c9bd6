#!/usr/bin/env bash
# `make bench`: build loft optimized, make sure Debian's Dovecot is there,
# and run bench/bench.py (loft beside a private Dovecot instance).
# SECS=N for a quick run (every timed scenario N seconds, LMTP 2000
# messages, idle10k 2000 connections, big100k 20000 messages); RUNS=N
# (default 3); SCENARIOS="imap20 imap200 imaps20 lmtp tls tlshs pop3 pop3s
# idle10k big100k" (a subset); IDLE_CONNS=N, BIG_MSGS=N, IDLE_RUNS=N.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BENCHBUILD:-../build-bench}

# Debian's dovecot packages. Their own system instance is never started
# here: no systemd in this environment, and /usr/sbin/policy-rc.d (101)
# keeps the postinst from starting it; we do not touch it either way.
if [ ! -x /usr/sbin/dovecot ]; then
    if [ "$(id -u)" = 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    bash scripts/install-deps.sh --bench
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
fi

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" --buildtype=release -Db_sanitize=none >/dev/null
fi
# only the binaries the benchmark runs (not fuzzers or tests)
ninja -C "$BUILD" src/master/loft src/login/loft-login src/auth/loft-auth \
    src/imap/loft-imap src/pop3/loft-pop3 src/lmtp/loft-lmtp \
    bench/loft-loadgen >"$BUILD/bench-ninja.log" 2>&1 || {
    cat "$BUILD/bench-ninja.log" >&2; exit 1; }

exec /usr/bin/python3 bench/bench.py "$BUILD"
