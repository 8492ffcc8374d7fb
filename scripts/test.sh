#!/bin/sh
# The whole test suite: install what is missing, build with AddressSanitizer and
# UndefinedBehaviorSanitizer and -Werror in ./build-test, and run `make check`.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
./bootstrap
mkdir -p build-test
cd build-test
../configure --enable-sanitizers --enable-werror
make -j"$(nproc)"
make -j"$(nproc)" check || { cat tests/*.log 2>/dev/null | grep -v '^$' | tail -200; exit 1; }
