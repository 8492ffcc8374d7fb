#!/bin/sh
# check-vendor.sh [SRCDIR] - the vendored files of the pages (web/static/vendor/) are what was
# committed from upstream: their SHA-256 sums match web/static/vendor/SHA256SUMS.
set -eu
src=${1:-${FH_SRCDIR:-${srcdir:-.}}}
cd "$src/web/static/vendor"
sha256sum --quiet -c SHA256SUMS
