#!/usr/bin/env bash
# Set up (first run), lint with ruff and run the project's self-tests. Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
"$ROOT/scripts/setup-env.sh"
cd "$ROOT"
"$VENV/bin/ruff" check .   # lint first (rules in pyproject.toml [tool.ruff]): seconds, and a clear message
exec "$VENV/bin/python" -m pytest "$@"
