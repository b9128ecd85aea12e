#!/usr/bin/env bash
# One command to build kmsd and pass the whole test suite: installs what is
# missing, builds everything under AddressSanitizer + UndefinedBehaviorSanitizer
# with -Werror (gcc, and clang for the unit and fuzz-corpus tests), builds the
# plain hardened Release build with its tests, lints, and runs every unit,
# vector, fuzz-corpus and end-to-end test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DSANITIZERS="address;undefined" >/dev/null
cmake --build build-test -j"$(nproc)"
# The plain build a newcomer types first: hardened Release, every target (tests
# included), warning-free; its unit and fuzz-corpus tests run optimised too.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j2 --timeout 900 -L "unit|fuzz-regression")
# clang too: its warnings differ from gcc's; unit and fuzz-corpus tests under its sanitizers.
CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Debug -DSANITIZERS="address;undefined" >/dev/null
cmake --build build-clang -j"$(nproc)"
(cd build-clang && ctest --output-on-failure -j2 --timeout 900 -L "unit|fuzz-regression")
tools/lint.sh
cd build-test
ctest --output-on-failure -j2 --timeout 900
