#!/usr/bin/env bash
# A brief fuzzing pass for `make test`: every libFuzzer target built in
# BUILD_FUZZ (default build-fuzz) runs for FUZZ_SECONDS (default 8) over its
# checked-in corpus, tests/fuzz/<name>/corpus, plus tests/fuzz/<name>.dict
# when there is one. New inputs go to a scratch directory, never into the
# corpus. Prints executions per target; exits 1 when any target crashed,
# leaked or timed out, naming the input that did it (add it to the corpus
# once fixed, so the replay suite keeps it).
#   FUZZ_SECONDS=600 tests/fuzz/run-brief.sh          # a long run on demand
#   tests/fuzz/run-brief.sh fuzz_query fuzz_json       # only some targets
set -u
cd "$(dirname "$0")/../.."
build=${BUILD_FUZZ:-build-fuzz}
secs=${FUZZ_SECONDS:-8}
scratch=$(mktemp -d /tmp/parley-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for bin in "$build"/tests/fuzz/fuzz_*; do
        [ -x "$bin" ] && [ -f "$bin" ] && targets+=("$(basename "$bin")")
    done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz-brief: no targets in $build/tests/fuzz" >&2; exit 1; }

failed=0 passed=0 total=0
printf '%-16s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
    name=${t#fuzz_}
    corpus=tests/fuzz/$name/corpus
    dict=tests/fuzz/$name.dict
    out=$scratch/$name
    mkdir -p "$out/new" "$out/crash"
    [ -d "$corpus" ] || { echo "fuzz-brief: $t has no corpus at $corpus" >&2; failed=$((failed + 1)); continue; }
    args=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
          -artifact_prefix="$out/crash/")
    [ -f "$dict" ] && args+=(-dict="$dict")
    "$build/tests/fuzz/$t" "${args[@]}" "$out/new" "$corpus" > "$out/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log" | tail -1)
    units=$(find "$corpus" -type f | wc -l)
    total=$((total + ${execs:-0}))
    if [ $rc -eq 0 ]; then
        result=ok; passed=$((passed + 1))
    else
        result="FAILED (exit $rc)"; failed=$((failed + 1))
    fi
    printf '%-16s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" "$result"
    if [ $rc -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written|artifact' "$out/log" | head -20 >&2
        for a in "$out"/crash/*; do
            [ -f "$a" ] && cp "$a" "/tmp/parley-fuzz-$name-$(basename "$a")" &&
                echo "fuzz-brief: input kept at /tmp/parley-fuzz-$name-$(basename "$a")" >&2
        done
    fi
done
echo "fuzz-brief: $total executions in ${#targets[@]} targets, ${secs}s each"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
