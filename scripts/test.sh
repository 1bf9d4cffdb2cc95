#!/usr/bin/env bash
# The whole test suite: installs what is missing, checks formatting and
# banned functions, then builds and runs every test (unit, fuzz-corpus
# replay, end-to-end) twice: a gcc build and a clang ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

scripts/deps.sh

echo "== style: clang-format and banned functions"
files=$(git ls-files 'sp/*.c' 'sp/*.h' 'include/*.h' 'tests/*.c' 'tests/*.h' 2>/dev/null || true)
if [ -n "$files" ]; then
  clang-format --dry-run -Werror $files
  if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|strncpy)\s*\(' $files \
      | grep -v '^\S*:\s*/\?\*'; then
    echo "banned function used (STYLE.md §12)" >&2
    exit 1
  fi
fi

run_suite() {
  local dir=$1; shift
  echo "== build $dir ($*)"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS"
  echo "== test $dir"
  ctest --test-dir "$dir" --output-on-failure -j"$JOBS"
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DSP_ASAN=ON -DSP_UBSAN=ON
echo "== all test suites passed"
