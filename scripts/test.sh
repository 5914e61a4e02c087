#!/usr/bin/env bash
# Builds and runs every test, in both package configurations, and ends with
# one summary line: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
status=0

run() {
  local name=$1; shift
  echo "==> $name: $*"
  "$@" 2>&1 | tee "$log_dir/$name.log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "==> $name failed (exit $rc)"
    status=1
  fi
}

# The module direction in DESIGN.md is enforced by the import check.
run build swift build --build-tests --explicit-target-dependency-import-check error
run unit swift test --skip-build --disable-xctest
# The package without the ISAL trait: pure-Swift erasure backend only.
run pure-swift swift test --disable-default-traits --scratch-path .build-noisal --disable-xctest

passed=0
failed=0
for log in "$log_dir"/unit.log "$log_dir"/pure-swift.log; do
  [ -f "$log" ] || continue
  p=$(grep -E '^✔ Test .* passed after' "$log" | grep -vc '^✔ Test run with')
  f=$(grep -E '^✘ Test .* failed after' "$log" | grep -vc '^✘ Test run with')
  passed=$((passed + p))
  failed=$((failed + f))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed"
exit $status
