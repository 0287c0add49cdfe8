#!/usr/bin/env bash
# tests/hardening/ci.sh — the hardening stages of CI (called by .ci/run):
#
#   1. fuzz build (clang, ASan + UBSan, libFuzzer) and corpus replay:
#      every committed input of tests/fuzz/corpus plus fixed mutations
#   2. bounded fuzzing of every target (DSEEK_FUZZ_SECONDS each, default 30;
#      DSEEK_FUZZ_JOBS targets at a time, default 2); execs printed per target;
#      a crash, leak, UB report or hang fails the stage (input kept in
#      build-fuzz/fuzz-artifacts/<target>/: fix it and add it to the corpus)
#   3. allocation-failure injection and resource limits: build-failpoints
#      (-Dfailpoints=true, AddressSanitizer + LeakSanitizer)
#   4. concurrency and cancellation under ThreadSanitizer: build-tsan
#
# Usage: tests/hardening/ci.sh   (from anywhere; build dirs go in the repo root)
# Prints one summary line per stage and exits non-zero if any stage failed.
# Installs clang and libFuzzer (Debian: clang, libclang-rt-14-dev) if missing.
set -uo pipefail
cd "$(dirname "$0")/../.."

fuzz_seconds=${DSEEK_FUZZ_SECONDS:-30}
fuzz_jobs=${DSEEK_FUZZ_JOBS:-2}
targets=(gguf safetensors config tokenizer_json tokenize chat state gguf_split server_request)   # server_request: dseek serve, built when tests/run installed its libraries
summary=()
failed=0
t_start=$SECONDS

note() { summary+=("$1"); echo "hardening: $1"; }
stage() { echo; echo "=== hardening: $* ==="; }
# Tests meson counted as skipped (exit 77) in a build's last test log: a skip is
# not a pass, CI's machine has everything these tests need.
skipped_in() { grep -E '^Skipped:' "$1/meson-logs/testlog.txt" 2>/dev/null | tail -1 | awk '{print $2 + 0}'; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# Set up (or refresh) a build directory with the given options.
setup() {
  local dir=$1; shift
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
  else meson setup "$dir" "$@" >"$dir.setup.log" 2>&1; fi || { cat "$dir.setup.log"; return 1; }
}

# ---- tools ------------------------------------------------------------------------
fuzzer_lib_present() {
  printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return (int)(n && d[0]); }\n' |
    clang -x c -fsanitize=fuzzer - -o /dev/null >/dev/null 2>&1
}
if ! command -v clang >/dev/null || ! fuzzer_lib_present; then
  echo "hardening: installing clang and libFuzzer"
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi

# ---- 1. fuzz build + corpus replay ----------------------------------------------------
stage "fuzz build and corpus replay (clang, address + undefined)"
fuzz_ok=1
libfuzzer_targets=()
for t in "${targets[@]}"; do libfuzzer_targets+=("fuzz_${t}_libfuzzer" "fuzz_$t"); done
if CC=clang setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false \
     -Dc_args=-fsanitize=fuzzer-no-link &&
   meson compile -C build-fuzz "${libfuzzer_targets[@]}" tiny_models >build-fuzz/compile.log 2>&1; then
  if meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs >build-fuzz/replay.log 2>&1 &&
     [ "$(skipped_in build-fuzz)" = 0 ]; then
    replayed=$(grep -ho '[0-9]* inputs replayed' build-fuzz/meson-logs/testlog.txt | awk '{s += $1} END {print s + 0}')
    note "corpus replay: OK, ${#targets[@]} targets, $replayed inputs (corpus + mutations) under ASan/UBSan"
  else
    cat build-fuzz/replay.log
    note "corpus replay: FAILED or SKIP ($(skipped_in build-fuzz) skipped; build-fuzz/meson-logs/testlog.txt)"
    failed=$((failed + 1))
  fi
else
  tail -30 build-fuzz/compile.log 2>/dev/null
  note "fuzz build: FAILED"
  failed=$((failed + 1))
  fuzz_ok=0
fi

