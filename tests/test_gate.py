"""Gate semantics in the library API and the CLI: baseline regressions, sharding and merge."""

import json

import mutants
import pytest

from harness import cli
from harness.api import ConformanceError, run
from harness.runner import ExpectedFailure

SELECT = ("grow.new_rows_initialised", "grow.shape")
# The mutant runs below test the gate, not hypothesis: shrink=False spares shrinking the failing
# property case (about 40 s a run); tests/test_isolation.py test_same_seed_same_report shrinks.


def test_api_reference_passes_and_mutant_fails():
    ok = run("reference", select=SELECT, profile="dev")
    assert ok.passed and ok.exit_code == 0 and not ok.failures
    seen = []
    bad = run(mutants.PadsMinusOne(), select=SELECT, profile="dev", shrink=False, on_fail=seen.append)
    assert not bad.passed and bad.exit_code == 1 and seen
    assert all(r.check == "grow.new_rows_initialised" for r in seen)
    with pytest.raises(ConformanceError, match="cases failed"):
        run(mutants.PadsMinusOne(), select=SELECT, profile="dev", shrink=False, on_fail="raise")


def test_api_expected_failures_and_strict_xpass():
    xf = [ExpectedFailure("grow.new_rows_initialised", "pads with -1")]
    assert run(mutants.PadsMinusOne(), select=SELECT, profile="dev", shrink=False, expected_failures=xf).passed
    strict = run("reference", select=SELECT, profile="dev", expected_failures=xf)
    assert not strict.passed and "strict expected failure passed" in " ".join(strict.report["summary"]["gate_reasons"])


def test_baseline_gate_fails_only_on_regressions():
    broken = run(mutants.PadsMinusOne(), select=SELECT, profile="dev", shrink=False).report
    assert run(mutants.PadsMinusOne(), select=SELECT, profile="dev", shrink=False, baseline=broken).passed
    good = run("reference", select=SELECT, profile="dev").report
    regressed = run(mutants.PadsMinusOne(), select=SELECT, profile="dev", shrink=False, baseline=good)
    assert not regressed.passed
    assert "regression" in regressed.report["summary"]["gate_reasons"][0]
    assert regressed.report["run"]["options"]["baseline_regressions"]


def test_cli_baseline_exit_codes(tmp_path):
    base = ["run", "--adapter", "mutants:PadsMinusOne", "--profile", "dev", "--no-shrink", "--in-process", "--quiet",
            "--select", SELECT[0]]
    assert cli.main(base + ["--report-dir", str(tmp_path / "a")]) == 1
    assert cli.main(base + ["--report-dir", str(tmp_path / "b"), "--baseline", str(tmp_path / "a")]) == 0
    assert cli.main(base + ["--report-dir", str(tmp_path / "c"), "--baseline", str(tmp_path / "nope")]) == 2


def _strip(report):
    r = json.loads(json.dumps(report))
    for key in ("started_at", "finished_at", "duration_s", "command"):
        r["run"].pop(key)
    for c in r["cases"]:
        c.pop("duration_s")
    return r


def test_sharded_and_merged_equals_unsharded(tmp_path):
    common = ["run", "--adapter", "reference", "--profile", "dev", "--in-process", "--quiet",
              "--select", "grow", "--select", "noop", "--select", "tied"]
    assert cli.main(common + ["--report-dir", str(tmp_path / "all")]) == 0
    for i in (1, 2, 3):
        assert cli.main(common + ["--shard", f"{i}/3", "--report-dir", str(tmp_path / str(i))]) == 0
    shard_sizes = [len(json.loads((tmp_path / str(i) / "report.json").read_text())["cases"]) for i in (1, 2, 3)]
    assert all(shard_sizes) and sum(shard_sizes) == len(json.loads((tmp_path / "all/report.json").read_text())["cases"])
    assert cli.main(["merge", *(str(tmp_path / str(i)) for i in (3, 1, 2)), "--report-dir", str(tmp_path / "m")]) == 0
    whole = json.loads((tmp_path / "all/report.json").read_text())
    merged = json.loads((tmp_path / "m/report.json").read_text())
    assert _strip(merged) == _strip(whole)
    # Missing or repeated shards, and non-shard reports, are one-line usage errors.
    assert cli.main(["merge", str(tmp_path / "1"), str(tmp_path / "2"), "--report-dir", str(tmp_path / "x")]) == 2
    assert cli.main(["merge", str(tmp_path / "1"), str(tmp_path / "1"), str(tmp_path / "2"),
                     "--report-dir", str(tmp_path / "x")]) == 2
    assert cli.main(["merge", str(tmp_path / "all"), "--report-dir", str(tmp_path / "x")]) == 2
    assert cli.main(["run", "--adapter", "reference", "--shard", "4/3", "--report-dir", str(tmp_path / "y")]) == 2
