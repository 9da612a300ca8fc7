"""Check a manifest against finished certify class reports, without running anything.

    python scripts/manifest_audit.py manifests/transformers.toml CERTIFY_REPORT_DIR

For each finished ``classes/<Class>/report.json``, as the runner applies the manifest (first matching entry):
the failing cases (failed, error, or xfailed under the manifest the run used) that no entry matches, and
the passing cases that a strict entry matches (a strict xpass). Use it while triaging a certify-all: a class
whose report says nothing here passes the gate when ``certify --resume`` reruns it with this manifest.
Exit status 1 if any class has either.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # validating a manifest loads the suites, so TensorFlow
from harness import manifest
from harness.certify import class_reports


def audit(manifest_path, report_dir):
    entries = manifest.load(manifest_path)
    out = {}
    for name, report in class_reports(report_dir, finished_only=True):
        mine = manifest.for_class(entries, name)
        unmatched, strict_pass = [], []
        for case in report["cases"]:
            entry = next((e for e in mine if e.matches(case["id"], case["check"])), None)
            if case["status"] in ("failed", "error", "xfailed") and entry is None:
                unmatched.append(case["id"])
            if case["status"] in ("passed", "xpassed") and entry is not None and entry.strict:
                strict_pass.append(case["id"])
        if unmatched or strict_pass:
            out[name] = (unmatched, strict_pass)
    return out


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    found = audit(*args)
    for name, (unmatched, strict_pass) in found.items():
        print(f"{name}: {len(unmatched)} failing cases no entry matches, {len(strict_pass)} passing cases "
              "a strict entry matches")
        for case_id in unmatched:
            print(f"  unmatched: {case_id}")
        for case_id in strict_pass:
            print(f"  strict but passes: {case_id}")
    print(f"{len(found)} classes to triage")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
