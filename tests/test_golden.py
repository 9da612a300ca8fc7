"""Golden files: the committed set matches the reference, a changed number is caught and named,
the loader refuses pickles, the suite compares adapters with stored truth."""

import json
import os
import shutil

import numpy as np
import pytest

from harness import cli
from harness.adapter import Capabilities
from harness.adapters.reference import ReferenceAdapter
from harness.golden import GoldenFormatError, generate, operations, store
from harness.golden.cases import all_cases
from harness.runner import Runner
from reference import resize_matrix

GOLDEN = generate.default_dir()


def _golden(*args):
    return cli.main(["golden", *args])


@pytest.fixture()
def golden_copy(tmp_path):
    target = tmp_path / "golden"
    shutil.copytree(GOLDEN, target)
    return target


def test_committed_set_matches_the_reference(capsys):
    assert _golden("check") == 0
    out = capsys.readouterr().out
    assert f"PASS: {len(all_cases())} matched, 0 mismatched, 0 added, 0 removed, 0 orphaned" in out


def test_committed_set_is_small_and_covers_the_edge_cases():
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(GOLDEN) for f in files)
    assert size < 300_000, size
    cases, orphans = store.scan(GOLDEN)
    assert not orphans and set(cases) == set(all_cases())
    params = [store.read_meta(p)["parameters"] for p in cases.values()]
    assert {p["dtype"] for p in params} == {"float32", "float16", "bfloat16"}
    params = [p for p in params if "old" in p and "new" in p]
    assert {p.get("tie") for p in params} >= {"tied", "untied"}
    assert {p.get("bias") for p in params} >= {"vector", "row", "multi", "none"}
    deltas = {p["new"] - p["old"] for p in params}
    assert {1, -1, 0} <= deltas and max(deltas) > 10 and min(deltas) < -10
    assert any(p["new"] == 1 for p in params)
    meta = store.read_meta(cases["model_grow_untied_row_bfloat16"])
    assert set(meta["generated_by"]) == {"python", "tensorflow", "numpy", "harness"}


def _bump_one_number(folder):
    meta, arrays = store.read_case(folder)
    key = next(k for k in sorted(arrays) if k.startswith("expected."))
    values = arrays[key].astype(np.float32)
    values.flat[0] += 0.5
    arrays[key] = values.astype(arrays[key].dtype)
    meta.pop("arrays")
    store.write_case(os.path.dirname(folder), meta, arrays)
    return key


def test_one_changed_number_fails_and_names_the_case(golden_copy, capsys):
    key = _bump_one_number(str(golden_copy / "model_grow_by_1_tied"))
    assert _golden("check", "--dir", str(golden_copy)) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("MISMATCH"))
    assert "model_grow_by_1_tied" in line and key in line
    assert "max abs diff 0.5" in line and "tolerance (atol=1e-06" in line
    assert f"FAIL: {len(all_cases()) - 1} matched, 1 mismatched (model_grow_by_1_tied)" in out


def test_added_removed_and_orphaned_cases_are_reported(golden_copy, capsys):
    shutil.rmtree(golden_copy / "matrix_noop")                                      # added
    shutil.copytree(golden_copy / "bias_row_noop", golden_copy / "bias_gone")       # removed
    meta = json.loads((golden_copy / "bias_gone" / "case.json").read_text())
    meta["name"] = "bias_gone"
    (golden_copy / "bias_gone" / "case.json").write_text(json.dumps(meta))
    (golden_copy / "stray").mkdir()                                                  # orphaned
    shutil.copy(golden_copy / "matrix_grow_by_1" / "arrays.npz", golden_copy / "stray" / "arrays.npz")
    assert _golden("check", "--dir", str(golden_copy)) == 1
    out = capsys.readouterr().out
    assert "ADDED matrix_noop" in out and "REMOVED bias_gone" in out
    assert "ORPHANED" in out and "arrays.npz without case.json" in out


