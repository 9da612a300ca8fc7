"""Fault injection through the CLI's default (worker-process) mode: the run completes, the
faulty cases are errors naming the fault, the other cases are unaffected, the report is valid."""

import os
import pathlib

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
