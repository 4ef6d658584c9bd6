#!/usr/bin/env bash
# Install the Debian packages loft needs to build, run and test.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
PKGS="build-essential pkg-config meson ninja-build
libevent-dev libssl-dev libsqlite3-dev sqlite3 libsodium-dev libcrypt-dev
libcmocka-dev python3 python3-pytest openssl clang llvm libclang-rt-14-dev strace"
if [ "${1:-}" = "--bench" ]; then
    PKGS="$PKGS dovecot-imapd dovecot-pop3d dovecot-lmtpd"
fi
missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *"install ok installed"*) ;; *) missing="$missing $p";; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "loft needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
