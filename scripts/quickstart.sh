#!/usr/bin/env bash
# `make run`: write a quickstart configuration under ./run (loopback,
# unprivileged ports, a self-signed certificate, one demo user with a
# SHA512-CRYPT password, Maildir under ./run/home), then start loft in
# the foreground.
set -eu
build=${1:-build}
case "$build" in /*) ;; *) build="$(cd "$(dirname "$0")/.." && pwd)/$build";; esac
top=$(cd "$(dirname "$0")/.." && pwd)
run=${LOFT_RUN_DIR:-$top/run}
mkdir -p "$run/home/demo" "$run/ssl"
chmod 755 "$run" "$run/home"

if [ "$(id -u)" = 0 ]; then
	# loft drops root: login processes run as nobody, mail as the demo
	# user's uid (never 0).
	mail_uid=$(id -u nobody); mail_gid=$(id -g nobody)
	login_user=nobody
else
	mail_uid=$(id -u); mail_gid=$(id -g)
	login_user=$(id -un)
fi
chown "$mail_uid:$mail_gid" "$run/home/demo" 2>/dev/null || true

if [ ! -f "$run/ssl/cert.pem" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 365 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$run/ssl/key.pem" -out "$run/ssl/cert.pem" 2>/dev/null
	chmod 600 "$run/ssl/key.pem"
fi
if [ ! -f "$run/demo-password" ]; then
	head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 16 > "$run/demo-password"
	chmod 600 "$run/demo-password"
fi
password=$(cat "$run/demo-password")
hash=$("$build/src/admin/loftadm" pw -s SHA512-CRYPT -p "$password" 2>/dev/null ||
       echo "{SHA512-CRYPT}$(printf '%s' "$password" | openssl passwd -6 -stdin)")
echo "demo:$hash:$mail_uid:$mail_gid::$run/home/demo::" > "$run/users"
chmod 644 "$run/users"

IMAP=${LOFT_IMAP_PORT:-10143}; IMAPS=${LOFT_IMAPS_PORT:-10993}
POP3=${LOFT_POP3_PORT:-10110}; POP3S=${LOFT_POP3S_PORT:-10995}
LMTP=${LOFT_LMTP_PORT:-10024}
cat > "$run/loft.conf" <<CONF
# loft quickstart configuration (Dovecot syntax), written by make run
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = $run/base
log_path = /dev/stderr
ssl = yes
ssl_cert = <$run/ssl/cert.pem
ssl_key = <$run/ssl/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_login_user = $login_user
default_internal_user = $login_user
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $run/users
}
userdb {
  driver = passwd-file
  args = $run/users
}
service imap-login {
  inet_listener imap {
    port = $IMAP
  }
  inet_listener imaps {
    port = $IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $POP3
  }
  inet_listener pop3s {
    port = $POP3S
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
  inet_listener lmtp {
    port = $LMTP
  }
}
CONF

cat <<MSG

loft quickstart (config: run/loft.conf, log below, Ctrl-C stops)
  IMAP   127.0.0.1:$IMAP (STARTTLS)   IMAPS 127.0.0.1:$IMAPS
  POP3   127.0.0.1:$POP3 (STLS)       POP3S 127.0.0.1:$POP3S
  LMTP   127.0.0.1:$LMTP and $run/base/lmtp
  user:     demo
  password: $password

  try: python3 -c "import imaplib,ssl; c=imaplib.IMAP4_SSL('127.0.0.1',$IMAPS,ssl_context=ssl._create_unverified_context()); print(c.login('demo','$password')); print(c.select('INBOX'))"

MSG
exec "$build/src/master/loft" -F -c "$run/loft.conf"
