"""``resize-conformance bench --suite``: wall-clock time of the suite's own commands.

Each command runs as a fresh subprocess (``--repeats`` times, median reported): start-up, one
check, the core suite on the reference adapter in-process and in worker mode, one transformers
class, and optionally the transformers matrix (``--suite-matrix sample`` certifies a few classes
with ``-j 2`` and extrapolates to every supported class; ``all`` runs the real thing). Where a
command writes a report, the report's own figures (cases, sum of case durations) are kept too,
so the gap between wall time and time spent in cases is visible.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MATRIX_SAMPLE = ("TFBertForMaskedLM", "TFGPT2LMHeadModel", "TFT5ForConditionalGeneration",
                 "TFBartForConditionalGeneration")


def _cli(*args):
    return [sys.executable, "-m", "harness.cli", *args]


def plan(repeats, matrix="none"):
    """(id, what, argv, repeats, writes_report) of every timed command; ``{dir}`` is the report dir."""
    once = 1
    items = [
        ("startup.version", "`--version` (no TensorFlow)", _cli("--version"), repeats, False),
        ("startup.import_tensorflow", "`python -c 'import tensorflow'`",
         [sys.executable, "-c", "import tensorflow"], repeats, False),
        ("startup.list_checks", "`list-checks` (imports the suites)", _cli("list-checks"), repeats, False),
        ("reference.one_check.in_process", "`run --adapter reference --select grow.shape --in-process`",
         _cli("run", "--adapter", "reference", "--select", "grow.shape", "--in-process", "--quiet",
              "--report-dir", "{dir}"), repeats, True),
        ("reference.one_check.worker", "`run --adapter reference --select grow.shape`",
         _cli("run", "--adapter", "reference", "--select", "grow.shape", "--quiet", "--report-dir", "{dir}"),
         repeats, True),
        ("reference.suite.in_process", "`run --adapter reference --profile ci --in-process`",
         _cli("run", "--adapter", "reference", "--profile", "ci", "--in-process", "--quiet", "--report-dir", "{dir}"),
         repeats, True),
        ("reference.suite.worker", "`run --adapter reference --profile ci` (worker process)",
         _cli("run", "--adapter", "reference", "--profile", "ci", "--quiet", "--report-dir", "{dir}"),
         repeats, True),
        ("transformers.one_class", "`run --adapter transformers/TFBertForMaskedLM --profile ci`",
         _cli("run", "--adapter", "transformers/TFBertForMaskedLM", "--profile", "ci", "--quiet",
              "--report-dir", "{dir}"), once, True),
        ("transformers.one_class.certify", "`certify --adapter transformers --model TFBertForMaskedLM`",
         _cli("certify", "--adapter", "transformers", "--model", "TFBertForMaskedLM", "--profile", "ci", "--quiet",
              "--report-dir", "{dir}"), once, True),
    ]
    if matrix == "sample":
        models = [a for m in MATRIX_SAMPLE for a in ("--model", m)]
        items.append(("transformers.matrix.sample", f"`certify --adapter transformers -j 2 --profile ci` on "
                      f"{len(MATRIX_SAMPLE)} classes", _cli("certify", "--adapter", "transformers", *models, "-j", "2",
                                                           "--profile", "ci", "--quiet", "--report-dir", "{dir}"),
                      once, True))
    elif matrix == "all":
        items.append(("transformers.matrix.all", "`certify --adapter transformers --all -j 2 --profile ci`",
                      _cli("certify", "--adapter", "transformers", "--all", "-j", "2", "--profile", "ci", "--quiet",
                           "--report-dir", "{dir}"), once, True))
    return items


def _report_figures(directory):
    path = os.path.join(directory, "report.json")
    try:
        with open(path, encoding="utf-8") as fh:
            rep = json.load(fh)
    except (OSError, ValueError):
        return {}
    cases = rep.get("cases", [])
    ran = [c for c in cases if c.get("status") not in ("not_applicable", "skipped")]
    out = {"cases_run": len(ran), "sum_case_s": round(sum(c.get("duration_s") or 0 for c in ran), 1),
           "report_duration_s": rep.get("run", {}).get("duration_s"), "gate": rep.get("summary", {}).get("gate")}
    subjects = (rep.get("matrix") or {}).get("subjects")
    if subjects:
        out["subjects"] = len(subjects)
        out["subject_durations_s"] = {s["name"]: s.get("duration_s") for s in subjects}
    return out


def run_suite_timing(repeats=3, matrix="none", timeout_s=7200.0, log=print):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    rows = []
    for ident, what, argv, n, writes_report in plan(repeats, matrix):
        samples, extra, codes = [], {}, []
        for i in range(n):
            tmp = tempfile.mkdtemp(prefix="suite-timing-")
            cmd = [a.replace("{dir}", tmp) for a in argv]
            start = time.perf_counter()
            try:
                proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      timeout=timeout_s, check=False)
                codes.append(proc.returncode)
            except subprocess.TimeoutExpired:
                codes.append("timeout")
            samples.append(round(time.perf_counter() - start, 2))
            if writes_report:
                extra = _report_figures(tmp) or extra
            shutil.rmtree(tmp, ignore_errors=True)
            log(f"bench: suite {ident} run {i + 1}/{n}: {samples[-1]:.1f}s (exit {codes[-1]})")
        row = {"id": ident, "what": what, "samples_s": samples, "median_s": statistics.median(samples),
               "exit_codes": codes, "load_after": list(os.getloadavg()), **extra}
        if ident == "transformers.matrix.sample":
            row["estimate_all_s"] = _extrapolate(row["median_s"])
        rows.append(row)
    return {"schema": "tf-resize-conformance/suite-timing/1", "cpu_count": os.cpu_count(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "repeats": repeats, "rows": rows}


def _extrapolate(sample_s):
    try:
        from harness.adapters.transformers_models import list_classes

        supported = sum(e.status == "supported" for e in list_classes())
    except Exception:  # noqa: BLE001 - an estimate is optional
        return None
    return {"supported_classes": supported, "seconds": round(sample_s * supported / len(MATRIX_SAMPLE))}


# Issue 13's targets: the reference suite 15 s, one class through certify 10 s with start-up,
# certify-all 8 minutes with -j 2 on 2 cores.
TARGETS = {"reference.suite.in_process": 15, "reference.suite.worker": 15, "transformers.one_class": 10,
           "transformers.one_class.certify": 10,
           "transformers.matrix.all": 480, "transformers.matrix.sample": None}


def render_markdown(result):
    lines = ["# Suite timing", "",
             f"Wall-clock seconds of fresh subprocesses on {result['cpu_count']} CPU(s), started "
             f"{result['started_at']}; median of the runs listed (other jobs share the machine).", "",
             "| command | runs (s) | median s | target s | cases run | sum of case s | exit |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in result["rows"]:
        target = TARGETS.get(r["id"])
        if r["id"] == "transformers.matrix.sample" and r.get("estimate_all_s"):
            est = r["estimate_all_s"]
            target = f"480 (est. all {est['supported_classes']} classes: {est['seconds']:,} s)"
        lines.append(f"| {r['what']} | {', '.join(f'{s:.1f}' for s in r['samples_s'])} | {r['median_s']:.1f} | "
                     f"{target if target is not None else '-'} | {r.get('cases_run', '-')} | "
                     f"{r.get('sum_case_s', '-')} | {', '.join(str(c) for c in r['exit_codes'])} |")
    return "\n".join(lines) + "\n"
