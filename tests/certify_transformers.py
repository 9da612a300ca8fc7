"""The transformers certify run that tests/test_certify_resume.py and tests/test_certify_shard.py
share (the ``transformers_certified`` fixture in tests/conftest.py): each certify subprocess imports
TensorFlow and transformers and starts its workers, so the unsharded run is made once per pytest
run (under xdist too), not once per test."""

import subprocess
import sys

# GPT-2 and DistilBERT fall in different shards of 2 (tests/test_certify_shard.py); ViT has no
# vocabulary, so its probe's not-applicable finding is part of the run (kept by --resume).
CLASSES = ("TFGPT2LMHeadModel", "TFDistilBertForMaskedLM", "TFViTModel")


def cli(*args):
    """``python -m harness.cli ARGS``: (return code, stdout + stderr)."""
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def certify(out, *extra, jobs=2):
    """``certify --select grow.shape`` of CLASSES into ``out``. The shared run uses 2 workers; the
    tests' later runs use one (a warm worker runs class after class) to spare a TF start-up."""
    args = ["certify", "--adapter", "transformers", "--select", "grow.shape", "--quiet", "-j", str(jobs),
            "--report-dir", str(out)]
    for name in CLASSES:
        args += ["--model", name]
    return cli(*args, *extra)
