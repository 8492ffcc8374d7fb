#!/bin/sh
# See it work: the story of the project (DEVELOPERS.md) through the real daemon, from real
# exporters. Starts flowhoundd on free loopback ports with a temporary store, plays the
# story's two packet captures (outside and inside the firewall) through Debian's softflowd
# with a router's timers, prints the alerts in plain words and where to look in the web UI,
# and leaves the daemon running (or stops it: --stop).
#
#   scripts/demo.sh [--stop] [--version 5|9|10] [--build DIR] [--dir DIR]
#
#   --stop       stop flowhoundd once the alerts are printed (the store goes with the
#                temporary directory, unless --dir was given)
#   --version    what softflowd exports: NetFlow v5, v9 (default) or IPFIX (10)
#   --build DIR  where flowhoundd was built (default: this tree, built as scripts/run.sh
#                builds it, and built now if it is not)
#   --dir DIR    working directory for the store and the logs (default: a new one in /tmp)
#
# The captures are read from ../shared/scenarios/story (or $FH_SHARED/scenarios/story).
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)

stop=no version=9 build="" dir=""
while [ $# -gt 0 ]; do
    case $1 in
    --stop) stop=yes ;;
    --version) version=${2:?--version needs 5, 9 or 10}; shift ;;
    --build) build=${2:?--build needs a directory}; shift ;;
    --dir) dir=${2:?--dir needs a directory}; shift ;;
    -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

story=${FH_SHARED:-$src/../shared}/scenarios/story
if [ ! -f "$story/outside.pcap" ] || [ ! -f "$story/inside.pcap" ]; then
    echo "demo.sh: the story's captures are not in $story" >&2
    echo "         (put shared/ beside the source tree, or set FH_SHARED=DIR)" >&2
    exit 1
fi

# ---- build what is missing, as the README's set-up does ----
if [ -z "$build" ]; then
    build=$src
    if [ ! -x "$build/flowhoundd" ] || [ ! -x "$build/demo/softflowd-feed" ] ||
        ! command -v softflowd >/dev/null 2>&1; then
        echo "demo: installing what is missing and building flowhound (once)..."
        scripts/install-deps.sh --demo
        [ -x configure ] || ./bootstrap
        [ -f Makefile ] || ./configure
        make -j"$(nproc)" flowhoundd demo/softflowd-feed
    fi
fi
for prog in "$build/flowhoundd" "$build/demo/softflowd-feed"; do
    [ -x "$prog" ] || { echo "demo.sh: $prog is not built" >&2; exit 1; }
done
softflowd=$(command -v softflowd || true)
[ -n "$softflowd" ] || { echo "demo.sh: softflowd is missing: scripts/install-deps.sh --demo" >&2; exit 1; }

# ---- the daemon, on free ports, with a store of its own ----
keep_dir=yes
if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/flowhound-demo.XXXXXX")
    keep_dir=no
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
db=$dir/flowhound.db
rm -f "$dir/ready" "$db" "$db-wal" "$db-shm"

# The inside tap's exporter is on the server side of the firewall: it tells who answered.
outside=127.0.1.1 inside=127.0.1.2
# In a session of its own: it outlives this script and the terminal's Ctrl-C.
setsid "$build/flowhoundd" --db "$db" --listen 127.0.0.1:0 --web 127.0.0.1:0 \
    --ready-file "$dir/ready" --pidfile "$dir/flowhoundd.pid" --vantage-inner "$inside" \
    --commit-interval 0.2s </dev/null >"$dir/flowhoundd.log" 2>&1 &
pid=$!

fail() {
    echo "demo.sh: $*" >&2
    echo "--- $dir/flowhoundd.log:" >&2
    tail -n 20 "$dir/flowhoundd.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    exit 1
}

waited=0
until [ -s "$dir/ready" ]; do
    kill -0 "$pid" 2>/dev/null || fail "flowhoundd did not start"
    [ $waited -lt 100 ] || fail "flowhoundd did not become ready in 10 s"
    sleep 0.1
    waited=$((waited + 1))
done
pid=$(cat "$dir/flowhoundd.pid")
udp=$(awk '$1 == "listen" { print $3; exit }' "$dir/ready")
web=$(awk '$1 == "web" { print $2; exit }' "$dir/ready")
echo "demo: flowhoundd (pid $pid) listens on UDP 127.0.0.1:$udp, web UI http://$web/"