# ---- 2. bounded fuzzing -----------------------------------------------------------------
stage "fuzzing, ${fuzz_seconds} s per target, $fuzz_jobs at a time"
fuzz_one() {
  local t=$1 dir=build-fuzz
  mkdir -p "$dir/fuzz-corpus/$t" "$dir/fuzz-artifacts/$t"
  DSEEK_FUZZ_TINY=$PWD/$dir/tests/reference/tiny DSEEK_FUZZ_TOKENIZERS=$PWD/tests/data/tokenizers \
    DSEEK_FUZZ_QUANTS=$PWD/tests/data/quants DSEEK_FUZZ_CHAT_TEMPLATES=$PWD/tests/data/chat_templates \
    "$dir/tests/fuzz/fuzz_${t}_libfuzzer" -max_total_time="$fuzz_seconds" -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$dir/fuzz-artifacts/$t/" "$dir/fuzz-corpus/$t" "tests/fuzz/corpus/$t" \
    >"$dir/fuzz-$t.log" 2>&1
  echo $? >"$dir/fuzz-$t.rc"
}
if [ "$fuzz_ok" = 1 ]; then
  running=0
  for t in "${targets[@]}"; do
    fuzz_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$fuzz_jobs" ]; then wait -n; running=$((running - 1)); fi
  done
  wait
  total_execs=0
  for t in "${targets[@]}"; do
    rc=$(cat "build-fuzz/fuzz-$t.rc")
    execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "build-fuzz/fuzz-$t.log")
    rate=$(awk '/stat::average_exec_per_sec:/ {print $2}' "build-fuzz/fuzz-$t.log")
    total_execs=$((total_execs + ${execs:-0}))
    if [ "$rc" = 0 ]; then
      note "fuzz $t: OK, ${execs:-0} execs in ${fuzz_seconds} s (${rate:-0}/s)"
    else
      grep -E 'ERROR|runtime error|fuzz invariant|Test unit written' "build-fuzz/fuzz-$t.log" | head -5
      note "fuzz $t: FAILED after ${execs:-?} execs (exit $rc; log build-fuzz/fuzz-$t.log, input in build-fuzz/fuzz-artifacts/$t/)"
      failed=$((failed + 1))
    fi
  done
  note "fuzzing: $total_execs execs in total"
else
  note "fuzzing: SKIP (no fuzz build), counted as a failure"
  failed=$((failed + 1))
fi

# ---- 3. allocation failures + limits (ASan/LSan) ----------------------------------------
stage "allocation-failure injection and resource limits (failpoints, address)"
if setup build-failpoints -Dfailpoints=true -Db_sanitize=address -Db_lundef=false &&
   meson compile -C build-failpoints test_alloc_fail test_limits tiny_models >build-failpoints/compile.log 2>&1; then
  points=
  if meson test -C build-failpoints --no-rebuild --print-errorlogs alloc_fail limits >build-failpoints/test.log 2>&1 &&
     [ "$(skipped_in build-failpoints)" = 0 ] &&
     points=$(grep -o 'allocation failure points tried: [0-9]*' build-failpoints/meson-logs/testlog.txt | awk '{print $5}') &&
     [ -n "$points" ]; then
    note "allocation failures: OK, $points failure points tried, every one an error status, no leaks; limits: OK"
  else
    cat build-failpoints/test.log
    note "allocation failures / limits: FAILED or SKIP ($(skipped_in build-failpoints) skipped, failure points: ${points:-none reported}; build-failpoints/meson-logs/testlog.txt)"
    failed=$((failed + 1))
  fi
else
  tail -30 build-failpoints/compile.log 2>/dev/null
  note "failpoints build: FAILED"
  failed=$((failed + 1))
fi

# ---- 4. ThreadSanitizer ----------------------------------------------------------------
stage "concurrency and cancellation (thread sanitizer)"
if setup build-tsan -Db_sanitize=thread -Db_lundef=false &&
   meson compile -C build-tsan test_concurrency tiny_models >build-tsan/compile.log 2>&1; then
  if meson test -C build-tsan --no-rebuild --print-errorlogs concurrency >build-tsan/test.log 2>&1 &&
     [ "$(skipped_in build-tsan)" = 0 ]; then
    note "concurrency: OK under TSan, 1 model x 4 contexts on 4 threads = sequential output; cancel within one token"
  else
    cat build-tsan/test.log
    note "concurrency: FAILED or SKIP ($(skipped_in build-tsan) skipped; build-tsan/meson-logs/testlog.txt)"
    failed=$((failed + 1))
  fi
else
  tail -30 build-tsan/compile.log 2>/dev/null
  note "tsan build: FAILED"
  failed=$((failed + 1))
fi

echo
echo "=== hardening summary ($((SECONDS - t_start)) s) ==="
for line in "${summary[@]}"; do echo "  $line"; done
if [ "$failed" -ne 0 ]; then echo "hardening: $failed stage(s) failed"; exit 1; fi
echo "hardening: all stages passed"
