#!/usr/bin/env bash
# The version matrix: run the conformance suite under each TensorFlow minor (2.16 .. 2.21),
# each in its own virtualenv, and write reports/<tf-minor>/<adapter>/report.json (+ .md, .html).
# The transformers axis: --transformers 4.44 runs the transformers classes under transformers
# 4.44.* instead of 4.57.* and writes reports/<tf-minor>/<adapter>-tx4.44/ (pair each
# transformers minor with a TensorFlow minor it supports; see tox.ini matrix-tx*).
#
#   bash scripts/matrix.sh                       # every minor, every adapter
#   bash scripts/matrix.sh --tf "2.19 2.21"      # some minors
#   bash scripts/matrix.sh --adapters reference  # some adapters
#   bash scripts/matrix.sh --install-only        # only create the virtualenvs
#   bash scripts/matrix.sh --venv DIR --tf 2.19  # use DIR as the virtualenv (tox does this)
#   bash scripts/matrix.sh --tf 2.17 --transformers 4.44   # an older transformers line
#   bash scripts/matrix.sh --tf 2.20 --all-classes          # certify every transformers class
#
# --all-classes runs `certify --adapter transformers --all -j $JOBS --resume` with the manifest,
# in $MATRIX_RUNS/<tf-minor>-transformers[-tx<minor>] (class reports included; hours on 2 cores,
# so run it again to resume after an interruption), and when it has finished copies report.json.gz,
# report.md and report.html to reports/<tf-minor>/transformers[-tx<minor>]/ (what is committed).
#
# Environment: MATRIX_VENVS (where the virtualenvs go; default .tox/matrix, never reports/),
# MATRIX_RUNS (certify-all working dirs; default .tox/matrix-runs), JOBS (certify workers; default 2),
# REPORTS (default reports), PYTHON (a Python 3.11), HOST_PY (a Python with this package's
# dependencies, used to write a report when an environment cannot be installed or imported;
# default .venv/bin/python, else the one running resize-conformance), PROFILE (default ci), SEED (default 0),
# RUN_ARGS (extra `run` options, e.g. "--timeout 60 --no-shrink" for slow models).
#
# Each environment installs tensorflow-cpu==<minor>.*, tf-keras==<minor>.* with --no-deps
# (tf-keras depends on the full `tensorflow` wheel), transformers==4.57.* and this package, and
# tensorflow-probability (0.24 for TF 2.16/2.17, else 0.25; TFTapasForQuestionAnswering's forward
# needs it; if it cannot be installed that class errors, which its report shows).
# A combination that cannot be installed, imported or run still gets a valid report.json:
# no cases, gate "fail" and an "environment_error" note (stage, message, log tail).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSIONS="2.16 2.17 2.18 2.19 2.20 2.21"
ADAPTERS=""
INSTALL_ONLY=0
ALL_CLASSES=0
ONE_VENV=""
TRANSFORMERS="4.57"
TRANSFORMERS_CLASSES="TFBertForMaskedLM TFGPT2LMHeadModel TFBartForConditionalGeneration TFT5ForConditionalGeneration"

while [ $# -gt 0 ]; do
  case "$1" in
    --tf) VERSIONS="$2"; shift 2 ;;
    --adapters) ADAPTERS="$2"; shift 2 ;;
    --transformers) TRANSFORMERS="$2"; shift 2 ;;
    --install-only) INSTALL_ONLY=1; shift ;;
    --all-classes) ALL_CLASSES=1; shift ;;
    --venv) ONE_VENV="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "matrix.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

