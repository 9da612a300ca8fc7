#!/usr/bin/env bash
# Set up (first run) and run the project's self-tests. Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
"$ROOT/scripts/setup-env.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
