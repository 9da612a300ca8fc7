"""Certify many subjects (e.g. every transformers TF class): ``jobs`` warm worker processes that
run subject after subject (``harness.warm``: reset between subjects, replaced when a subject left
state behind; ``--fresh-workers``: one process per subject), a time budget per subject, a report
per subject written as it goes, and an aggregate report with the subject x check matrix.

A subject is ``not_applicable`` only when its adapter demonstrated at start-up that it has no
token vocabulary (an ``Unsupported`` whose reason starts with ``no token vocabulary``); any other
subject that cannot start is an ``error``. None is ever dropped or counted as a pass.
"""

import concurrent.futures
import dataclasses
import datetime as dt
import os
import re
import tempfile
import threading
import time

from harness.report.atomic import WriteThrottle
from harness.results import STATUSES, CaseResult, worst
from harness.versions import collect_versions, source_digest

NO_VOCABULARY = "no token vocabulary"  # the one start-up reason that makes a subject not applicable


@dataclasses.dataclass
class Subject:
    name: str
    adapter_spec: str = None
    reason: str = ""   # why it cannot run (then adapter_spec is None)


def subjects(family, models=None):
    """The subjects of an adapter family: ``transformers`` (every TF class) or a single adapter."""
    if family == "transformers":
        from harness.adapters import transformers_models as tm

        if models:  # only the named classes' modules are imported
            unknown = sorted(m for m in set(models) if not tm.is_model_class(m))
            if unknown:
                raise ValueError(f"not TF model classes exported by transformers: {', '.join(unknown)}")
            entries = [tm.entry(m) for m in sorted(set(models))]
        else:
            entries = tm.list_classes()
        # every class runs: its worker's probe decides (not applicable only without a vocabulary)
        return [Subject(e.name, f"transformers/{e.name}") for e in entries]
    if family == "keras_hub":  # every keras-hub task class ending in CausalLM / MaskedLM / Seq2SeqLM
        from harness.adapters import keras_hub_models as km

        names = km.class_names()
        unknown = sorted(set(models or ()) - set(names))
        if unknown:
            raise ValueError(f"not keras_hub task classes: {', '.join(unknown)}")
        return [Subject(n, f"keras_hub/{n}") for n in (sorted(set(models)) if models else names)]
    if models:
        raise ValueError(f"--model only applies to --adapter transformers or keras_hub, not {family!r}")
    return [Subject(family, family)]


