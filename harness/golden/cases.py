"""The golden case definitions: name, operation, parameters and data seed of each case.

Add a case by appending to ``CASES`` (a new operation: register it in
``harness.golden.operations`` first), then ``resize-conformance golden regen -k NAME``.
"""

import dataclasses
import os

from harness.golden.operations import default_tolerance
from harness.golden.store import CASE_JSON, GoldenFormatError


@dataclasses.dataclass(frozen=True)
class CaseDef:
    name: str
    operation: str
    parameters: dict
    seed: int
    description: str

    @property
    def tolerance(self):
        return default_tolerance(self.parameters.get("dtype", "float32"))


def _matrix(name, old, new, description, *, width=4, dtype="float32", seed):
    params = {"old": old, "new": new, "width": width, "dtype": dtype, "resize_seed": 0,
              "initializer_range": 0.02}
    return CaseDef(f"matrix_{name}", "resize_matrix", params, seed, description)


def _bias(name, old, new, bias, description, *, dtype="float32", seed):
    return CaseDef(f"bias_{name}", "resize_bias", {"old": old, "new": new, "bias": bias, "dtype": dtype},
                   seed, description)


def _model(name, old, new, tie, bias, description, *, width=4, dtype="float32", resize_seed=0, seed):
    params = {"old": old, "new": new, "width": width, "tie": tie, "bias": bias, "dtype": dtype,
              "resize_seed": resize_seed}
    return CaseDef(f"model_{name}", "resize_model", params, seed, description)


# The resize seed of matrix cases is 0: an adapter declaring 'reference_rng' promises that its
# resize_matrix(m, n) draws new rows like reference.resize_matrix(m, n, seed=0).
CASES = (
    _matrix("grow_by_1", 8, 9, "grow by one row", seed=101),
    _matrix("grow_by_many", 8, 40, "grow by many rows", seed=102),
    _matrix("grow_from_1", 1, 5, "grow a single-row matrix", width=3, seed=103),
    _matrix("shrink_by_1", 9, 8, "shrink by one row", seed=104),
    _matrix("shrink_by_many", 40, 5, "shrink by many rows", seed=105),
    _matrix("shrink_to_1", 12, 1, "shrink to a single row", width=3, seed=106),
    _matrix("noop", 7, 7, "same size: a no-op", seed=107),
    _matrix("grow_float16", 6, 10, "grow a float16 matrix", dtype="float16", seed=108),
    _matrix("grow_bfloat16", 6, 10, "grow a bfloat16 matrix", dtype="bfloat16", seed=109),
    _matrix("shrink_float16", 10, 4, "shrink a float16 matrix", dtype="float16", seed=110),
    _matrix("shrink_bfloat16", 10, 4, "shrink a bfloat16 matrix", dtype="bfloat16", seed=111),
    _bias("vector_grow_by_1", 8, 9, "vector", "[V] bias grown by one entry", seed=201),
    _bias("row_grow_by_many", 8, 40, "row", "[1, V] bias grown by many entries", seed=202),
    _bias("multi_shrink_by_many", 40, 5, "multi", "two bias keys ([V] and [1, V]) shrunk by many", seed=203),
    _bias("multi_grow_float16", 6, 13, "multi", "two float16 bias keys grown", dtype="float16", seed=204),
    _bias("vector_shrink_to_1_bfloat16", 12, 1, "vector", "bfloat16 [V] bias shrunk to one entry",
          dtype="bfloat16", seed=205),
    _bias("row_noop", 7, 7, "row", "[1, V] bias at the same size", seed=206),
    _model("grow_by_1_tied", 8, 9, "tied", "none", "tied model grown by one token", seed=301),
    _model("grow_by_many_untied_vector", 8, 40, "untied", "vector", "untied model with a [V] bias grown by many",
           resize_seed=7, seed=302),
    _model("shrink_by_1_tied_vector", 9, 8, "tied", "vector", "tied model with a [V] bias shrunk by one",
           seed=303),
    _model("shrink_by_many_untied_multi", 40, 5, "untied", "multi",
           "untied model with two bias keys shrunk by many", seed=304),
    _model("shrink_to_1_untied_row", 12, 1, "untied", "row", "untied model with a [1, V] bias shrunk to one token",
           width=3, seed=305),
    _model("noop_tied_multi", 8, 8, "tied", "multi", "same-size resize of a tied model: a no-op", seed=306),
    _model("grow_tied_multi_float16", 6, 13, "tied", "multi", "float16 tied model with two bias keys grown",
           dtype="float16", seed=307),
    _model("grow_untied_row_bfloat16", 8, 12, "untied", "row", "bfloat16 untied model with a [1, V] bias grown",
           dtype="bfloat16", resize_seed=3, seed=308),
    _model("shrink_untied_multi_float16", 12, 5, "untied", "multi", "float16 untied model shrunk",
           dtype="float16", seed=309),
    CaseDef("pad_grow_to_multiple_of_8", "pad_to_multiple_of",
            {"old": 10, "new": 13, "pad_to_multiple_of": 8, "width": 4, "dtype": "float32", "resize_seed": 0},
            401, "grow to 13 padded up to a multiple of 8 (16 rows)"),
    CaseDef("pad_shrink_to_multiple_of_4", "pad_to_multiple_of",
            {"old": 20, "new": 6, "pad_to_multiple_of": 4, "width": 4, "dtype": "bfloat16", "resize_seed": 0},
            402, "bfloat16 shrink to 6 padded up to a multiple of 4 (8 rows)"),
    CaseDef("mean_grow_float32", "mean_resize_matrix",
            {"old": 12, "new": 20, "width": 4, "dtype": "float32", "resize_seed": 5},
            403, "grow with new rows drawn from the old rows' mean and covariance"),
    CaseDef("remap_shuffle_and_add", "remap_matrix",
            {"old_vocab": ["<pad>", "a", "b", "c", "d"], "new_vocab": ["<pad>", "d", "x", "b", "y", "a"],
             "width": 4, "dtype": "float32", "resize_seed": 0},
            404, "vocabulary remap: shared tokens move, new tokens initialised, dropped tokens gone"),
    CaseDef("width_grow_float16", "resize_width",
            {"rows": 6, "old_width": 4, "new_width": 7, "dtype": "float16"}, 405,
            "float16 [6, 4] matrix widened to 7 columns (zero padded)"),
)


def all_cases():
    """Every defined case, by name."""
    names = [c.name for c in CASES]
    if len(names) != len(set(names)):
        raise ValueError("duplicate golden case names")
    return {c.name: c for c in CASES}


def check_tolerance(meta):
    """The tolerance a stored case is compared with: its definition's (by dtype), never the file's."""
    case = all_cases().get(meta["name"])
    return dict(case.tolerance) if case else default_tolerance(meta["parameters"].get("dtype", "float32"))


def require_check_tolerance(meta, folder):
    """Raise GoldenFormatError when ``case.json`` stores another tolerance than the check's: a
    loosened file would let a wrong result pass, a stale one hides a change of the definition."""
    want = check_tolerance(meta)
    if meta["tolerance"] != want:
        raise GoldenFormatError(f"{os.path.join(os.fspath(folder), CASE_JSON)}: stores tolerance {meta['tolerance']}, "
                                f"the check uses {want}; regenerate it ('resize-conformance golden regen -k "
                                f"{meta['name']}')")
    return want
