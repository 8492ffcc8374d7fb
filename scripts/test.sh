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
make -j"$(nproc)" check || { cat tests/*.log 2>/dev/null | grep -v '^$' | tail -200; exit 1; }