def safe_name(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


class SubjectRun:
    """Run one subject in an isolated worker; write its report as cases finish (throttled)."""

    def __init__(self, subject, options, report_dir, on_case=None):
        self.subject = subject
        self.options = options
        self.report_dir = report_dir
        self.on_case = on_case
        self.report = None
        self.error = None
        self.unsupported = None
        self.duration_s = 0.0
        self.resumed = False   # the report is an earlier run's (``--resume``)
        self.resume_miss = ""  # why an earlier report could not be reused
        self.stop = threading.Event()
        self.runner = None     # the IsolatedRunner while the subject runs (``abort`` kills its worker)

    def abort(self):
        """Stop now: no further case, and the case in flight is abandoned (its worker is killed, so an
        interrupt does not wait for a slow case; the case is reported as not run)."""
        self.stop.set()
        runner = self.runner
        if runner is not None:  # kills the worker running a case or still starting; none goes back to the pool
            runner.abort()

    def run(self):
        from harness.isolation import IsolatedRunner, WorkerError
        from harness.report import build_report, write_report

        o = self.options
        start = time.perf_counter()
        xfails = tuple(o["xfails_for"](self.subject.name))
        if o.get("resume"):
            kept, why = reusable_report(self.report_dir, o, xfails, family_of(self.subject))
            if kept is not None:
                self.report, self.resumed, self.duration_s = kept, True, kept["run"]["duration_s"]
                return self
            verdict = reusable_verdict(self.report_dir, family_of(self.subject))
            if verdict is not None:  # a class without a vocabulary: its probe's finding stands
                self.unsupported, self.error = verdict["unsupported"], verdict["error"]
                self.resumed, self.duration_s = True, verdict["duration_s"]
                return self
            self.resume_miss = why
        started_at = dt.datetime.now().astimezone()
        runner = self.runner = IsolatedRunner(self.subject.adapter_spec, seed=o["seed"], profile=o["profile"],
                                timeout_s=o["timeout_s"], select=o["select"], shrink=o["shrink"],
                                expected_failures=xfails, pool=o.get("pool"))
        if self.stop.is_set():
            runner.stop_requested = True
        try:
            plan = runner.plan()
        except WorkerError as exc:
            if self.stop.is_set():  # interrupted while the worker started: the class was not run
                self.duration_s = time.perf_counter() - start
                runner.close()
                return self
            if exc.unsupported and exc.unsupported.startswith(NO_VOCABULARY):  # nothing to resize
                self.unsupported = exc.unsupported
            self.error = str(exc).splitlines()[0]
            self.duration_s = time.perf_counter() - start
            runner.close()
            if self.unsupported:
                write_verdict(self.report_dir, self, family_of(self.subject))
            return self
        stale = os.path.join(self.report_dir, VERDICT_FILE)
        if os.path.exists(stale):  # the class has a vocabulary now: an earlier not-applicable finding is void
            os.remove(stale)
        results = [None] * len(plan)
        budget_end = time.monotonic() + o["class_timeout_s"]
        throttle = WriteThrottle()

        def write(partial, pending, final=False):
            """The subject's report; progress writes are throttled (harness.report.atomic)."""
            if not throttle.due(final):
                return
            filled = [r or (CaseResult(c.id, c.check.id, c.kind, c.params, "not_applicable", c.na_reason)
                            if c.na_reason else CaseResult(c.id, c.check.id, c.kind, c.params, "skipped", pending))
                      for c, r in zip(plan, results)]
            self.report = build_report(
                results=filled, planned_total=len(plan), adapter=runner.adapter,
                adapter_spec=self.subject.adapter_spec, runner=runner, started_at=started_at,
                finished_at=None if partial else dt.datetime.now().astimezone(), partial=partial,
                command=o["command"], expected_failures_path=o["expected_failures_path"])
            self.report["run"]["options"]["expected_failures_digest"] = xfails_digest(
                xfails, [(c.id, c.check.id) for c in plan])
            self.report["run"]["versions"]["harness_source"] = source_digest(family_of(self.subject))
            write_report(self.report, self.report_dir, validate=final)

        try:
            for i, case in enumerate(plan):
                left = budget_end - time.monotonic()
                if self.stop.is_set() or left <= 0:
                    break
                runner.timeout_s = min(o["timeout_s"], max(left, 1.0))
                result = runner.run_case(case, None)
                if self.stop.is_set():  # aborted while this case ran: it did not finish, so it is not reported
                    break
                results[i] = result
                if self.on_case:
                    self.on_case(self.subject, results[i])
                write(True, "not run: the run has not reached this case yet")
            interrupted = self.stop.is_set()
            out_of_time = not interrupted and any(r is None and not c.na_reason for c, r in zip(plan, results))
            pending = ("not run: interrupted" if interrupted else
                       f"not run: the class exceeded its {o['class_timeout_s']:g}s budget")
            runner.timeout_s = o["timeout_s"]  # the report records the option, not the last case's budget
            write(interrupted or out_of_time, pending, final=True)
            if out_of_time:
                self.error = f"exceeded the per-class budget of {o['class_timeout_s']:g}s"
        finally:
            runner.close()
            self.duration_s = time.perf_counter() - start
        return self


def xfails_digest(xfails, cases):
    """What the manifest decides for one subject: for each of its ``(case id, check id)``, the
    reason and strictness of the first entry that matches (as the runner applies them). A manifest
    rewritten without changing that (globs for listed ids, merged entries) keeps the digest."""
    import hashlib

    decided = []
    for case_id, check_id in sorted(cases):
        match = next((x for x in xfails if x.matches(case_id, check_id)), None)
        if match is not None:
            decided.append((case_id, match.reason, bool(match.strict)))
    return hashlib.sha256(repr(decided).encode()).hexdigest()[:16]


_REUSE_SAME = (("seed",), ("options", "profile"), ("options", "timeout_s"), ("options", "select"),
               ("options", "shrink"))
_REUSE_VERSIONS = ("harness_source", "python", "tensorflow", "tf_keras", "keras", "transformers", "numpy",
                   "hypothesis", "keras_hub")


def class_reports(report_dir, finished_only=False):
    """``(subject, report)`` for each ``classes/<Class>/report.json`` of a certify report dir, by
    class directory name; with ``finished_only``, partial reports are left out."""
    import json

    classes = os.path.join(report_dir, "classes")
    for name in sorted(os.listdir(classes)):
        path = os.path.join(classes, name, "report.json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
        if not (finished_only and report.get("partial")):
            yield report["run"].get("subject") or name, report


VERDICT_FILE = "not_applicable.json"


def _reuse_versions(family):
    """The versions (and code digest) a reused class report or not-applicable finding must share."""
    return {k: v for k, v in dict(collect_versions(), harness_source=source_digest(family)).items()
            if k in _REUSE_VERSIONS}


def write_verdict(report_dir, run, family=None):
    """Record a probe's finding that the class has no vocabulary (``classes/<Class>/not_applicable.json``),
    with the code and library versions that found it, for ``--resume``."""
    import json

    from harness.report.atomic import write_text_atomic

    os.makedirs(report_dir, exist_ok=True)
    write_text_atomic(os.path.join(report_dir, VERDICT_FILE), json.dumps(
        {"unsupported": run.unsupported, "error": run.error, "duration_s": round(run.duration_s, 3),
         "versions": _reuse_versions(family)}, indent=1, sort_keys=True) + "\n")


def reusable_verdict(report_dir, family=None):
    """The recorded not-applicable finding if the same code and library versions made it, else None.
    It does not depend on the seed, profile or manifest: the probe looks only at the class."""
    import json

    try:
        with open(os.path.join(report_dir, VERDICT_FILE), encoding="utf-8") as fh:
            verdict = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(verdict, dict) or verdict.get("versions") != _reuse_versions(family) \
            or not str(verdict.get("unsupported", "")).startswith(NO_VOCABULARY):
        return None
    return verdict


def family_of(subject):
    """The adapter family of a subject (``transformers/TFBertModel`` -> ``transformers``), or None."""
    spec = subject.adapter_spec or ""
    return spec.split("/", 1)[0] if "/" in spec else None


def reusable_report(report_dir, options, xfails, family=None):
    """``(report, "")`` if ``report_dir`` holds a finished report of this subject made by the same
    code, library versions, options and manifest entries; else ``(None, why not)``."""
    from harness.report import build, load_report

    path = os.path.join(report_dir, "report.json")
    if not os.path.exists(path):
        return None, "no earlier report"
    try:
        old = load_report(path)
    except (OSError, ValueError) as exc:
        return None, f"unreadable earlier report ({str(exc).splitlines()[0]})"
    run = old["run"]
    if old.get("partial"):
        return None, "the earlier run did not finish"
    want = {"seed": options["seed"], "options": {"profile": options["profile"], "timeout_s": options["timeout_s"],
                                                 "select": list(options["select"]), "shrink": options["shrink"]}}
    differs = build.first_difference(run, want, _REUSE_SAME)
    if differs:
        keys, a, b = differs
        return None, f"run.{'.'.join(keys)} differs ({a!r}, now {b!r})"
    now = _reuse_versions(family)
    for key in _REUSE_VERSIONS:
        if run["versions"].get(key) != now.get(key):
            return None, f"{key} differs ({run['versions'].get(key)!r}, now {now.get(key)!r})"
    if run["options"].get("expected_failures_digest") != xfails_digest(xfails, [(c["id"], c["check"])
                                                                               for c in old["cases"]]):
        return None, "the manifest entries for this class changed"
    return old, ""


def run_all(subject_list, options, report_dir, jobs=1, on_subject=None, on_case=None, runs=None):
    """Run every subject (``jobs`` at a time). Returns ``{name: SubjectRun}``, filled into ``runs``
    if given (so that a caller interrupted by Ctrl-C, which stops them all, still has them)."""
    from harness.isolation import WorkerPool

    workers = WorkerPool() if options.get("warm_workers", True) else None
    run_options = dict(options, pool=workers)
    runs = {} if runs is None else runs
    for s in subject_list:
        runs[s.name] = SubjectRun(s, run_options, os.path.join(report_dir, "classes", safe_name(s.name)), on_case)
    runnable = [runs[s.name] for s in subject_list if s.adapter_spec]
    try:
        _run_subjects(runnable, jobs, on_subject)
    finally:
        if workers is not None:
            workers.close()
            options["worker_stats"] = dict(workers.stats)
    return runs


def _run_subjects(runnable, jobs, on_subject):
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(r.run): r for r in runnable}
        try:
            for fut in concurrent.futures.as_completed(futures):
                fut.result()
                if on_subject:
                    on_subject(futures[fut])
        except KeyboardInterrupt:
            for r in runnable:
                r.abort()
            for fut in futures:
                fut.cancel()
            raise


def aggregate(subject_list, runs, *, started_at, command, options, interrupted=False):
    """The aggregate report: every subject's cases (ids prefixed ``Class::``) plus the matrix."""
    from harness.report import build

    cases, rows, checks = [], [], {}
    totals = {"expected": 0, "collected": 0, "total": 0}
    for s in subject_list:
        run = runs.get(s.name)
        rep = run.report if run else None
        row = {"name": s.name, "adapter": s.adapter_spec, "reason": s.reason or (run.error if run else "") or "",
               "duration_s": round(run.duration_s, 3) if run else 0.0, "cells": {}}
        if rep is None:
            unsupported = getattr(run, "unsupported", None) if run else None
            unsupported = unsupported if unsupported and unsupported.startswith(NO_VOCABULARY) else None
            if unsupported:
                row["reason"] = f"not applicable (demonstrated by the adapter's probe): {unsupported}"
            # an interrupt that came before this class ran is not the class's error: it was not run
            not_run = interrupted and bool(s.adapter_spec) and not unsupported and not (run and run.error)
            row["status"] = ("not_applicable" if not s.adapter_spec or unsupported else
                             "skipped" if not_run else "error")
            if not_run:
                row["reason"] = "not run: the run was interrupted before this class ran"
            row["counts"] = {k: 0 for k in STATUSES}
            if s.adapter_spec and not unsupported:
                totals["expected"] += 1  # a subject that should have run but did not start
                totals["total"] += 1
                cases.append({"id": f"{s.name}::<start-up>", "check": "harness.start_up", "kind": "example",
                              "params": None, "status": "skipped" if not_run else "error",
                              "message": row["reason"] or "did not start",
                              "duration_s": row["duration_s"], "subject": s.name,
                              "reproduce": f"resize-conformance run --adapter {s.adapter_spec}"})
            rows.append(row)
            continue
        for c in rep["cases"]:
            c = dict(c, id=f"{s.name}::{c['id']}", subject=s.name)
            cases.append(c)
            row["cells"].setdefault(c["check"], []).append(c["status"])
        for chk in rep.get("checks", []):
            checks.setdefault(chk["id"], chk)
        row["cells"] = {k: worst(v) for k, v in row["cells"].items()}
        row["counts"] = rep["summary"]["counts"]
        for k in totals:
            totals[k] += rep["summary"][k]
        bad = row["counts"]["failed"] + row["counts"]["error"] or rep["summary"]["gate"] == "fail"
        row["status"] = "failed" if bad else "passed"
        row["gate"] = rep["summary"]["gate"]
        row["gate_reasons"] = rep["summary"]["gate_reasons"]
        row["report"] = os.path.join("classes", safe_name(s.name), "report.json")
        rows.append(row)
    for row in rows:  # a subject that did not run still has a status for every check
        if not row["cells"]:
            row["cells"] = {chk: row["status"] for chk in sorted(checks)}
    run = build.run_block(
        adapter={"name": options["family"], "spec": options["family"], "class": "harness.certify",
                 "capabilities": {"tie_modes": [], "bias_layouts": [], "dtypes": [], "flags": []}},
        seed=options["seed"],
        options={"profile": options["profile"], "timeout_s": options["timeout_s"],
                 "select": list(options["select"]), "expected_failures": options["expected_failures_path"],
                 "jobs": options["jobs"], "class_timeout_s": options["class_timeout_s"]},
        started_at=started_at, finished_at=None if interrupted else dt.datetime.now().astimezone(), command=command)
    return build.assemble(partial=interrupted, run=run, counts=build.tally(cases), expected=max(totals["expected"], 0),
                          collected=totals["collected"], total=totals["total"],
                          checks=[checks[k] for k in sorted(checks)], cases=cases,
                          matrix={"subjects": rows, "checks": sorted(checks)})


def timing(report, wall_s=None):
    """Measured figures of a certify report, from its own data: wall time and per-subject durations."""
    import statistics

    durations = sorted(r["duration_s"] for r in (report.get("matrix") or {}).get("subjects", []) if r.get("report"))
    out = {"wall_s": round(wall_s if wall_s is not None else report["run"]["duration_s"], 1),
           "jobs": (report["run"].get("options") or {}).get("jobs"), "subjects_run": len(durations)}
    if durations:
        out.update(subject_median_s=round(statistics.median(durations), 1),
                   subject_p90_s=round(durations[min(len(durations) - 1, int(0.9 * len(durations)))], 1),
                   subject_max_s=round(durations[-1], 1), subject_sum_s=round(sum(durations), 1),
                   subjects_within_10s=sum(1 for d in durations if d <= 10.0))  # issue 13: one class in 10 s
    return out


def default_jobs():
    return max(1, min(os.cpu_count() or 1, 4))


def scratch_dir():
    return tempfile.mkdtemp(prefix="resize-certify-")
