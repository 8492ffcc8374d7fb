#!/bin/sh
# check-package.sh - the Debian package as an operator gets it (issue 14, doc/operations.md):
#  1. dpkg-buildpackage -us -uc -b on a copy of the source tree (a plain, hardened -O2 build);
#  2. a Debian 12 root made here (mmdebstrap: minbase, systemd, adduser) into which apt
#     installs the .deb: the files, the conffile, the flowhound user (systemd-sysusers; then
#     again by the postinst's adduser fallback, systemd-sysusers hidden), /var/lib/flowhound,
#     the unit enabled, and the installed config accepted by flowhoundd --check-config;
#  3. that root booted with systemd as PID 1 in a container (systemd-nspawn, its own network
#     namespace, so the default ports are free): systemd-analyze verify; flowhound.service
#     running as user flowhound in its sandbox, read from /proc; a corpus pcap replayed and
#     stored; the web UI and API served from the binary; then, each through the sandbox, the
#     low-port drop-in exactly as doc/operations.md gives it, IPFIX and v9 (libfixbuf), HTTPS
#     (GnuTLS), alerts to syslog(3) and to a UDP receiver named by host name; a clean stop;
#  4. systemd-analyze security --offline=true of the unit: its exposure, at most MAX_EXPOSURE.
# Prints the figures: build time, .deb size, installed size, exposure. Needs root, and Debian's
# mirror for mmdebstrap; exits 77 (skipped) without root. Every wait has a deadline.
set -eu

# systemd-analyze security's exposure of the unit as shipped, 1.1 (doc/operations.md), in tenths:
# a change that weakens the sandbox fails here.
MAX_EXPOSURE=11

