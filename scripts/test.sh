#!/usr/bin/env bash
# Builds and runs every test — Swift unit tests, the build without ISA-L,
# and the integration tests that start real `shale` nodes — and ends with
# one summary line: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=$(mktemp -d)
# The Swift stages' temporary files (the tests' node folders, SwiftPM's own) go
# here and are removed at the end: the tests do not remove theirs, and a
# machine that runs them often filled /tmp with thousands of them.
swift_tmp=$(mktemp -d)
trap 'rm -rf "$log_dir" "$swift_tmp"' EXIT
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

# The module map of Docs/architecture.md: every import line against its allowed edges.
run imports python3 scripts/check-imports.py
# The package without the ISAL trait (the pure-Swift erasure backend alone),
# in the same build folder: only the package's own targets are rebuilt when
# the trait changes (about 30 s), where a folder of its own rebuilt every
# dependency (BoringSSL, NIO, …) for minutes.
TMPDIR=$swift_tmp run pure-swift swift test --disable-default-traits --disable-xctest
# The default package (ISA-L). SwiftPM checks that each import is a declared dependency.
TMPDIR=$swift_tmp run build swift build --build-tests --explicit-target-dependency-import-check error
TMPDIR=$swift_tmp run unit swift test --skip-build --disable-xctest
# Real nodes on 127.0.N.x, driven through the CLI, the admin API and S3 clients.
SHALE_BIN="$PWD/.build/debug/shale" run integration python3 -m pytest Tests/integration -q -p no:cacheprovider

passed=0
failed=0
for log in "$log_dir"/unit.log "$log_dir"/pure-swift.log; do
  [ -f "$log" ] || continue
  p=$(grep -E '^✔ Test .* passed after' "$log" | grep -vc '^✔ Test run with')
  f=$(grep -E '^✘ Test .* failed after' "$log" | grep -vc '^✘ Test run with')
  passed=$((passed + p))
  failed=$((failed + f))
done
if [ -f "$log_dir/integration.log" ]; then
  summary=$(tail -n 3 "$log_dir/integration.log")
  p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || true)
  f=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$summary" | awk '{s += $1} END {print s + 0}')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed"
exit $status
