"""The ``resize-conformance`` command, in-process and as a subprocess."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import cli, registry
from harness.adapters.reference import ReferenceAdapter
from harness.commands import run as run_command
from harness.report import load_report

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


class NoResizeAdapter(ReferenceAdapter):
    """A broken adapter: resize does nothing."""

    name = "noresize"

    def resize(self, model, new_num_tokens):
        return None


class SlowAdapter(ReferenceAdapter):
    name = "slow"

    def resize(self, model, new_num_tokens):
        time.sleep(1.0)
        return super().resize(model, new_num_tokens)


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _assert_clean_pass(report_dir):
    report = load_report(report_dir / "report.json")
    s = report["summary"]
    assert report["partial"] is False
    assert s["collected"] == s["expected"] > 0
    assert s["counts"]["failed"] == s["counts"]["error"] == 0
    assert s["gate"] == "pass"
    assert (report_dir / "report.md").exists()
    assert sorted(os.listdir(report_dir)) == ["report.json", "report.md"]  # no temp files left
    return report


def test_run_in_process(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code = cli.main(["run", "--adapter", "reference", "--select", "grow", "--report-dir", str(out_dir),
                     "--profile", "dev"])
    out = capsys.readouterr().out
    assert code == 0
    report = _assert_clean_pass(out_dir)
    assert {c["check"].split(".")[0] for c in report["cases"]} == {"grow"}
    assert report["run"]["command"].startswith("resize-conformance run --adapter reference")
    total = report["summary"]["total"]
    assert f"[{total:>4}/{total}] PASSED   " in out
    assert "gate: PASS" in out


def test_run_subprocess(tmp_path):
    proc = _cli("run", "--adapter", "reference", "--select", "grow", "--report-dir", str(tmp_path), "--profile", "dev")
    assert proc.returncode == 0, proc.stderr[-2000:]
    _assert_clean_pass(tmp_path)
    assert "Traceback" not in proc.stderr


def test_gate_fails_on_broken_adapter(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(registry.BUILTINS, "noresize", f"{__name__}:NoResizeAdapter")
    code = cli.main(["run", "--adapter", "noresize", "--select", "grow.shape[bias=none,dtype=float32,new=9,"
                     "old=8,tie=tied,width=8]", "--report-dir", str(tmp_path), "--quiet", "--in-process"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in out and "expected [9, 8]" in out
    report = load_report(tmp_path)
    case = report["cases"][0]
    assert case["status"] == "failed"
    assert case["reproduce"].startswith("resize-conformance run --adapter noresize --select ")
    assert report["summary"]["gate_reasons"] == ["1 case failed"]
    assert "## Failures and errors" in (tmp_path / "report.md").read_text()


def test_interrupt_writes_partial_report(tmp_path, capsys, monkeypatch):
    from harness.runner import Runner

    real = Runner.run_case
    calls = []

    def run_case(self, case, tmp_root=None):
        calls.append(case.id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, case, tmp_root)

    monkeypatch.setattr(Runner, "run_case", run_case)
    code = cli.main(["run", "--adapter", "reference", "--select", "grow.shape", "--report-dir", str(tmp_path),
                     "--profile", "dev", "--in-process"])
    assert code == 130
    report = load_report(tmp_path)
    assert report["partial"] is True
    statuses = [c["status"] for c in report["cases"]]
    assert statuses[:2] == ["passed", "passed"] and set(statuses[2:]) == {"skipped"}
    assert all(c["message"] == "not run: interrupted" for c in report["cases"][2:])
    assert report["summary"]["collected"] == 2 and report["summary"]["gate"] == "fail"
    assert "interrupted" in capsys.readouterr().err


def test_internal_error_keeps_results(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("progress printer broke")

    monkeypatch.setattr(run_command, "_progress", boom)
    code = cli.main(["run", "--adapter", "reference", "--select", "grow.shape", "--report-dir", str(tmp_path),
                     "--profile", "dev"])
    assert code == 3
    assert "internal error: RuntimeError: progress printer broke" in capsys.readouterr().err
    report = load_report(tmp_path)
    assert report["partial"] is True
    assert report["cases"][0]["status"] == "passed"  # the case that finished is not lost


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="POSIX signals")
def test_sigterm_writes_partial_report(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--adapter", "test_cli:SlowAdapter",
                             "--select", "grow.shape", "--report-dir", str(tmp_path), "--profile", "dev"],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if load_report(tmp_path)["summary"]["collected"] >= 1:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-2000:]
    report = load_report(tmp_path)
    assert report["partial"] is True
    assert report["summary"]["collected"] >= 1
    assert any(c["message"] == "not run: interrupted" for c in report["cases"])


def test_unknown_adapter_exits_2(tmp_path, capsys):
    code = cli.main(["run", "--adapter", "no-such-adapter", "--report-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no-such-adapter" in err
    assert "Traceback" not in err


def test_unknown_adapter_subprocess(tmp_path):
    proc = _cli("run", "--adapter", "no-such-adapter", "--report-dir", str(tmp_path))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [
    ["run", "--adapter", "reference", "--profile", "nope"],
    ["run", "--adapter", "reference", "--timeout", "0"],
    ["run", "--adapter", "reference", "--seed", "x"],
    ["frobnicate"],
    [],
])
def test_usage_errors_exit_2(args, tmp_path, capsys):
    if args and args[0] == "run":
        args = args + ["--report-dir", str(tmp_path)]
    assert cli.main(args) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_usage_error_of_a_command_module_exits_2_under_python_m(tmp_path):
    """``python -m harness.cli`` runs cli as ``__main__``: a command's UsageError must still be the one
    main catches (exit 2, one line), not an internal error (exit 3)."""
    missing = str(tmp_path / "missing.json")
    proc = _cli("diff", missing, missing, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [f"resize-conformance: error: {missing}: no such file"]


@pytest.mark.parametrize("argv", [
    ["run", "--adapter", "reference"], ["list-checks"], ["list-adapters"],
    ["certify", "--adapter", "reference", "-j", "1"], ["merge", "a", "--report-dir", "m"], ["golden", "check"],
    ["diff", "a", "b"], ["junit", "a", "-o", "x.xml"], ["env-error", "--report-dir", "e", "--adapter", "a", "--stage", "s"],
    ["bench", "--quick"],
])
def test_every_command_reads_a_frozen_options_object(argv):
    import dataclasses

    args = cli.build_parser().parse_args(argv)
    options = args.options_type.from_args(args, argv)
    assert dataclasses.is_dataclass(options) and type(options).__dataclass_params__.frozen
    assert args.handler.__module__ == type(options).__module__  # handler and options live in the command's module


def test_unwritable_report_dir_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cli.main(["run", "--adapter", "reference", "--report-dir", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "report directory" in err


def test_help_documents_exit_codes(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes" in out and "130" in out


def test_list_checks(capsys):
    assert cli.main(["list-checks"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("grow.shape "))
    assert "After growing to N rows" in line
    assert cli.main(["list-checks", "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    assert any(c["id"] == "grow.shape" and c["family"] == "grow" for c in checks)


def test_list_adapters(capsys):
    assert cli.main(["list-adapters"]) == 0
    out = capsys.readouterr().out
    assert any(line.split()[:2] == ["reference", "harness.adapters.reference:ReferenceAdapter"]
               for line in out.splitlines())


def test_list_checks_mutants_is_the_reverse_index(capsys):
    assert cli.main(["list-checks", "--mutants"]) == 0
    out = capsys.readouterr().out
    assert "\n    mutants.OffByOne  (message: 'input matrix: shape')  -- " in out
    assert "mutants_lead.HalfAppliedOnFailure  (message: 'after resize(')" in out
    blocks = out.split("\n")
    check_lines = [i for i, line in enumerate(blocks) if line and not line.startswith(" ")]
    assert all(blocks[i + 1].startswith("    ") for i in check_lines), "a check with no mutant"
    assert cli.main(["list-checks", "--json", "--mutants"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(r["mutants"] for r in rows)
    grow = next(r for r in rows if r["id"] == "grow.new_rows_initialised")
    assert {"mutant": "mutants_lead.NewRowsTenTimesTheBuildScale", "message": "fresh build"} in [
        {k: m[k] for k in ("mutant", "message")} for m in grow["mutants"]]


@pytest.mark.parametrize("argv, budget", [
    (["certify", "--adapter", "transformers"], 600.0), (["certify", "--adapter", "keras_hub"], 1800.0),
    (["certify", "--adapter", "keras_hub", "--class-timeout", "30"], 30.0),
])
def test_the_class_budget_defaults_by_family(argv, budget):
    """keras-hub's BLIP2 tasks need more than 600 s on 2 cores: its default budget is larger."""
    args = cli.build_parser().parse_args(argv + ["-j", "1"])
    assert args.options_type.from_args(args, argv).class_timeout_s == budget
