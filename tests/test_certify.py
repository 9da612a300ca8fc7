"""certify: the aggregate report lists every subject (run, unsupported, broken) with the
class x check matrix, validates against the schema, and renders to Markdown and HTML."""

import json
import subprocess
import sys

import pytest

from harness import certify
from harness.report import build, load_report
from harness.report.html import render_html
from harness.report.markdown import render_markdown


@pytest.fixture(scope="session")
def reference_certified(once_per_run):
    def build(out):  # once per run, not once per xdist worker (tests/conftest.py)
        proc = subprocess.run([sys.executable, "-m", "harness.cli", "certify", "--adapter", "reference",
                               "--select", "grow.shape", "--select", "shrink.shape", "--quiet",
                               "--report-dir", str(out)], capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    return once_per_run("certify-reference", build)


def test_certify_writes_json_md_and_html_with_the_matrix(reference_certified):
    report = load_report(reference_certified)
    assert [s["name"] for s in report["matrix"]["subjects"]] == ["reference"]
    row = report["matrix"]["subjects"][0]
    assert row["status"] == "passed" and row["cells"] == {"grow.shape": "passed", "shrink.shape": "passed"}
    assert (reference_certified / "classes" / "reference" / "report.json").exists()
    html = (reference_certified / "report.html").read_text(encoding="utf-8")
    assert "Compliance matrix" in html and "<script" not in html
    assert "## Compliance matrix" in (reference_certified / "report.md").read_text(encoding="utf-8")
    assert report["run"]["timing"]["subjects_run"] == 1


def test_unsupported_and_broken_subjects_are_listed_not_dropped(reference_certified):
    done = certify.SubjectRun(certify.Subject("reference", "reference"), {}, "unused")
    done.report = load_report(reference_certified / "classes" / "reference")
    probed = certify.SubjectRun(certify.Subject("TFProbed", "transformers/TFProbed"), {}, "unused")
    probed.unsupported, probed.error = "no token vocabulary: takes pixel_values only", "failed to start: ..."
    undriven = certify.SubjectRun(certify.Subject("TFUndriven", "transformers/TFUndriven"), {}, "unused")
    undriven.unsupported, undriven.error = "no hidden state of the embedding width", "failed to start: ..."
    broken = certify.SubjectRun(certify.Subject("TFBroken", "transformers/TFBroken"), {}, "unused")
    broken.error = "worker died at start-up"
    subjects = [done.subject, probed.subject, undriven.subject, broken.subject,
                certify.Subject("TFPixels", None, "main input is pixel_values")]
    runs = {"reference": done, "TFProbed": probed, "TFUndriven": undriven, "TFBroken": broken}
    import datetime as dt

    report = certify.aggregate(subjects, runs, started_at=dt.datetime.now().astimezone(), command="test",
                               options={"family": "transformers", "seed": 0, "profile": "ci", "timeout_s": 1.0,
                                        "select": (), "expected_failures_path": None, "jobs": 1,
                                        "class_timeout_s": 1.0})
    build.validate_report(json.loads(json.dumps(report)))
    rows = {r["name"]: r for r in report["matrix"]["subjects"]}
    assert rows["TFProbed"]["status"] == "not_applicable" and "pixel_values" in rows["TFProbed"]["reason"]
    assert rows["TFUndriven"]["status"] == "error"  # only "no token vocabulary" is not applicable
    assert rows["TFPixels"]["status"] == "not_applicable" and "pixel_values" in rows["TFPixels"]["reason"]
    assert rows["TFBroken"]["status"] == "error"
    checks = set(report["matrix"]["checks"])
    assert all(set(r["cells"]) == checks for r in rows.values())  # a status per check for every class
    assert set(rows["TFPixels"]["cells"].values()) == {"not_applicable"}
    assert report["summary"]["gate"] == "fail"          # the broken subject is an error case ...
    assert report["summary"]["expected"] == done.report["summary"]["expected"] + 2  # ... expected, not run
    # (the broken subject and the undriven one: both should have run)
    report["run"]["timing"] = certify.timing(report, wall_s=12.34)
    assert report["run"]["timing"]["subjects_run"] == 1 and report["run"]["timing"]["wall_s"] == 12.3
    build.validate_report(json.loads(json.dumps(report)))
    md, html = render_markdown(report), render_html(report)
    assert "subjects_run" in html and "subjects\\_run" in md
    for name in rows:
        assert name in md and name in html


def _interrupt_when_marked(tmp_path, adapter):
    """Run ``certify --adapter ADAPTER``, SIGINT it once the adapter creates its marker file; returns
    (output, seconds from the signal to the exit, return code, report)."""
    import os
    import pathlib
    import signal
    import time

    tests = pathlib.Path(__file__).parent
    marker = tmp_path / "marker"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tests), str(tests.parent)]),
               FAULTY_HANG_MARKER=str(marker))
    report_dir = tmp_path / "out"
    # a shell without job control starts background jobs with SIGINT ignored, and a child inherits that
    # (Python then installs no KeyboardInterrupt handler): give the certify process the default, as a terminal does
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "certify", "--adapter", adapter,
                             "--select", "grow.shape", "--timeout", "600", "--report-dir", str(report_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    if not marker.exists():
        proc.kill()
        raise AssertionError(f"the adapter did not reach its hang within 300 s: {proc.communicate()[0]}")
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    out, _ = proc.communicate(timeout=180)
    return out, time.monotonic() - start, proc.returncode, load_report(report_dir)


def test_an_interrupt_during_worker_start_up_stops_at_once(tmp_path):
    """Ctrl-C while the class's worker is still starting (here: an adapter whose constructor hangs): the
    starting worker is killed, certify exits 130 without waiting for the 180 s start-up timeout, and
    the class is listed as not run, not as an error."""
    out, waited, code, report = _interrupt_when_marked(tmp_path, "faulty:HangsAtStartup")
    assert waited < 60 and code == 130, out
    (row,) = report["matrix"]["subjects"]
    assert row["status"] == "skipped" and row["reason"].startswith("not run"), row
    assert report["partial"] and report["summary"]["counts"]["error"] == 0, report["summary"]


def test_an_interrupt_abandons_the_case_in_flight(tmp_path):
    """Ctrl-C (SIGINT) during a case that would run for ten minutes: certify kills that case's worker, exits
    130 at once, and the partial report says the case was not run (it is not an error)."""
    out, waited, code, report = _interrupt_when_marked(tmp_path, "faulty:HangsInResize")
    assert waited < 90 and code == 130, out  # far below the 600 s the case would take
    assert report["partial"] and report["summary"]["counts"]["error"] == 0, report["summary"]
    assert all(c["status"] in ("skipped", "not_applicable") for c in report["cases"]), \
        [(c["id"], c["status"]) for c in report["cases"]]


def test_an_interrupted_run_lists_the_classes_it_did_not_reach_as_not_run(reference_certified):
    """A class an interrupt kept from running is not an error of that class: status skipped, "not run";
    a class that failed to start is still an error."""
    import datetime as dt

    done = certify.SubjectRun(certify.Subject("reference", "reference"), {}, "unused")
    done.report = load_report(reference_certified / "classes" / "reference")
    broken = certify.SubjectRun(certify.Subject("TFBroken", "transformers/TFBroken"), {}, "unused")
    broken.error = "worker died at start-up"
    queued = certify.Subject("TFQueued", "transformers/TFQueued")
    report = certify.aggregate([done.subject, broken.subject, queued], {"reference": done, "TFBroken": broken},
                               started_at=dt.datetime.now().astimezone(), command="test", interrupted=True,
                               options={"family": "transformers", "seed": 0, "profile": "ci", "timeout_s": 1.0,
                                        "select": (), "expected_failures_path": None, "jobs": 1,
                                        "class_timeout_s": 1.0})
    build.validate_report(json.loads(json.dumps(report)))
    rows = {r["name"]: r for r in report["matrix"]["subjects"]}
    assert rows["TFQueued"]["status"] == "skipped" and rows["TFQueued"]["reason"].startswith("not run")
    assert rows["TFBroken"]["status"] == "error"
    assert report["partial"] and report["summary"]["expected"] == done.report["summary"]["expected"] + 2
    statuses = {c["id"]: c["status"] for c in report["cases"] if c["check"] == "harness.start_up"}
    assert statuses == {"TFBroken::<start-up>": "error", "TFQueued::<start-up>": "skipped"}
    assert "1 not run" in render_markdown(report) and "1 not run" in render_html(report)
