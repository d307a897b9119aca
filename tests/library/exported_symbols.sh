#!/bin/sh
# The shared library exports exactly the public API: every function declared in the public
# headers is marked PGH_API, and the dynamic symbols libpghost.so defines are exactly those
# functions (so each is also defined, and nothing internal leaks out).
#
#   exported_symbols.sh CC INCLUDE_DIR LIBPGHOST_SO
#
# Declarations are read from the preprocessed headers (comments and macro bodies gone), split at
# ';': a piece holding `pgh_name(` declares the function pgh_name, and PGH_API has expanded to
# visibility("default") in it. Function-pointer typedefs read `(*pgh_name)(` and do not match.
set -eu
cc=$1 inc=$2 so=$3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for h in "$inc"/pghost/*.h; do
    printf '#include <pghost/%s>\n' "$(basename "$h")"
done >"$tmp/all.c"
"$cc" -E -P -I"$inc" "$tmp/all.c" >"$tmp/all.i"

awk -v RS=';' -v marked="$tmp/marked" -v unmarked="$tmp/unmarked" '
    match($0, /pgh_[a-z0-9_]+[ \t\n]*\(/) {
        name = substr($0, RSTART, RLENGTH)
        sub(/[ \t\n]*\($/, "", name)
        print name >(index($0, "visibility(\"default\")") ? marked : unmarked)
    }' "$tmp/all.i"
touch "$tmp/marked" "$tmp/unmarked"
sort -u "$tmp/marked" >"$tmp/declared"
nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sort -u >"$tmp/exported"

fail=0
report() { # report FILE WHAT: print FILE's lines under a heading, if any
    if [ -s "$1" ]; then
        echo "$2:"
        sed 's/^/  /' "$1"
        fail=1
    fi
}
sort -u "$tmp/unmarked" >"$tmp/unmarked.sorted"
report "$tmp/unmarked.sorted" "declared in $inc/pghost without PGH_API"
comm -23 "$tmp/declared" "$tmp/exported" >"$tmp/missing"
report "$tmp/missing" "declared with PGH_API but not exported by $so (not defined?)"
comm -13 "$tmp/declared" "$tmp/exported" >"$tmp/extra"
report "$tmp/extra" "exported by $so but not declared in the public headers"
if [ "$fail" = 0 ]; then
    echo "$(wc -l <"$tmp/declared") public functions, each declared with PGH_API and exported; nothing else exported"
fi
exit "$fail"