src=${FH_SRCDIR:?} build=${FH_BUILDDIR:?} shared=${FH_SHARED:?}
[ "$(id -u)" -eq 0 ] || { echo "check-package: needs root (dpkg-buildpackage, a container)"; exit 77; }
for tool in dpkg-buildpackage mmdebstrap systemd-nspawn systemd-analyze nsenter curl sqlite3 \
    openssl python3; do
    command -v "$tool" >/dev/null ||
        { echo "check-package: no $tool (scripts/install-deps.sh --test)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/flowhound-pkg-XXXXXX)
root=$work/root
nspawn_pid=
leader=

log() { printf 'check-package: %s\n' "$*"; }

alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat"; }

ct() { nsenter --target "$leader" --mount --uts --ipc --net --pid --root --wd "$@"; }

# Poweroff (nspawn turns SIGTERM into a clean shutdown of the container), then SIGKILL.
stop_container() {
    [ -n "$nspawn_pid" ] || return 0
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    i=0
    while alive "$nspawn_pid" && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
    alive "$nspawn_pid" && kill -KILL "$nspawn_pid"
    wait "$nspawn_pid" 2>/dev/null || true
    nspawn_pid=
}

cleanup() {
    stop_container
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    log "FAIL: $*"
    if [ -n "$leader" ]; then
        ct systemctl --no-pager status flowhound.service 2>&1 | tail -n 20 || true
        ct journalctl --no-pager -o cat -u flowhound.service 2>&1 | tail -n 30 || true
    fi
    exit 1
}

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds, or fail.
wait_for() {
    secs=$1 what=$2
    end=$(($(date +%s) + secs))
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || fail "$what (waited ${secs}s)"
        sleep 0.2
    done
}

# ---- 1. the package ----

# The tracked and new files of the source tree, not its builds (ignored by .gitignore).
copy_source() {
    mkdir "$work/src"
    if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$src" ls-files -z --cached --others --exclude-standard |
            tar -C "$src" --null -T - --ignore-failed-read -cf - 2>/dev/null |
            tar -C "$work/src" -xf -
    else
        tar -C "$src" --exclude-vcs --exclude='./build*' -cf - . | tar -C "$work/src" -xf -
    fi
}

build_package() {
    copy_source
    version=$(cd "$work/src" && dpkg-parsechangelog -S Version)
    built=$("$build/flowhoundd" --version | cut -d' ' -f2)
    [ "$version" = "$built" ] || fail "debian/changelog says $version, flowhoundd --version $built"
    t0=$(date +%s)
    (cd "$work/src" && DEB_BUILD_OPTIONS="parallel=$(nproc) noddebs" \
        timeout 900 dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
        { tail -n 40 "$work/build.log"; fail "dpkg-buildpackage"; }
    build_s=$(($(date +%s) - t0))
    deb=$work/flowhound_${version}_$(dpkg --print-architecture).deb
    [ -f "$deb" ] || fail "no $deb"
    log "built $(basename "$deb") in ${build_s}s ($(stat -c %s "$deb") bytes)"
}

# ---- 2. installed into a Debian 12 root ----

# apt installs the package with its dependencies as on a real system; adduser is hidden
# meanwhile, so the user can only come from systemd-sysusers.
mmdebstrap_root() {
    rm -rf "$root"
    # shellcheck disable=SC2086 # $mirror: empty means mmdebstrap's default mirror
    # force-unsafe-io: no fsync for a throwaway root, half the time on a busy disk.
    timeout 600 mmdebstrap --variant=minbase --include=systemd,adduser \
        --dpkgopt=force-unsafe-io \
        --customize-hook="copy-in $deb /tmp" \
        --customize-hook='chroot "$1" mv /usr/sbin/adduser /usr/sbin/adduser.hidden' \
        --customize-hook="chroot \"\$1\" apt-get install -y /tmp/$(basename "$deb")" \
        --customize-hook='chroot "$1" mv /usr/sbin/adduser.hidden /usr/sbin/adduser' \
        bookworm "$root" $mirror >"$work/root.log" 2>&1
}

make_root() {
    mirror=${FH_DEBIAN_MIRROR:-}
    [ -n "$mirror" ] || [ ! -s /etc/apt/sources.list.d/debian.sources ] ||
        mirror=/etc/apt/sources.list.d/debian.sources
    t0=$(date +%s)
    # A mirror's hiccup should not fail the test: one more try, said in the log.
    if ! mmdebstrap_root; then
        tail -n 5 "$work/root.log"
        log "mmdebstrap failed, trying again"
        mmdebstrap_root ||
            { tail -n 40 "$work/root.log"; fail "mmdebstrap and the package's installation"; }
    fi
    log "Debian 12 root with the package installed in $(($(date +%s) - t0))s"
    sed -n '/Setting up flowhound/,/^Processing/p' "$work/root.log"
}

in_root() { chroot "$root" "$@"; }

check_installed() {
    for f in usr/sbin/flowhoundd usr/bin/flowhound lib/systemd/system/flowhound.service \
        usr/lib/sysusers.d/flowhound.conf etc/flowhound/flowhound.conf \
        usr/share/man/man8/flowhoundd.8.gz usr/share/man/man1/flowhound.1.gz \
        usr/share/man/man5/flowhound.conf.5.gz usr/share/doc/flowhound/flowhound.conf.example; do
        [ -f "$root/$f" ] || fail "not installed: /$f"
    done
    in_root dpkg-query -W -f='${Conffiles}\n' flowhound | grep -q ' /etc/flowhound/flowhound.conf ' ||
        fail "/etc/flowhound/flowhound.conf is not a conffile"
    grep -qx 'db = /var/lib/flowhound/flows.db' "$root/etc/flowhound/flowhound.conf" ||
        fail "the installed config does not store in /var/lib/flowhound"
    in_root flowhoundd -c /etc/flowhound/flowhound.conf --check-config >/dev/null ||
        fail "flowhoundd --check-config refuses the installed config"
    check_user "systemd-sysusers"
    [ "$(stat -c '%u %a' "$root/var/lib/flowhound")" = "$(in_root id -u flowhound) 700" ] ||
        fail "/var/lib/flowhound is not the user's, mode 0700"
    [ -L "$root/etc/systemd/system/multi-user.target.wants/flowhound.service" ] ||
        fail "flowhound.service is not enabled"
    size_kib=$(in_root dpkg-query -W -f='${Installed-Size}' flowhound)
    log "installed: $size_kib KiB; user $(in_root getent passwd flowhound)"
}

# A system user with no login shell, home /var/lib/flowhound, a group of its own.
check_user() {
    pw=$(in_root getent passwd flowhound) || fail "$1 made no flowhound user"
    uid=$(echo "$pw" | cut -d: -f3) gid=$(echo "$pw" | cut -d: -f4)
    [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] || fail "flowhound is not a system user: $pw"
    [ "$(echo "$pw" | cut -d: -f6-)" = "/var/lib/flowhound:/usr/sbin/nologin" ] ||
        fail "flowhound's home and shell: $pw"
    [ "$(in_root getent group flowhound | cut -d: -f3)" = "$gid" ] ||
        fail "flowhound's group is not its own"
}

# Without systemd-sysusers (a system without systemd) the postinst makes the user itself.
check_adduser_fallback() {
    in_root userdel flowhound
    in_root mv /usr/bin/systemd-sysusers /usr/bin/systemd-sysusers.hidden
    rc=0
    DPKG_MAINTSCRIPT_PACKAGE=flowhound DPKG_MAINTSCRIPT_NAME=postinst \
        in_root /var/lib/dpkg/info/flowhound.postinst configure "$version" || rc=$?
    in_root mv /usr/bin/systemd-sysusers.hidden /usr/bin/systemd-sysusers
    [ $rc -eq 0 ] || fail "the postinst without systemd-sysusers exits $rc"
    check_user "the postinst's adduser fallback"
}

# ---- 3. booted, the service started by systemd ----

# The container's systemd (nspawn's child once it has exec'd) answers on its bus.
container_manager_up() {
    leader=$(pgrep -P "$nspawn_pid" -x systemd) || return 1
    up=$(ct systemctl is-system-running 2>/dev/null) || true
    [ -n "$up" ] && [ "$up" != offline ]
}

boot() {
    systemd-nspawn --quiet --directory="$root" --machine="flowhound-pkg-$$" --boot \
        --register=no --keep-unit --private-network --console=pipe \
        </dev/null >"$work/nspawn.log" 2>&1 &
    nspawn_pid=$!
    wait_for 30 "systemd did not start in the container" container_manager_up
    state=$(ct timeout 60 systemctl is-system-running --wait || true)
    log "container booted: $state"
    case $state in
    running | degraded) ;;
    *) cat "$work/nspawn.log"; fail "the container's systemd is $state" ;;
    esac
    ct systemctl --no-pager --no-legend --failed
    # --man=no: man-db is not in the root; the pages are checked as files above.
    ct systemd-analyze verify --man=no flowhound.service ||
        fail "systemd-analyze verify flowhound.service"
}

