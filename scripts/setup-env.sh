#!/usr/bin/env bash
# Create (or reuse) the project virtualenv and install everything the project needs.
#   VENV=path   where to put it (default: .venv in the checkout)
#   PYTHON=exe  interpreter to build it from (default: python3.11, else python3)
# tf-keras is installed with --no-deps: it depends on the full `tensorflow` wheel,
# which would install a second TensorFlow beside tensorflow-cpu. keras-hub is installed with --no-deps
# for the same reason (its tensorflow-text and sentencepiece dependencies pull the full `tensorflow`
# wheel; they are needed only by its tokenizers), next to kagglehub and kagglesdk, which it imports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
STAMP="$VENV/.tf-resize-conformance-$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha1sum | cut -c1-12)"

if [ -f "$STAMP" ]; then
  exit 0
fi
"$PYTHON" - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit(f"tf-resize-conformance needs Python 3.11, found {sys.version.split()[0]}; set PYTHON=/path/to/python3.11")
PY
echo "setting up $VENV (first run only: installs TensorFlow, a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip
"${PIP[@]}" install -c "$ROOT/constraints.txt" tensorflow-cpu
"${PIP[@]}" install --no-deps -c "$ROOT/constraints.txt" tf-keras
"${PIP[@]}" install --no-deps --no-warn-conflicts -c "$ROOT/constraints.txt" keras-hub kagglehub kagglesdk
"${PIP[@]}" install --no-warn-conflicts -c "$ROOT/constraints.txt" -e "$ROOT[test,transformers,keras_hub]"
# pip's own check would report the three requirements left out on purpose above as errors; report any other.
UNMET="$("$VENV/bin/python" -m pip check 2>&1 | grep -v -E \
  '^(keras-hub [^ ]+ requires (sentencepiece|tensorflow-text)|tf-keras [^ ]+ requires tensorflow),' || true)"
if [ -n "$UNMET" ] && [ "$UNMET" != "No broken requirements found." ]; then
  echo "warning: unmet requirements in $VENV:" >&2
  echo "$UNMET" >&2
fi
rm -f "$VENV"/.tf-resize-conformance-*
touch "$STAMP"