def test_corrupt_case_json_is_bad_input_naming_the_file(golden_copy, capsys):
    path = golden_copy / "matrix_grow_by_1" / "case.json"
    path.write_text("{not json")
    assert _golden("check", "--dir", str(golden_copy)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "not valid JSON" in err


def test_loader_rejects_pickled_object_arrays(golden_copy, capsys):
    folder = golden_copy / "matrix_grow_by_1"
    meta = store.read_meta(folder)
    arrays = {k: np.empty(v["shape"], dtype=object) for k, v in meta["arrays"].items()}
    np.savez(folder / "arrays.npz", **arrays)  # pickles the object arrays
    with pytest.raises(GoldenFormatError, match="pickled"):
        store.read_case(folder)
    assert _golden("check", "--dir", str(golden_copy), "-k", "matrix_grow_by_1") == 2
    assert "arrays.npz" in capsys.readouterr().err


def test_regen_selects_writes_atomically_and_is_byte_stable(tmp_path, capsys):
    assert _golden("regen", "--dir", str(tmp_path), "-k", "matrix_grow_by_1") == 0
    assert sorted(os.listdir(tmp_path)) == ["matrix_grow_by_1"]
    first = (tmp_path / "matrix_grow_by_1" / "arrays.npz").read_bytes()
    assert _golden("regen", "--dir", str(tmp_path), "-k", "matrix_grow_by_1") == 0
    assert (tmp_path / "matrix_grow_by_1" / "arrays.npz").read_bytes() == first
    assert sorted(os.listdir(tmp_path / "matrix_grow_by_1")) == ["arrays.npz", "case.json"]  # no temp files
    with open(os.path.join(GOLDEN, "matrix_grow_by_1", "arrays.npz"), "rb") as fh:
        assert first == fh.read()  # the committed bytes: regen is reproducible
    assert _golden("regen", "--dir", str(tmp_path), "-k", "no_such_case") == 2


def _golden_results(adapter, select="golden"):
    runner = Runner(adapter, select=[select], profile="dev", seed=0)
    return runner.run()


def test_reference_passes_every_golden_case():
    results = _golden_results(ReferenceAdapter())
    assert len(results) == sum(1 for c in all_cases().values() if operations.get(c.operation).check) >= 26
    assert all(r.status == "passed" for r in results), [(r.id, r.message) for r in results if r.status != "passed"]


class OwnRNG(ReferenceAdapter):
    """Correct, but draws new rows from its own RNG: only kept rows, shapes, dtypes and finiteness count."""

    def capabilities(self):
        caps = super().capabilities()
        return Capabilities(caps.tie_modes, caps.bias_layouts, caps.dtypes, caps.flags - {"reference_rng"})

    def resize_matrix(self, matrix, n):
        return resize_matrix(matrix, n, seed=12345)


def test_adapter_without_reference_rng_is_compared_on_kept_rows_only():
    results = _golden_results(OwnRNG(), "golden.matrix_resize")
    assert results and all(r.status == "passed" for r in results), [(r.id, r.message) for r in results]


class NoLoad(ReferenceAdapter):
    def capabilities(self):
        caps = super().capabilities()
        return Capabilities(frozenset({"tied"}), caps.bias_layouts, frozenset({"float32"}),
                            caps.flags - {"load_matrix"})


def test_golden_cases_the_adapter_cannot_do_are_not_applicable():
    results = {r.id: r for r in _golden_results(NoLoad())}
    model = [r for r in results.values() if r.check == "golden.model_resize"]
    assert model and all(r.status == "not_applicable" and "load_matrix" in r.message for r in model)
    f16 = results["golden.matrix_resize[case=matrix_grow_float16]"]
    assert f16.status == "not_applicable" and "float16" in f16.message
    assert results["golden.matrix_resize[case=matrix_grow_by_1]"].status == "passed"


# -- stored tolerances: compared, never trusted ----------------------------------------
def _store_tolerance(folder, tolerance, bump_new_row=0.0):
    """Rewrite a case with another stored tolerance (and optionally a changed value in its last,
    randomly initialised row)."""
    meta, arrays = store.read_case(folder)
    meta["tolerance"] = tolerance
    if bump_new_row:
        values = arrays["expected.matrix"].copy()
        values[-1, 0] += bump_new_row
        arrays["expected.matrix"] = values
    meta.pop("arrays")
    store.write_case(os.path.dirname(folder), meta, arrays)


def test_a_loosened_stored_tolerance_is_reported_and_not_used(golden_copy, capsys):
    """Mutant golden file: its tolerance loosened to 0.5 hides a 0.25 change of a new row."""
    _store_tolerance(str(golden_copy / "matrix_grow_by_1"), {"atol": 0.5, "rtol": 0.0}, bump_new_row=0.25)
    assert _golden("check", "--dir", str(golden_copy), "-k", "matrix_grow_by_1") == 1
    out = capsys.readouterr().out
    assert "MISMATCH matrix_grow_by_1: case.json tolerance: {'atol': 1e-06, 'rtol': 0.0} now, stored " \
           "{'atol': 0.5, 'rtol': 0.0}" in out
    line = next(x for x in out.splitlines() if x.startswith("MISMATCH matrix_grow_by_1: expected.matrix"))
    assert "max abs diff 0.25" in line and "tolerance (atol=1e-06" in line


def test_a_stricter_stored_tolerance_is_reported_too(golden_copy, capsys):
    _store_tolerance(str(golden_copy / "matrix_grow_by_1"), {"atol": 0.0, "rtol": 0.0})
    assert _golden("check", "--dir", str(golden_copy), "-k", "matrix_grow_by_1") == 1
    assert "MISMATCH matrix_grow_by_1: case.json tolerance" in capsys.readouterr().out


def test_a_run_that_loosens_the_tolerance_is_reported(monkeypatch, capsys):
    """Mutant harness: the float32 tolerance loosened in the code; the stored files disagree."""
    monkeypatch.setitem(operations.TOLERANCES, "float32", 1e-2)
    assert _golden("check", "-k", "matrix_grow_by_1") == 1
    assert "case.json tolerance: {'atol': 0.01, 'rtol': 0.0} now, stored {'atol': 1e-06" in capsys.readouterr().out


def test_replay_refuses_a_golden_file_whose_tolerance_differs(golden_copy, monkeypatch):
    """Mutant golden file: a loosened tolerance would let an adapter drawing other new rows pass."""
    from mutants_golden import GoldenMatrixOtherSeed

    import suites.golden as golden_suite

    _store_tolerance(str(golden_copy / "matrix_grow_by_1"), {"atol": 10.0, "rtol": 0.0})
    monkeypatch.setattr(golden_suite, "GOLDEN_DIR", str(golden_copy))
    for adapter in (GoldenMatrixOtherSeed(), ReferenceAdapter()):
        (r,) = _golden_results(adapter, "golden.matrix_resize[case=matrix_grow_by_1]")
        assert r.status == "error", (r.status, r.message)
        assert "stores tolerance {'atol': 10.0, 'rtol': 0.0}" in r.message and "atol': 1e-06" in r.message