# ---- the story through softflowd, one exporter per tap ----
echo "demo: the story's packets through softflowd (NetFlow v$version; idle timeout 15 s, as a router):"
"$build/demo/softflowd-feed" --port "$udp" --version "$version" --softflowd "$softflowd" \
    --log "$dir/softflowd.log" "$outside=$story/outside.pcap" "$inside=$story/inside.pcap" \
    >"$dir/feed.log" || fail "softflowd-feed failed (see $dir/softflowd.log)"
sed 's/^/  /' "$dir/feed.log"

# ---- the alerts, once the analyzer has raised both (2 s hold for the other tap) ----
sql() { sqlite3 -batch "$db" "$1" 2>/dev/null || true; }
waited=0
until [ "$(sql "SELECT count(*) FROM alerts WHERE kind = 'stale_state'")" = 2 ]; do
    [ $waited -lt 300 ] || fail "no alert within 30 s"
    sleep 0.1
    waited=$((waited + 1))
done

# Plain words: who answered, why, and what happened; exporters named by their tap.
name_taps() { sed "s|$outside/0|the outside tap ($outside)|g; s|$inside/0|the inside tap ($inside)|g"; }
echo
echo "flowhound raised these alerts:"
sql "SELECT printf(char(10) || '  Alert %d (%s): %s:%d could not connect to %s:%d' ||
        char(10) || '    %d SYNs from port %d failed between %s and %s UTC, answered by bare ACKs of an old connection' ||
        char(10) || '    that ended at %s UTC without FIN or RST.' ||
        char(10) || '    Who answered: %s.' ||
        char(10) || '    Why: %s.' || '%s',
        id, state, client_addr, client_port, server_addr, server_port,
        attempts, client_port,
        strftime('%Y-%m-%d %H:%M:%S', opened_ms / 1000, 'unixepoch'),
        strftime('%H:%M:%S', updated_ms / 1000, 'unixepoch'),
        strftime('%Y-%m-%d %H:%M:%S', json_extract(evidence, '$.stale_since_ms') / 1000, 'unixepoch'),
        CASE holder WHEN 'middlebox' THEN 'the FIREWALL between the taps (it still held the old connection)'
                    WHEN 'server' THEN 'the SERVER (it still held the old connection)'
                    ELSE 'someone on the path (one tap alone cannot tell who)' END,
        json_extract(evidence, '$.holder.why'),
        CASE state WHEN 'resolved' THEN char(10) || '    Resolved (' ||
                        json_extract(evidence, '$.resolved_because') || ').'
                   ELSE '' END)
     FROM alerts WHERE kind = 'stale_state' ORDER BY id" | name_taps

client=$(sql "SELECT client_addr FROM alerts WHERE kind = 'stale_state' ORDER BY id LIMIT 1")
cport=$(sql "SELECT client_port FROM alerts WHERE kind = 'stale_state' ORDER BY id LIMIT 1")
last=$(sql "SELECT max(id) FROM alerts WHERE kind = 'stale_state'")
echo
echo "See the client port's history (both nights, the connection that never closed, each failed"
echo "attempt) and the alerts in the web UI:"
echo "  http://$web/port?client=$client&port=$cport"
echo "  http://$web/alerts/$last"
echo

if [ "$stop" = yes ]; then
    kill "$pid"
    waited=0
    while kill -0 "$pid" 2>/dev/null; do
        [ $waited -lt 100 ] || { echo "demo.sh: flowhoundd did not stop in 10 s" >&2; exit 1; }
        sleep 0.1
        waited=$((waited + 1))
    done
    if [ "$keep_dir" = no ]; then
        rm -rf "$dir"
        echo "demo: flowhoundd stopped and its temporary store removed."
    else
        echo "demo: flowhoundd stopped; the store is $db"
    fi
else
    echo "flowhoundd keeps running (pid $pid, store $db, log $dir/flowhoundd.log)."
    if [ "$keep_dir" = no ]; then
        echo "Stop it and remove its files:  kill $pid; rm -r $dir"
    else
        echo "Stop it:  kill $pid"
    fi
fi
