#!/bin/sh
# Quick start: install what is missing, build, and run flowhoundd with its defaults
# (./flowhound.db, UDP 2055 and 4739, web UI on 127.0.0.1:8080). Extra arguments go to
# flowhoundd, e.g. scripts/run.sh --listen [::]:2055
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x configure ] || ./bootstrap
[ -f Makefile ] || ./configure
make -j"$(nproc)"
exec ./flowhoundd "$@"
