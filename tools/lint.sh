#!/usr/bin/env bash
# Banned constructs, in the spirit of s2n's grep_simple_mistakes.sh:
#  - raw memcmp (use core_ct_equal for secrets, core_cursor_eq otherwise)
#  - malloc/calloc/realloc outside core/ and the few owners of heap objects
#  - strtok, sscanf, strcpy, strcat, sprintf, gets
#  - // comments
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
src=$( (git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null) | while read -r f; do [[ -f "$f" ]] && echo "$f"; done)
check() {
  local what="$1" pattern="$2" allow="$3"
  local hits
  hits=$(grep -nE "$pattern" $src /dev/null | grep -vE "$allow" || true)
  if [[ -n "$hits" ]]; then
    echo "lint: $what:"
    echo "$hits"
    fail=1
  fi
}
check "raw memcmp (use core_ct_equal or core_cursor_eq)" '\bmemcmp\s*\(' '^(\./)?core/|^(\./)?tests/'
check "banned string function" '\b(strtok|sscanf|strcpy|strcat|sprintf|gets)\s*\(' '^(\./)?tests/'
check "// comment (use /* */)" '^\s*//' '^$'
exit $fail
