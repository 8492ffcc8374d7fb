#!/bin/sh
# check-layers-selftest.sh - check-layers.sh must fail on each kind of back-edge: a copy of
# the source tree with one deliberately added, and the message must name it.
set -u
src=${FH_SRCDIR:-${srcdir:-.}}
check=$src/tests/check-layers.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-layers-selftest: $*" >&2; exit 1; }

copy() {
    rm -rf "$tmp/src"
    mkdir -p "$tmp/src"
    for d in common collector storage query alerts web daemon cli; do
        cp -r "$src/$d" "$tmp/src/$d"
    done
}

copy
sh "$check" "$tmp/src" "" 2>/dev/null || fail "the unmodified tree fails"

expect_failure() { # FILE LINE WORDS: add LINE to FILE, expect a failure naming WORDS
    copy
    echo "$2" >>"$tmp/src/$1"
    out=$(sh "$check" "$tmp/src" "" 2>&1) && fail "$1 with '$2' passed"
    echo "$out" | grep -qF "$3" || fail "$1 with '$2': message '$out' does not say '$3'"
}
expect_failure common/addr.h '#include "collector/exporters.h"' "common/addr.h includes collector/exporters.h"
expect_failure storage/store.c '#include "query/query.h"' "storage may not include query"
expect_failure alerts/analyzer.c '#include "web/web.h"' "alerts may not include web"
expect_failure cli/query.c '#include "daemon/hooks.h"' "cli may not include daemon"
expect_failure web/server.c '#include "tests/helpers.h"' "web may not include tests"
expect_failure query/query.c '#include "storage/store_int.h"' "private to storage/"
echo "check-layers-selftest: every added back-edge was found"
