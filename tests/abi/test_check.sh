#!/usr/bin/env bash
# tests/abi/test_check.sh CHECK HEADER_DIR [LIB] — proves that tests/abi/check
# catches ABI breaks: it copies the public header, records a baseline from the
# copy, then edits the copy one break at a time and runs the check against a
# stand-in library exporting the edited header's functions (the check compares
# the header's types and prototypes; the stand-in only satisfies its export
# list). Each break must fail with abidiff's INCOMPATIBLE verdict; each
# additive change must pass. With LIB (the built libdseek.so) it also checks
# that a function the header declares but the library does not export fails.
set -uo pipefail
check=${1:?usage: test_check.sh CHECK HEADER_DIR [LIB]}
include=${2:?usage: test_check.sh CHECK HEADER_DIR [LIB]}
lib=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
cases=0

# A shared library exporting one empty function per DSEEK_API name of a header.
stand_in() {
  local dir=$1
  grep '^DSEEK_API' "$dir/dseek.h" | grep -oE '\bdseek_[a-z0-9_]+\(' | tr -d '(' | sort -u |
    awk '{ printf "void %s(void) {}\n", $1 }' >"$dir/stand_in.c"
  cc -shared -fPIC -Wl,-soname,libdseek.so.0 -o "$dir/libdseek.so" "$dir/stand_in.c"
}

# variant NAME EXPECT(pass|fail) SED-SCRIPT: edit a copy of the header, run the check.
variant() {
  local name=$1 expect=$2 script=$3 dir=$work/$1 out verdict
  cases=$((cases + 1))
  mkdir -p "$dir"
  sed -e "$script" "$work/orig/dseek.h" >"$dir/dseek.h"
  if cmp -s "$work/orig/dseek.h" "$dir/dseek.h"; then
    echo "FAIL $name: the edit changed nothing (the header moved on: update this test)"
    failures=$((failures + 1)); return
  fi
  stand_in "$dir" || { echo "FAIL $name: stand-in library does not build"; failures=$((failures + 1)); return; }
  out=$("$check" --include "$dir" --baseline "$work/base.abi" "$dir/libdseek.so" 2>&1)
  if [ $? = 0 ]; then verdict=pass; else verdict=fail; fi
  if [ "$verdict" = fail ] && ! grep -q 'INCOMPATIBLE' <<<"$out"; then
    echo "FAIL $name: the check failed, but not on the ABI comparison:"; echo "$out" | tail -5
    failures=$((failures + 1)); return
  fi
  if [ "$verdict" = "$expect" ]; then
    echo "ok   $name: $([ "$verdict" = pass ] && echo passes || echo fails) as it must"
    [ "$verdict" = fail ] && grep -E 'summary|enumerator|data member|parameter|type of|size' <<<"$out" | head -4 | sed 's/^/       /'
  else
    echo "FAIL $name: the check ${verdict}ed, expected $expect"; echo "$out" | tail -20
    failures=$((failures + 1))
  fi
}

mkdir -p "$work/orig"
cp "$include/dseek.h" "$work/orig/dseek.h"
stand_in "$work/orig" || exit 1
"$check" --include "$work/orig" --baseline "$work/base.abi" --update "$work/orig/libdseek.so" >/dev/null || {
  echo "FAIL: cannot record a baseline from the copied header"; exit 1; }

# The three breaks of the issue, and others a refactor could make.
variant renumbered_enumerator fail 's/DSEEK_STOP_CONTEXT_FULL = 5/DSEEK_STOP_CONTEXT_FULL = 6/'
variant renumbered_type       fail 's/DSEEK_TYPE_Q8_0 *= *8/DSEEK_TYPE_Q8_0 = 9/'
variant removed_field         fail '/^  int64_t n_forced_tokens; /d'
variant changed_parameter     fail 's/dseek_type_name(int type)/dseek_type_name(long type)/'
variant changed_return        fail 's/^DSEEK_API int64_t dseek_model_n_params(/DSEEK_API int dseek_model_n_params(/'
variant removed_function      fail '/^DSEEK_API dseek_status dseek_cancel(/d'
variant inserted_field_middle fail 's/^  int64_t max_tokens; /  int added_in_the_middle;\n&/'
variant removed_and_appended  fail '/^  int64_t n_forced_tokens; /d; s/^} dseek_generate_result;/  int64_t appended;\n&/'
# Additions that keep every existing caller working.
variant added_function        pass 's/^DSEEK_API dseek_status dseek_cancel(dseek_context \*ctx);/&\nDSEEK_API int dseek_abi_test_added(int x);/'
variant appended_field        pass 's/^} dseek_generate_options;/  int appended_at_the_end;\n&/'
variant appended_enumerator   pass 's/^  DSEEK_STOP_SETTLED = 7 /  DSEEK_STOP_SETTLED = 7,\n  DSEEK_STOP_ADDED = 8 /'

# The library side: a declared function the library does not export fails.
if [ -n "$lib" ]; then
  cases=$((cases + 1))
  mkdir -p "$work/undefined"
  sed 's/^DSEEK_API dseek_status dseek_cancel(dseek_context \*ctx);/&\nDSEEK_API int dseek_abi_test_missing(void);/' \
    "$work/orig/dseek.h" >"$work/undefined/dseek.h"
  if out=$("$check" --include "$work/undefined" --baseline "$work/base.abi" "$lib" 2>&1); then
    echo "FAIL not_exported: the check passed a header function $lib does not export"; failures=$((failures + 1))
  elif grep -q 'not exported by' <<<"$out"; then
    echo "ok   not_exported: fails as it must ($(grep -o 'not exported.*' <<<"$out"))"
  else
    echo "FAIL not_exported: failed for another reason:"; echo "$out" | tail -5; failures=$((failures + 1))
  fi
fi

echo "abi check: $((cases - failures))/$cases cases behaved as required"
[ "$failures" = 0 ]
