#!/bin/sh
# The whole test suite: install what is missing, build with AddressSanitizer and
# UndefinedBehaviorSanitizer and -Werror in ./build-test, and run `make check`.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
shared=${FH_SHARED:-$(cd .. && pwd)/shared}
if [ ! -d "$shared/corpus" ]; then
    echo "test.sh: the tests need the shared corpus and scenarios at $shared" >&2
    echo "         (put shared/ beside the source tree, or set FH_SHARED=DIR)" >&2
    exit 1
fi
./bootstrap
mkdir -p build-test
cd build-test
../configure --enable-sanitizers --enable-werror --with-shared="$shared"
make -j"$(nproc)"
status=0
make -j"$(nproc)" check || status=$?
# A bounded libFuzzer run over the packet decoder (v5/v9/IPFIX): about 2 minutes, fails on
# any crash, leak, timeout or sanitizer report (findings: build-test/fuzz/crashes/).
fuzz=0
make fuzz-ci || { fuzz=1; status=1; }
# One closing line over every test case: Criterion programs report their cases in a
# "Synthesis" line; any other test program (scripts) counts as one case by its result.
summary=$(find . -name '*.trs' | while read -r trs; do
    log=${trs%.trs}.log
    syn=$(sed -n 's/.*Synthesis: Tested: *[0-9]* | Passing: *\([0-9]*\) | Failing: *\([0-9]*\) | Crashing: *\([0-9]*\).*/\1 \2 \3/p' "$log" | tail -n 1)
    if [ -n "$syn" ]; then
        echo "$syn"
    elif grep -q '^:test-result: \(PASS\|SKIP\)' "$trs"; then
        echo "1 0 0"
    else
        echo "0 1 0"
    fi
done | awk -v fuzz="$fuzz" '{p += $1; f += $2 + $3}
    END {if (fuzz) f++; else p++; printf "%d passed, %d failed\n", p, f}')
if [ "$status" -ne 0 ]; then
    grep -h -v '^$' tests/*.log 2>/dev/null | grep -B2 -A8 -E 'Assertion Failed|ERROR|CRASH|FAIL' | tail -200
fi
echo "tests: $summary"
exit "$status"
