"""report.json: building from a real run, the schema, strict JSON, Markdown, atomic writes."""

import copy
import datetime as dt
import json
import os

import numpy as np
import pytest

from harness.registry import resolve
from harness.report import (
    build_report,
    gate,
    load_report,
    render_markdown,
    to_jsonable,
    validate_report,
    write_report,
    write_text_atomic,
)
from harness.results import STATUSES, CaseResult
from harness.runner import Runner


@pytest.fixture(scope="module")
def run():
    adapter = resolve("reference")
    runner = Runner(adapter, adapter_spec="reference", profile="dev", select=["grow.shape"])
    started = dt.datetime.now(dt.UTC)
    results = runner.run()
    return adapter, runner, results, started


def _build(run, results=None, planned_total=None, partial=False):
    adapter, runner, real, started = run
    results = real if results is None else results
    return build_report(results=results, planned_total=len(results) if planned_total is None else planned_total,
                        adapter=adapter, adapter_spec="reference", runner=runner, started_at=started,
                        finished_at=None if partial else dt.datetime.now(dt.UTC),
                        partial=partial, command="resize-conformance run --adapter reference")


def _failed_case(**extra):
    return CaseResult("grow.shape[x=1]", "grow.shape", "example", {"x": 1}, "failed",
                      "input matrix: shape [8, 8], expected [9, 8]", 0.01,
                      expected={"shape": [9, 8]}, observed={"shape": [8, 8]},
                      details={"max_abs_diff": 0.5, "atol": 0.0, "rtol": 0.0},
                      reproduce="resize-conformance run --adapter reference --select 'grow.shape[x=1]'",
                      seed=7, **extra)


def test_report_from_real_run_is_valid(run):
    report = _build(run)
    validate_report(report)
    s = report["summary"]
    assert set(s["counts"]) == set(STATUSES)
    assert s["collected"] == s["expected"] == s["total"] == len(run[2]) > 0
    assert s["counts"]["passed"] == s["total"] and s["gate"] == "pass" and s["gate_reasons"] == []
    assert [c["id"] for c in report["checks"]] == ["grow.shape"]
    assert report["run"]["adapter"]["spec"] == "reference"
    assert report["run"]["options"]["select"] == ["grow.shape"]
    assert report["run"]["versions"]["harness"]
    assert all(c["check"] == "grow.shape" for c in report["cases"])
    json.dumps(report, allow_nan=False)


def test_write_and_load_roundtrip(run, tmp_path):
    report = _build(run)
    json_path, md_path = write_report(report, tmp_path / "out")
    assert load_report(json_path) == report
    assert load_report(tmp_path / "out") == report
    assert open(md_path, encoding="utf-8").read().startswith("# Resize conformance report: reference")


def _invalid(report, mutate):
    bad = copy.deepcopy(report)
    mutate(bad)
    with pytest.raises(ValueError) as info:
        validate_report(bad)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_schema_rejects_failed_case_without_reproduce(run):
    report = _build(run, results=list(run[2]) + [_failed_case()])
    validate_report(report)
    message = _invalid(report, lambda r: r["cases"][-1].pop("reproduce"))
    assert "/cases/" in message and "reproduce" in message


def test_schema_rejects_unknown_status(run):
    message = _invalid(_build(run), lambda r: r["cases"][0].update(status="bogus"))
    assert "/cases/0/status" in message


def test_schema_rejects_missing_counts_key(run):
    message = _invalid(_build(run), lambda r: r["summary"]["counts"].pop("xpassed"))
    assert "/summary/counts" in message and "xpassed" in message


def test_schema_rejects_extra_top_level_key(run):
    _invalid(_build(run), lambda r: r.update(extra=1))


def test_gate_reasons(run):
    results = list(run[2]) + [_failed_case()]
    report = _build(run, results=results, planned_total=len(results) + 2)
    assert report["summary"]["gate"] == "fail"
    assert "1 case failed" in report["summary"]["gate_reasons"]
    assert f"collected {len(results)} of {len(results) + 2} expected cases" in report["summary"]["gate_reasons"]

    xpass = CaseResult("grow.shape[y=2]", "grow.shape", "example", {"y": 2}, "xpassed",
                       "expected to fail (bug) but passed", details={"strict": True})
    report = _build(run, results=list(run[2]) + [xpass])
    verdict, reasons = gate(report)
    assert verdict == "fail" and any("strict" in r for r in reasons)
    xpass.details["strict"] = False
    assert _build(run, results=list(run[2]) + [xpass])["summary"]["gate"] == "pass"


def test_markdown_lists_failures(run):
    report = _build(run, results=list(run[2]) + [_failed_case()])
    md = render_markdown(report)
    assert "## Failures and errors" in md
    assert "grow.shape[x=1]" in md
    assert "After growing to N rows" in md  # the property of the failing check
    assert '`{"shape":[9,8]}`' in md and '`{"shape":[8,8]}`' in md
    assert "max abs diff" in md
    assert "```sh\nresize-conformance run --adapter reference --select 'grow.shape[x=1]'\n```" in md
    assert "## Failures and errors" not in render_markdown(_build(run))


def test_markdown_escapes_pipes_in_table_cells(run):
    report = _build(run)
    report["run"]["adapter"]["name"] = "a|b"
    report["cases"][0]["check"] = "fam|ily.x"
    md = render_markdown(report)
    assert "| fam\\|ily |" in md


def test_nan_and_numpy_values_are_strict_json(run, tmp_path):
    case = _failed_case()
    case.observed = {"max": float("nan"), "min": -np.inf, "n": np.int64(3), "arr": np.array([1.5, np.nan])}
    case.details["max_abs_diff"] = np.float32("inf")
    report = _build(run, results=list(run[2]) + [case])
    json_path, _ = write_report(report, tmp_path)
    text = open(json_path, encoding="utf-8").read()
    assert "NaN" not in text and "Infinity" not in text
    loaded = load_report(json_path)
    last = loaded["cases"][-1]
    assert last["observed"] == {"max": "nan", "min": "-inf", "n": 3, "arr": [1.5, "nan"]}
    assert last["details"]["max_abs_diff"] == "inf"
    assert to_jsonable(float("nan")) == "nan"


def test_load_report_rejects_non_strict_json(run, tmp_path):
    report = _build(run)
    report["run"]["duration_s"] = "PLACEHOLDER"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report).replace('"PLACEHOLDER"', "NaN"))
    with pytest.raises(ValueError, match="strict JSON"):
        load_report(path)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "report.json"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    with pytest.raises(TypeError):
        write_text_atomic(target, object())  # fails mid-write
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["report.json"]