MATRIX_VENVS="${MATRIX_VENVS:-$ROOT/.tox/matrix}"
MATRIX_RUNS="${MATRIX_RUNS:-$ROOT/.tox/matrix-runs}"
JOBS="${JOBS:-2}"
REPORTS="${REPORTS:-$ROOT/reports}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
PROFILE="${PROFILE:-ci}"
SEED="${SEED:-0}"
RUN_ARGS="${RUN_ARGS:-}"   # extra `resize-conformance run` options, e.g. "--timeout 60 --no-shrink"
if [ -z "${HOST_PY:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then HOST_PY="$ROOT/.venv/bin/python"
  elif command -v resize-conformance >/dev/null; then HOST_PY="$(dirname "$(command -v resize-conformance)")/python"
  else HOST_PY="$(command -v python3)"; fi
fi
if ! PYTHONPATH="$ROOT" "$HOST_PY" -c "import jsonschema, jinja2, harness.report" 2>/dev/null; then
  echo "matrix.sh: HOST_PY=$HOST_PY cannot import this package's dependencies (jsonschema, jinja2);" \
       "set HOST_PY to the Python of scripts/setup-env.sh (.venv/bin/python)" >&2
  exit 2
fi
if [ "$ALL_CLASSES" = 1 ]; then
  ADAPTERS="transformers"
elif [ -z "$ADAPTERS" ]; then
  ADAPTERS="reference"
  [ "$TRANSFORMERS" != 4.57 ] && ADAPTERS=""  # the reference does not use transformers
  if [ -f "$ROOT/harness/adapters/transformers_adapter.py" ]; then
    for cls in $TRANSFORMERS_CLASSES; do ADAPTERS="$ADAPTERS transformers/$cls"; done
  else
    echo "matrix.sh: harness/adapters/transformers_adapter.py not found: running the reference adapter only" >&2
  fi
fi
if [ -n "$ONE_VENV" ] && [ "$(echo $VERSIONS | wc -w)" != 1 ]; then
  echo "matrix.sh: --venv needs exactly one --tf version" >&2; exit 2
fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}" TF_USE_LEGACY_KERAS=1 PIP_DISABLE_PIP_VERSION_CHECK=1

folder_of() { local f="${1//\//-}"; echo "${f//:/-}"; }

# install VENV MINOR LOG -> prints the failing stage (empty when everything installed)
install_env() {
  local venv="$1" minor="$2" log="$3" py="$1/bin/python"
  local stamp="$venv/.matrix-$(cat "$ROOT/pyproject.toml" | sha1sum | cut -c1-12)-tfp"
  local tfp="0.25.*"
  case "$minor" in 2.16|2.17) tfp="0.24.*" ;; esac
  [ -f "$stamp" ] && return 0
  { [ -x "$py" ] || "$PYTHON" -m venv "$venv"; } >>"$log" 2>&1 || { echo "venv"; return; }
  "$py" -m pip install -q "tensorflow-cpu==$minor.*" >>"$log" 2>&1 || { echo "install tensorflow-cpu==$minor.*"; return; }
  "$py" -m pip install -q --no-deps "tf-keras==$minor.*" >>"$log" 2>&1 || { echo "install tf-keras==$minor.*"; return; }
  "$py" -m pip install -q "transformers==$TRANSFORMERS.*" >>"$log" 2>&1 || { echo "install transformers==$TRANSFORMERS.*"; return; }
  "$py" -m pip install -q -e "$ROOT[test]" >>"$log" 2>&1 || { echo "install tf-resize-conformance"; return; }
  "$py" -m pip install -q "tensorflow-probability==$tfp" >>"$log" 2>&1 \
    || echo "matrix.sh: warning: tensorflow-probability==$tfp did not install (TFTapasForQuestionAnswering will error)" >>"$log"
  touch "$stamp"
}

# env_error OUT_DIR ADAPTER MINOR STAGE LOG VENV
env_error() {
  local versions="{}"
  [ -x "$6/bin/python" ] && versions="$("$6/bin/python" - <<'PY' 2>/dev/null || echo '{}'
import json, platform
from importlib import metadata
def v(*names):
    for n in names:
        try:
            return metadata.version(n)
        except Exception:
            pass
    return None
print(json.dumps({"python": platform.python_version(), "tensorflow": v("tensorflow-cpu", "tensorflow"),
                  "tf_keras": v("tf-keras"), "keras": v("keras"), "transformers": v("transformers"),
                  "numpy": v("numpy"), "hypothesis": v("hypothesis"), "harness": None,
                  "platform": platform.platform()}))
PY
)"
  PYTHONPATH="$ROOT" "$HOST_PY" -m harness.cli env-error --report-dir "$1" --adapter "$2" \
    --requested "tensorflow=$3.*" --requested "tf_keras=$3.*" --requested "transformers=$TRANSFORMERS.*" \
    --stage "$4" --log "$5" --versions-json "$versions" --seed "$SEED" --profile "$PROFILE"
}

