#!/usr/bin/env bash
# Set up (first run) and certify the built-in reference adapter.
# Writes out/reference/report.json and report.md; extra args go to `resize-conformance run`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
"$ROOT/scripts/setup-env.sh"
cd "$ROOT"
exec "$VENV/bin/resize-conformance" run --adapter reference --report-dir out/reference "$@"
