#!/usr/bin/env bash
# Runs every test of the workspace with the machine's clock faked to start
# at a chosen instant (libfaketime), to show that no test depends on the
# hour or the day it runs at:
#
#   scripts/test-at.sh '2026-11-29 17:30:00'   # UTC: 01:30 in Shanghai
#   scripts/test-at.sh '2026-11-30 05:30:00'   # 13:30 in Shanghai
#   scripts/test-at.sh '2026-11-30 15:30:00'   # 23:30 on the last day of November
#
# The test binaries are built first on the real clock (rustc hangs under
# libfaketime) and then run one after the other, each in its package's
# folder as `cargo test` would; the command fails if any of them did.
set -euo pipefail
cd "$(dirname "$0")/.."
at="${1:?usage: scripts/test-at.sh 'YYYY-MM-DD HH:MM:SS' (a UTC instant)}"
scripts/install-deps.sh faketime
source scripts/test-env.sh
mapfile -t binaries < <(
    cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])
'
)
[ ${#binaries[@]} -gt 0 ] || { echo "no test binaries were built" >&2; exit 1; }
failed=()
for entry in "${binaries[@]}"; do
    dir="${entry%%$'\t'*}"
    binary="${entry#*$'\t'}"
    echo "=== $(basename "$binary") at $at UTC"
    (cd "$dir" && TZ=UTC faketime "$at" "$binary") || failed+=("$(basename "$binary")")
done
if [ ${#failed[@]} -gt 0 ]; then
    printf '*** failed at %s UTC: %s\n' "$at" "${failed[@]}" >&2
    exit 1
fi
echo "every test passed at $at UTC"
