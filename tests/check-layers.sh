#!/bin/sh
# check-layers.sh [SRCDIR [BUILDDIR]] - the layers of DEVELOPERS.md, enforced:
#
#   common -> collector -> storage -> query -> alerts -> web -> daemon | cli
#
# 1. No #include runs back up: a file of a layer includes headers of its own layer or of
#    layers below it; daemon/ and cli/ (the programs) include any layer but not each other;
#    no layer includes tests/, bench/ or fuzz/.
# 2. A private header (*_int.h) is included only from its own folder.
# 3. With BUILDDIR (default: $FH_BUILDDIR; "" for none, as the selftest passes): no layer's
#    library needs a symbol that only a layer above defines.
# Prints every violation and exits 1 if there is one.
set -u
src=${1:-${FH_SRCDIR:-${srcdir:-.}}}
build=${2-${FH_BUILDDIR:-}}
layers="common collector storage query alerts web"

rank() {
    r=0
    for l in $layers; do
        [ "$l" = "$1" ] && { echo "$r"; return; }
        r=$((r + 1))
    done
    case $1 in daemon | cli) echo 100 ;; *) echo 200 ;; esac
}

bad=0
for dir in $layers daemon cli; do
    [ -d "$src/$dir" ] || continue
    from=$(rank "$dir")
    for f in "$src/$dir"/*.c "$src/$dir"/*.h; do
        [ -f "$f" ] || continue
        rel=$dir/${f##*/}
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\/[^"]*\)".*/\1/p' "$f"); do
            to_dir=${inc%%/*}
            to=$(rank "$to_dir")
            if [ "$to" -eq 200 ] || { [ "$to" -eq 100 ] && [ "$to_dir" != "$dir" ]; } ||
                [ "$to" -gt "$from" ]; then
                echo "layers: $rel includes $inc: $dir may not include $to_dir" >&2
                bad=1
            fi
            case $inc in
            *_int.h)
                [ "$to_dir" = "$dir" ] || {
                    echo "layers: $rel includes $inc, private to $to_dir/" >&2
                    bad=1
                } ;;
            esac
        done
    done
done

# Symbols: each library's undefined symbols must not be defined by a library above it.
if [ -n "$build" ]; then
    up=$(mktemp) need=$(mktemp)
    trap 'rm -f "$up" "$need"' EXIT
    for l in $layers; do
        lib=$build/$l/lib$l.a
        [ -f "$lib" ] || { echo "layers: $lib not built" >&2; bad=1; continue; }
        higher=""
        seen=0
        for h in $layers; do
            [ "$seen" -eq 1 ] && higher="$higher $build/$h/lib$h.a"
            [ "$h" = "$l" ] && seen=1
        done
        [ -n "$higher" ] || continue
        # shellcheck disable=SC2086
        nm --defined-only -g $higher 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u >"$up"
        nm -u "$lib" | awk '{print $NF}' | sort -u >"$need"
        for s in $(comm -12 "$need" "$up"); do
            echo "layers: lib$l.a uses $s, defined only above it" >&2
            bad=1
        done
    done
fi

[ "$bad" -eq 0 ] && echo "layers: every include and symbol follows $layers -> daemon|cli"
exit "$bad"
