#!/bin/sh
# The whole test suite: install what is missing, build with AddressSanitizer and
# UndefinedBehaviorSanitizer and -Werror in ./build-test and run `make check`, fuzz the
# decoder, then build with ThreadSanitizer in ./build-tsan and run the threaded tests.
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
# ThreadSanitizer, in a build of its own (its runtime excludes ASan's): `make check-threaded`
# runs the tests that run flowhound's threads (receiver, writer, web server, query workers,
# alert delivery), in the test programs and in the daemon and CLI they start. Each report
# (build-tsan/tests/tsan/) fails the run and counts as a failed case; none counts as one passed.
cd ..
mkdir -p build-tsan
cd build-tsan
../configure --enable-tsan --enable-werror --with-shared="$shared"
make -j"$(nproc)"
find . -name '*.trs' -exec rm -f {} +
make -j"$(nproc)" check-threaded || status=1
races=0
for report in tests/tsan/*; do
    [ -f "$report" ] || continue
    n=$(grep -c -E '^(WARNING|ERROR): ThreadSanitizer' "$report" || true)
    races=$((races + (n > 0 ? n : 1)))
done
cd ..
# One closing line over every test case of both builds: Criterion programs report their cases
# in a "Synthesis" line; any other test program (scripts) counts as one case by its result.
summary=$(find build-test build-tsan -name '*.trs' | while read -r trs; do
    log=${trs%.trs}.log
    syn=$(sed -n 's/.*Synthesis: Tested: *[0-9]* | Passing: *\([0-9]*\) | Failing: *\([0-9]*\) | Crashing: *\([0-9]*\).*/\1 \2 \3/p' "$log" | tail -n 1)
    if [ -n "$syn" ]; then
        echo "$syn"
    elif grep -q '^:test-result: \(PASS\|SKIP\)' "$trs"; then
        echo "1 0 0"
    else
        echo "0 1 0"
    fi
done | awk -v fuzz="$fuzz" -v races="$races" '{p += $1; f += $2 + $3}
    END {if (fuzz) f++; else p++; if (races) f += races; else p++
         printf "%d passed, %d failed\n", p, f}')
if [ "$status" -ne 0 ]; then
    grep -h -v '^$' build-test/tests/*.log build-tsan/tests/*.log 2>/dev/null |
        grep -B2 -A8 -E 'Assertion Failed|ERROR|CRASH|FAIL' | tail -200
    cat build-tsan/tests/tsan/* 2>/dev/null | head -200
fi
echo "tests: $summary"
exit "$status"
