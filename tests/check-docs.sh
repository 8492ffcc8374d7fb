#!/bin/sh
# Every setting flowhoundd knows (from --check-config) is documented in the man page and in
# the example config file. Usage: check-docs.sh FLOWHOUNDD SRCDIR
set -eu
daemon=$1 src=$2
man=$(sed 's/\\//g' "$src/doc/flowhoundd.8")
"$daemon" --check-config --web off | sed -n 's/ = .*//p' | sort -u | while read -r k; do
    printf '%s\n' "$man" | grep -qF -- "--$k" || { echo "not in flowhoundd.8: $k" >&2; exit 1; }
    grep -q "^#* *$k =" "$src/doc/flowhound.conf.example" ||
        { echo "not in flowhound.conf.example: $k" >&2; exit 1; }
done
