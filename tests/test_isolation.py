"""Fault injection through the CLI's default (worker-process) mode: the run completes, the
faulty cases are errors naming the fault, the other cases are unaffected, the report is valid."""

import os
import pathlib
import time

import pytest

from harness import cli
from harness.report import load_report

TESTS = str(pathlib.Path(__file__).resolve().parent)
ONE_GROW = "grow.shape[bias=none,dtype=float32,new=9,old=8,tie=tied,width=8]"
NOOP = "noop.none_returns_current[bias=vector,dtype=float32,old=8,tie=tied,width=8]"


@pytest.fixture(autouse=True)
def _worker_can_import_tests(monkeypatch):
    paths = [TESTS, str(pathlib.Path(TESTS).parent), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


def _run(tmp_path, adapter, *select, timeout="20"):
    args = ["run", "--adapter", adapter, "--report-dir", str(tmp_path), "--profile", "dev",
            "--timeout", timeout, "--quiet"]
    for s in select:
        args += ["--select", s]
    code = cli.main(args)
    report = load_report(tmp_path)  # validates against the schema
    return code, {c["id"]: c for c in report["cases"]}, report


@pytest.mark.parametrize("adapter, fault, timeout", [
    ("faulty:HangsInResize", "timed out after 3s; the worker process was killed", "3"),
    ("faulty:ExitsInResize", "worker process died while running this case (exited with code 17)", "20"),
    ("faulty:SegfaultsInResize", "worker process died while running this case (killed by signal SIGSEGV)", "20"),
])
def test_fatal_faults_are_errors_and_the_run_goes_on(tmp_path, adapter, fault, timeout):
    code, cases, report = _run(tmp_path, adapter, ONE_GROW, NOOP, timeout=timeout)
    assert code == 1
    assert cases[ONE_GROW]["status"] == "error" and fault in cases[ONE_GROW]["message"]
    assert cases[ONE_GROW]["reproduce"]
    assert cases[NOOP]["status"] == "passed"
    assert report["partial"] is False and report["summary"]["collected"] == 2


def test_huge_output_is_drained_and_counted(tmp_path):
    code, cases, _ = _run(tmp_path, "faulty:FloodsOutput", ONE_GROW)
    assert code == 0
    assert cases[ONE_GROW]["status"] == "passed"
    assert cases[ONE_GROW]["details"]["output_bytes"] >= 20 * 1024 * 1024


def test_raise_in_build_is_an_error_per_case(tmp_path):
    code, cases, _ = _run(tmp_path, "faulty:RaisesInBuild", ONE_GROW)
    assert code == 1
    assert cases[ONE_GROW]["status"] == "error"
    assert "RuntimeError: build exploded" in cases[ONE_GROW]["message"]


def test_unknown_adapter_in_worker_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["run", "--adapter", "faulty:Nope", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no attribute" in err and "Traceback" not in err


@pytest.mark.parametrize("adapter, fault", [
    ("faulty:RaisesInResize", "RuntimeError: resize exploded"),
    ("faulty:RaisesInReadBack", "KeyError: 'vocab_size'"),
    ("faulty:ReadsBackNaN", "adapter contract violation: the input matrix of a freshly built model holds 1 NaN/Inf"),
    ("faulty:ReadsBackWrongRank", "adapter contract violation: read_input_matrix returned shape"),
    ("faulty:ReadsBackStrings", "adapter contract violation: read_output_matrix returned dtype <U1"),
])
def test_faults_in_process_are_errors_naming_the_fault(tmp_path, adapter, fault):
    code = cli.main(["run", "--adapter", adapter, "--report-dir", str(tmp_path), "--profile", "dev",
                     "--quiet", "--in-process", "--select", ONE_GROW])
    case = load_report(tmp_path)["cases"][0]
    assert code == 1 and case["status"] == "error" and fault in case["message"], case["message"]


def test_shared_state_mutation_is_attributed_and_restored(tmp_path):
    second = "grow.shape[bias=vector,dtype=float32,new=40,old=8,tie=untied,width=8]"
    code = cli.main(["run", "--adapter", "faulty:SharedConfig", "--report-dir", str(tmp_path), "--profile", "dev",
                     "--quiet", "--in-process", "--select", ONE_GROW, "--select", second, "--select", NOOP])
    cases = {c["id"]: c for c in load_report(tmp_path)["cases"]}
    assert code == 1
    assert cases[ONE_GROW]["status"] == "error" and "changed its shared state" in cases[ONE_GROW]["message"]
    assert cases[second]["status"] == "error"  # it resizes too: attributed to itself, not to the next case
    assert cases[NOOP]["status"] == "passed"


def test_leak_over_limit(tmp_path):
    args = ["run", "--adapter", "faulty:LeaksMemory", "--report-dir", str(tmp_path), "--profile", "dev",
            "--quiet", "--worker-memory-mb", "1500", "--select", ONE_GROW, "--select", NOOP]
    code = cli.main(args)
    cases = {c["id"]: c for c in load_report(tmp_path)["cases"]}
    assert code == 1
    assert cases[ONE_GROW]["status"] == "error" and "memory: the worker's RSS reached" in cases[ONE_GROW]["message"]
    assert cases[NOOP]["status"] == "passed"


def test_resume_runs_only_what_is_left(tmp_path, capsys):
    base = ["run", "--adapter", "reference", "--report-dir", str(tmp_path), "--profile", "dev", "--quiet",
            "--in-process", "--select", "grow.shape"]
    assert cli.main(base) == 0
    first = load_report(tmp_path)
    assert cli.main(base + ["--resume"]) == 0
    assert "reusing 5 finished cases" in capsys.readouterr().err
    second = load_report(tmp_path)
    assert [c["duration_s"] for c in second["cases"]] == [c["duration_s"] for c in first["cases"]]
    assert cli.main(base[:-2] + ["--select", "grow", "--resume"]) == 2  # a different selection is refused


def test_same_seed_same_report(tmp_path):
    def strip(r):
        for k in ("started_at", "finished_at", "duration_s", "command"):
            r["run"].pop(k)
        for c in r["cases"]:
            c.pop("duration_s")
        return r

    # DropsARow fails shrink.prefix_preserved (its property case is shrunk: the part the seed must make
    # reproducible) and passes grow.shape; grow.prefix_preserved fails as well but shrinks in 30 s, not 12 s
    args = ["run", "--adapter", "mutants:DropsARow", "--profile", "dev", "--quiet", "--in-process",
            "--select", "shrink.prefix_preserved", "--select", "grow.shape"]
    cli.main(args + ["--report-dir", str(tmp_path / "a")])
    cli.main(args + ["--report-dir", str(tmp_path / "b")])
    a, b = strip(load_report(tmp_path / "a")), strip(load_report(tmp_path / "b"))
    assert a == b and a["summary"]["counts"]["failed"] > 0
    shrunk = [c for c in a["cases"] if c["kind"] == "property" and c["status"] == "failed"]
    assert [c["check"] for c in shrunk] == ["shrink.prefix_preserved"] and shrunk[0]["details"]["falsifying_params"]


def test_a_detached_grandchild_dies_with_the_killed_worker(tmp_path, monkeypatch):
    pidfile = tmp_path / "grandchild.pid"
    monkeypatch.setenv("RESIZE_TEST_PIDFILE", str(pidfile))
    code, cases, _ = _run(tmp_path / "report", "faulty:DetachesAGrandchildThenHangs", ONE_GROW, timeout="8")
    assert cases[ONE_GROW]["status"] == "error" and "timed out" in cases[ONE_GROW]["message"]
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), f"the detached grandchild {pid} outlived its killed worker"


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
