#!/bin/sh
# Installs what flowhound needs on Debian 12, only what is missing.
#   scripts/install-deps.sh          build and run
#   scripts/install-deps.sh --demo   also what scripts/demo.sh needs (softflowd)
#   scripts/install-deps.sh --test   also what the test suite needs
set -eu

BUILD="gcc make autoconf automake pkg-config libc6-dev
libsqlite3-dev libfixbuf-dev libmicrohttpd-dev libjansson-dev libgnutls28-dev libcurl4-gnutls-dev
zlib1g-dev"
RUN="sqlite3"
# prometheus: for promtool, which checks /metrics as Prometheus reads it (12 packages, 19 MB
# to download, 96 MB installed, about 10 s, measured on Debian 12).
# clickhouse-server: tests/test_clickhouse.c starts its own servers (the ClickHouse store).
DEMO="softflowd"
TEST="libcriterion-dev clickhouse-server clickhouse-client python3 softflowd tshark rsyslog
rsyslog-gnutls gnutls-bin clang libclang-rt-14-dev chromium chromium-driver nodejs openssl nfdump
prometheus groff-base build-essential dpkg-dev debhelper dh-autoreconf mmdebstrap systemd
systemd-container curl"

pkgs="$BUILD $RUN"
[ "${1:-}" = "--demo" ] && pkgs="$pkgs $DEMO"
[ "${1:-}" = "--test" ] && pkgs="$pkgs $TEST"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
# tshark asks whether non-root users may capture; the answer does not matter to us.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