reloaded() {
    [ "$(ct systemctl show -p ActiveState --value flowhound.service)" = active ] &&
        ct systemctl show -p StatusText --value flowhound.service | grep -q 'reloaded'
}

journal_has() { ct journalctl -o cat -u flowhound.service | grep -q -- "$1"; }

# stored VERSION N: the store holds at least N flows of that export version.
stored() {
    [ "$(sqlite3 "$root/var/lib/flowhound/flows.db" \
        "SELECT count(*) FROM flows WHERE version = $1")" -ge "$2" ]
}

replay() { nsenter --target "$leader" --net python3 "$shared/tools/replay/replay" "$@" >/dev/null; }

# FIELD: that line of /proc/PID/status of the service's main process, blanks squeezed.
proc_status() {
    pid=$(ct systemctl show -p MainPID --value flowhound.service)
    ct sed -n "s/^$1:[[:space:]]*//p" "/proc/$pid/status" | tr -s '[:space:]' ' ' | sed 's/ $//'
}

expect_status() {
    got=$(proc_status "$1")
    [ "$got" = "$2" ] || fail "flowhoundd's $1 is '$got', not '$2'"
}

no_errors() {
    ! ct journalctl -o cat -u flowhound.service | grep -F '[error]' || fail "flowhoundd logged errors"
    [ -z "$(ct journalctl -o cat -p err -u flowhound.service)" ] || fail "errors in the journal"
}

# As installed: the packaged config, the unit as shipped.
check_service() {
    wait_for 30 "flowhound.service did not start" journal_has 'storing flows in'
    uid=$(in_root id -u flowhound) gid=$(in_root id -g flowhound)
    expect_status Uid "$uid $uid $uid $uid"
    expect_status Gid "$gid $gid $gid $gid"
    expect_status CapEff 0000000000000000
    expect_status CapBnd 0000000000000000
    expect_status NoNewPrivs 1
    expect_status Seccomp 2
    log "flowhoundd runs as flowhound ($uid:$gid), no capability, no_new_privs, seccomp"

    replay "$shared/corpus/v5_mikrotik.pcap" --port 2055 --pps 1000
    wait_for 20 "the replayed flows were not stored" stored 5 30
    ct runuser -u flowhound -- flowhound query -r /var/lib/flowhound/flows.db -n 1 | grep -q . ||
        fail "flowhound query as the user"
    web=http://127.0.0.1:8080
    nsenter --target "$leader" --net curl -sf "$web/" | grep -qi '<html' ||
        fail "the web UI's page is not served"
    nsenter --target "$leader" --net curl -sf "$web/api/v1/flows?limit=1" | grep -q '"src_addr"' ||
        fail "the API does not read the store"
    no_errors
    log "a replayed pcap is stored, queried by the CLI, served by the web UI"

    # ExecReload= through the unit: systemctl waits for RELOADING=1 and READY=1 (Type=notify).
    ct timeout 30 systemctl reload flowhound.service || fail "systemctl reload flowhound"
    wait_for 10 "the reload was not logged" journal_has 'reload: reading'
    # kill(1) returns at once; the unit is "reloading" from RELOADING=1 to READY=1.
    wait_for 15 "flowhound.service did not come back from reloading" reloaded
    no_errors
    log "systemctl reload: re-read, still running"
}