SUMMARY=()
for minor in $VERSIONS; do
  tag="tf${minor//./}"
  suffix=""
  [ "$TRANSFORMERS" != 4.57 ] && { tag="$tag-tx${TRANSFORMERS//./}"; suffix="-tx$TRANSFORMERS"; }
  venv="${ONE_VENV:-$MATRIX_VENVS/$tag}"
  mkdir -p "$(dirname "$venv")"
  log="$venv${MATRIX_LOG_SUFFIX:-}.log"
  : >"$log"
  t0=$(date +%s)
  echo "== TensorFlow $minor, transformers $TRANSFORMERS: environment $venv (log $log)"
  stage="$(install_env "$venv" "$minor" "$log")"
  if [ -z "$stage" ] && ! "$venv/bin/python" -c "import tensorflow, tf_keras, harness.cli" >>"$log" 2>&1; then
    stage="import tensorflow / tf_keras / harness"
  fi
  t1=$(date +%s)
  echo "   setup: ${stage:-ok} ($((t1 - t0))s)"
  [ "$INSTALL_ONLY" = 1 ] && { SUMMARY+=("$minor setup=${stage:-ok} $((t1 - t0))s"); continue; }
  for adapter in $ADAPTERS; do
    out="$REPORTS/$minor/$(folder_of "$adapter")$suffix"
    mkdir -p "$out"
    [ "$ALL_CLASSES" = 1 ] || rm -f "$out/report.json" "$out/report.md" "$out/report.html" "$out/report.invalid.json"
    t2=$(date +%s)
    if [ -n "$stage" ]; then
      env_error "$out" "$adapter" "$minor" "$stage" "$log" "$venv" >>"$log" 2>&1
      rc="env-error"
    elif [ "$ALL_CLASSES" = 1 ]; then
      run="$MATRIX_RUNS/$minor-transformers$suffix"
      mkdir -p "$run"
      echo "   certify-all in $run (resumes what an earlier run finished)"
      "$venv/bin/python" -m harness.cli certify --adapter transformers --all -j "$JOBS" --resume \
        --expected-failures "$ROOT/manifests/transformers.toml" --report-dir "$run" --profile "$PROFILE" \
        --seed "$SEED" --quiet $RUN_ARGS >>"$log" 2>&1
      rc=$?
      if [ -f "$run/report.json" ] && "$HOST_PY" -c "import json, sys; sys.exit(json.load(open(sys.argv[1]))['partial'])" \
          "$run/report.json" 2>/dev/null; then
        gzip -9 -c "$run/report.json" > "$out/report.json.gz.tmp" && mv "$out/report.json.gz.tmp" "$out/report.json.gz"
        cp "$run/report.md" "$run/report.html" "$out/"
      else
        echo "   certify-all did not finish (exit $rc): run the same command again to resume; reports/ unchanged"
      fi
    else
      "$venv/bin/python" -m harness.cli run --adapter "$adapter" --report-dir "$out" --profile "$PROFILE" \
        --seed "$SEED" --quiet --html $RUN_ARGS >>"$log" 2>&1
      rc=$?
      # 0/1: a finished run; 130: interrupted with a partial report. Anything else wrote no
      # usable report (unknown adapter, import error in the adapter, internal error).
      if [ "$rc" != 0 ] && [ "$rc" != 1 ] && [ "$rc" != 130 ] || [ ! -f "$out/report.json" ]; then
        rm -f "$out/report.json" "$out/report.md" "$out/report.html"
        env_error "$out" "$adapter" "$minor" "run (exit $rc)" "$log" "$venv" >>"$log" 2>&1
      fi
    fi
    t3=$(date +%s)
    line="$minor tx$TRANSFORMERS $adapter exit=$rc setup=$((t1 - t0))s run=$((t3 - t2))s -> $out/report.json"
    echo "   $line"
    SUMMARY+=("$line")
  done
done
echo "== matrix summary"
printf '%s\n' "${SUMMARY[@]}"
