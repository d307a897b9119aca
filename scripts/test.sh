#!/usr/bin/env bash
# The one test command (CI runs it through .ci/run). Installs missing packages, then configures
# and builds everything with -Werror, and runs ctest, in four configurations:
#   build/release  RelWithDebInfo: the whole suite
#   build/asan     Debug, AddressSanitizer + UndefinedBehaviorSanitizer, leaks checked: the whole
#                  suite but the long scenarios (label slow: many kills, big row counts), which
#                  run in the release configuration only
#   build/o3       Release (-O3; gcc warns about more there): the fast tests only (labels unit
#                  and fuzz: no server)
#   build/clang    RelWithDebInfo with clang: the fast tests only
# and exits non-zero if any fails to configure, build or pass. Budget: 15 min on 2 cores.
#
#   PGH_CTEST_ARGS  extra ctest arguments for every configuration, split on spaces:
#                   PGH_CTEST_ARGS='-L unit', PGH_CTEST_ARGS='-R harness' (with the fast-only
#                   configurations, a test must match both their labels and these)
#   PGH_SKIP_DEPS=1 do not run scripts/install-deps.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$SECONDS

if [ "${PGH_SKIP_DEPS:-0}" != 1 ]; then
    bash scripts/install-deps.sh
fi

jobs="$(nproc)"
ctest_args=()
read -r -a ctest_args <<<"${PGH_CTEST_ARGS:-}"

names=()
declare -A status elapsed npassed nfailed nskipped

# The tests of the fast-only configurations: every label regex given to ctest must match.
fast_tests=(-L 'unit|fuzz')

# run_config NAME BUILD_DIR all|noslow|fast CMAKE_ARGS...: configure, build, ctest (every test,
# every test but those labelled slow, or the fast ones); records the outcome.
run_config() {
    local name=$1 dir=$2 which=$3
    shift 3
    local only=()
    if [ "$which" = fast ]; then
        only=("${fast_tests[@]}")
    elif [ "$which" = noslow ]; then
        only=(-LE slow)
    fi
    local t0=$SECONDS st=ok log="$dir/ctest-output.log"
    names+=("$name")
    echo "==== [$name] configure and build in $dir"
    mkdir -p "$dir"
    rm -f "$log"
    if ! cmake -S . -B "$dir" "$@"; then
        st="configure failed"
    elif ! cmake --build "$dir" --parallel "$jobs"; then
        st="build failed"
    else
        echo "==== [$name] ctest ${only[*]} ${ctest_args[*]}"
        if ! ctest --test-dir "$dir" --no-tests=error --output-on-failure -j2 \
            "${only[@]}" "${ctest_args[@]}" 2>&1 | tee "$log"; then
            st="tests failed"
        fi
    fi

    # ctest closes with "NN% tests passed, F tests failed out of T"; skipped tests count as
    # passed there, so take them out.
    local line failed=0 total=0 skipped=0
    line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" 2>/dev/null |
        tail -n 1 || true)"
    if [ -n "$line" ]; then
        failed="$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")"
        total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")"
        skipped="$(grep -cE 'Test +#[0-9]+: .*\*\*\*(Skipped|Not Run)' "$log" || true)"
    fi
    # A configuration that failed without a failed test (build error, no tests) counts as one.
    if [ "$st" != ok ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    status[$name]=$st
    elapsed[$name]=$((SECONDS - t0))
    nfailed[$name]=$failed
    nskipped[$name]=$skipped
    npassed[$name]=$((total - failed - skipped < 0 ? 0 : total - failed - skipped))
    echo "==== [$name] $st in ${elapsed[$name]} s"
}

run_config release build/release all -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGH_SANITIZE=OFF \
    -DPGH_WERROR=ON

ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_config asan build/asan noslow -DCMAKE_BUILD_TYPE=Debug -DPGH_SANITIZE=ON -DPGH_WERROR=ON

run_config o3 build/o3 fast -DCMAKE_BUILD_TYPE=Release -DPGH_SANITIZE=OFF -DPGH_WERROR=ON

run_config clang build/clang fast -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPGH_SANITIZE=OFF -DPGH_WERROR=ON

passed=0 failed=0 skipped=0 rc=0
echo
echo "==== pghost test summary"
for n in "${names[@]}"; do
    printf '  %-8s %-14s %4d passed %3d failed %3d skipped %5d s\n' "$n" "${status[$n]}" \
        "${npassed[$n]}" "${nfailed[$n]}" "${nskipped[$n]}" "${elapsed[$n]}"
    passed=$((passed + npassed[$n]))
    failed=$((failed + nfailed[$n]))
    skipped=$((skipped + nskipped[$n]))
    if [ "${status[$n]}" != ok ]; then
        rc=1
    fi
done
total_s=$((SECONDS - started))
echo "  total time ${total_s} s$([ "$total_s" -gt 900 ] && echo ' (over the 15 min budget)')"
if [ "$skipped" -gt 0 ]; then
    echo "summary: $passed passed, $failed failed, $skipped skipped"
else
    echo "summary: $passed passed, $failed failed"
fi
exit "$rc"