# An operator's changes, each of which the sandbox must allow: a port below 1024 with the
# drop-in of doc/operations.md (copied from the page itself), HTTPS (GnuTLS) with a key only
# the flowhound group reads, alerts to syslog(3) and to a UDP receiver by host name.
configure_more() {
    dropin=/etc/systemd/system/flowhound.service.d/low-ports.conf
    mkdir -p "$root${dropin%/*}"
    sed -n "\\|^# $dropin\$|,/^\`\`\`\$/p" "$src/doc/operations.md" | sed '$d' >"$root$dropin"
    grep -q '^AmbientCapabilities=CAP_NET_BIND_SERVICE$' "$root$dropin" ||
        fail "no low-port drop-in in doc/operations.md"
    etc=$root/etc/flowhound
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -days 1 -keyout "$etc/web.key" -out "$etc/web.pem" >/dev/null 2>&1
    chgrp "$gid" "$etc/web.key" && chmod 0640 "$etc/web.key"
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts" # minbase has none
    printf '%s\n' 'listen = 0.0.0.0:514' 'web-cert = /etc/flowhound/web.pem' \
        'web-key = /etc/flowhound/web.key' 'alert-syslog = local' \
        'alert-syslog = udp://localhost:5514' >>"$etc/flowhound.conf"
    ct systemctl daemon-reload
    ct systemctl restart flowhound.service
}

# The first datagram a UDP receiver on port 5514 gets, in $work/udp-syslog.
udp_receiver() {
    nsenter --target "$leader" --net timeout 60 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 5514))
sys.stdout.write(s.recv(65535).decode(errors="replace"))' >"$work/udp-syslog" 2>&1 &
}

check_configured() {
    wait_for 30 "flowhoundd did not listen on port 514 with the drop-in" \
        journal_has 'listening on UDP 0.0.0.0:514'
    expect_status Uid "$uid $uid $uid $uid"
    expect_status CapEff 0000000000000400
    log "with the drop-in: port 514, as flowhound, CAP_NET_BIND_SERVICE only"
    replay "$shared/corpus/ipfix_yaf.pcap" "$shared/corpus/v9_cisco_asr9k.pcap" --port 514 \
        --pps 1000 --exporter-base 127.0.2.
    wait_for 20 "IPFIX flows (libfixbuf) were not stored" stored 10 1
    wait_for 20 "NetFlow v9 flows were not stored" stored 9 1
    nsenter --target "$leader" --net curl -sfk "https://127.0.0.1:8080/api/v1/flows?limit=1" |
        grep -q '"src_addr"' || fail "HTTPS (GnuTLS) does not answer"
    udp_receiver
    replay "$shared/scenarios/story/merged.v5.pcap" --port 2055 --pps 2000 --exporter-base 127.0.3.
    wait_for 30 "no alert reached syslog(3)" journal_has 'alert 1 opened stale_state'
    wait_for 30 "no alert reached the UDP receiver" grep -q 'flowhound@32473' "$work/udp-syslog"
    no_errors
    log "IPFIX and v9 stored, HTTPS served, alerts sent to syslog(3) and udp://localhost"
}

check_stop() {
    ct timeout 200 systemctl stop flowhound.service
    result=$(ct systemctl show -p Result --value flowhound.service)
    status=$(ct systemctl show -p ExecMainStatus --value flowhound.service)
    [ "$result $status" = "success 0" ] || fail "flowhoundd's stop: $result, exit status $status"
    ct journalctl -o cat -u flowhound.service | grep -q 'stopped: .* flows stored' ||
        fail "no closing line"
}

# ---- 4. the unit's exposure ----

check_security() {
    unit=$root/lib/systemd/system/flowhound.service
    out=$(systemd-analyze security --no-pager --offline=true --threshold="$MAX_EXPOSURE" \
        "$unit" 2>&1) || { printf '%s\n' "$out" | grep -e '✗' -e Overall || true
        fail "exposure over $MAX_EXPOSURE tenths"; }
    exposure=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: //p')
    [ -n "$exposure" ] || fail "no exposure in systemd-analyze security's output"
    log "systemd-analyze security --offline=true: $exposure"
}

build_package
make_root
check_installed
check_adduser_fallback
boot
check_service
configure_more
check_configured
check_stop
check_security
stop_container
log "figures: build ${build_s}s, .deb $(stat -c %s "$deb") bytes, installed $size_kib KiB," \
    "exposure $exposure"
