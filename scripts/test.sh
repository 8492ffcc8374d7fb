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
# A bounded libFuzzer run over the packet decoder (v5/v9/IPFIX, issue 4): about 2 minutes,
# fails on any crash, leak, timeout or sanitizer report (findings: build-test/fuzz/crashes/).
make fuzz-ci
