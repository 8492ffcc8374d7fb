#!/bin/sh
# Every setting flowhoundd knows is documented in flowhoundd.8, in the example config file and
# in flowhound.conf(5). The last is generated from the settings table (doc/conf_man.c) beside
# FLOWHOUNDD in the build tree, so its list of keys is the whole table: it must hold every key
# --check-config prints (those with a value) and render without a groff warning, and the other
# two must name each of its keys. Usage: check-docs.sh FLOWHOUNDD SRCDIR
set -eu
daemon=$1 src=$2
conf5=$(dirname "$daemon")/doc/flowhound.conf.5
[ -f "$conf5" ] || { echo "not built: $conf5" >&2; exit 1; }
keys=$(sed -n 's/\\-/-/g; s/^\\fB\([a-z-]*\)\\fR = .*/\1/p' "$conf5")
for k in $("$daemon" --check-config --web off | sed -n 's/ = .*//p' | sort -u); do
    printf '%s\n' "$keys" | grep -qx -- "$k" || { echo "not in flowhound.conf.5: $k" >&2; exit 1; }
done
man=$(sed 's/\\//g' "$src/doc/flowhoundd.8")
for k in $keys; do
    printf '%s\n' "$man" | grep -qF -- "--$k" || { echo "not in flowhoundd.8: $k" >&2; exit 1; }
    grep -q "^#* *$k =" "$src/doc/flowhound.conf.example" ||
        { echo "not in flowhound.conf.example: $k" >&2; exit 1; }
done
warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z "$conf5" 2>&1)
[ -z "$warnings" ] || { printf 'flowhound.conf.5: %s\n' "$warnings" >&2; exit 1; }
