"""Smoke test of ``resize-conformance bench`` on tiny shapes. Measures; never asserts speed."""

import json

import numpy as np
import pytest

from harness import cli
from harness.bench import cases as bc
from harness.bench import measure, report
from harness.commands import bench as bench_cmd

NON_TRANSFORMERS = [c for c in bc.CASES if not c.transformers]


@pytest.mark.parametrize("case", NON_TRANSFORMERS, ids=lambda c: c.name)
@pytest.mark.parametrize("direction", bc.DIRECTIONS)
def test_each_case_resizes_a_tiny_matrix(case, direction):
    if case.grow_only and direction != bc.GROW:
        pytest.skip("grow only")
    src = bc.Source(12, 4, seed=3)
    n = bc.new_rows(12, 3, direction)
    out = case.prepare(src, n)()
    if case.group in ("floor", "reference"):
        value = np.asarray(out.value() if hasattr(out, "value") else out)
        assert value.shape == (n, 4)
        keep = min(12, n)
        assert np.array_equal(value[:keep], src.variable.numpy()[:keep])


def test_transformers_cases_resize_a_tiny_matrix():
    pytest.importorskip("transformers")
    src = bc.Source(10, 8, seed=1)
    helper = bc.BY_NAME["transformers.helper_v1"].prepare(src, 13)()
    assert tuple(helper.shape) == (13, 8)
    bc.BY_NAME["transformers.TFGPT2LMHeadModel"].prepare(src, 7)()


def test_skip_rules_and_options():
    big = bc.BY_NAME["transformers.TFBertForMaskedLM"]
    assert "optional" in bc.skip_reason(big, 128256, 4096, bc.GROW)
    assert bc.skip_reason(big, 128256, 4096, bc.GROW, models="all") == ""
    assert bc.skip_reason(bc.BY_NAME["part.rng"], 10, 4, bc.SHRINK) == "grow only"
    assert "available" in bc.skip_reason(bc.BY_NAME["reference.eager"], 1000, 1000, bc.GROW, mem_available=1e6)
    with pytest.raises(cli.UsageError):
        bench_cmd.parse_shapes("12by4")
    assert bench_cmd.parse_shapes("30522x768, 5X2") == [(30522, 768), (5, 2)]


def test_bench_command_writes_json_and_markdown(tmp_path):
    out = tmp_path / "b.json"
    code = cli.main(["bench", "--quick", "--shapes", "24x8", "--delta", "4", "--repeats", "2", "--in-process",
                     "--case", "reference.eager", "--case", "part.*", "--out", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    shape = data["shapes"][0]
    names = {(e["case"], e["direction"]) for e in shape["cases"]}
    assert ("reference.eager", "grow") in names and ("floor.tf_copy", "shrink") in names
    ok = [e for e in shape["cases"] if e["status"] == "ok"]
    assert ok and all(e["runs"] >= 1 and e["median_s"] is not None for e in ok)
    assert all(e["x_floor"] is not None for e in ok)
    assert "| reference.eager | grow |" in (tmp_path / "b.md").read_text()
    assert data["targets"]["rows"]  # verdicts are reported, whatever they are
    mem = next(e["memory"] for e in ok if e["case"] == "reference.eager" and e["direction"] == "grow")
    assert mem["extra_bytes"] >= 0 and mem["new_bytes"] == 28 * 8 * 4 and mem["method"]


def test_child_process_protocol():
    cfg = {"mode": "memory", "case": "floor.tf_copy", "direction": "shrink", "rows": 64, "width": 8,
           "delta": 8, "names": ["floor.tf_copy"]}
    result, error, tail = measure.run_child(cfg, timeout_s=300, echo=False)
    assert result is not None, (error, tail[-2000:])
    assert result["extra_bytes"] >= 0 and result["new_bytes"] == 56 * 8 * 4 and result["import_tensorflow_s"] > 0


def test_markdown_renders_skipped_and_errored_cases():
    raw = {"options": {"command": "x"}, "versions": {}, "shapes": [{
        "shape": "4x2", "rows": 4, "width": 2, "delta": 1, "matrix_bytes": 32, "cases": [
            {"case": "floor.tf_copy", "group": "floor", "direction": "grow", "status": "ok", "samples_s": [1e-3]},
            {"case": "reference.eager", "group": "reference", "direction": "grow", "status": "ok",
             "samples_s": [2e-3, 4e-3], "memory": {"multiple": 1.01}},
            {"case": "transformers.helper_v1", "group": "transformers", "direction": "grow", "status": "skipped",
             "reason": "disabled"}]}]}
    text = report.render_markdown(report.summarise(raw))
    assert "3.00x" in text and "disabled" in text and "1.01x" in text
