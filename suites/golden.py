"""Golden files: the adapter's operation on stored inputs must give the stored reference result.

Each case is a folder of ``golden/`` (see harness.golden). Kept rows and bias values must be
bit-exact; new random rows are compared with the stored ones (within the case's tolerance)
only when the adapter declares ``reference_rng``, otherwise they must just be finite; shapes,
dtypes, the tie state and the config vocab size always. Case ids name the golden case.
"""

import os

import numpy as np

from harness.checks import check
from harness.compare import expect, expect_close, expect_dtype, expect_ok, expect_shape
from harness.golden import store
from harness.golden.cases import require_check_tolerance
from harness.golden.generate import default_dir

GOLDEN_DIR = default_dir()


def _index(directory):
    """``{operation: [case names]}`` of the case folders whose case.json names an operation.

    Unreadable cases are left to ``resize-conformance golden check`` (which exits 2 on them)."""
    by_op = {}
    if not os.path.isdir(directory):
        return by_op
    cases, _ = store.scan(directory)
    for name, path in cases.items():
        try:
            meta = store.read_meta(path)
        except store.GoldenFormatError:
            continue
        by_op.setdefault(meta["operation"], []).append(name)
    return by_op


_BY_OP = _index(GOLDEN_DIR)


def _cases(operation):
    return tuple({"case": name} for name in sorted(_BY_OP.get(operation, ())))


def _load(p):
    folder = os.path.join(GOLDEN_DIR, p["case"])
    meta, arrays = store.read_case(folder)
    require_check_tolerance(meta, folder)  # a file with another (e.g. loosened) tolerance is an error
    return meta, arrays


def _applies(caps, params):
    """Not applicable when the stored case needs a dtype, tie mode, bias layout or shrink the adapter lacks."""
    try:
        meta = store.read_meta(os.path.join(GOLDEN_DIR, params["case"]))
    except store.GoldenFormatError:
        return None  # let the case run and end in an error naming the file
    q = meta["parameters"]
    if q.get("dtype") and q["dtype"] not in caps.dtypes:
        return f"golden case needs dtype '{q['dtype']}' (adapter supports {sorted(caps.dtypes)})"
    if q.get("tie") and q["tie"] not in caps.tie_modes:
        return f"golden case needs tie mode '{q['tie']}' (adapter supports {sorted(caps.tie_modes)})"
    if q.get("bias") and q["bias"] not in caps.bias_layouts:
        return f"golden case needs bias layout '{q['bias']}' (adapter supports {sorted(caps.bias_layouts)})"
    if q.get("new", 0) < q.get("old", 0) and not caps.has("shrink"):
        return "golden case shrinks; adapter does not support shrinking"
    return None


def _np(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _compare_matrix(ctx, what, observed, expected, old, tolerance):
    """Shape and dtype; rows [0, old) bit-exact; new rows like the stored ones (reference_rng) or finite."""
    expect(observed is not None, f"{what} is missing after the resize")
    expect_shape(observed, expected.shape, what)
    expect_dtype(observed, store.dtype_name(expected), what)
    keep = min(old, expected.shape[0])
    expect_close(observed[:keep], expected[:keep], f"{what} kept rows [0, {keep}) vs golden")
    if expected.shape[0] > keep:
        new = np.asarray(observed[keep:]).astype(np.float64)
        expect(np.isfinite(new).all(), f"{what}: new rows hold NaN/Inf",
               observed={"nonfinite": int((~np.isfinite(new)).sum())})
        if ctx.caps.has("reference_rng"):
            expect_close(observed[keep:], expected[keep:], f"{what} new rows [{keep}, {expected.shape[0]}) "
                         "vs golden (adapter declares reference_rng)", atol=tolerance["atol"],
                         rtol=tolerance["rtol"])


def _compare_bias(after, arrays):
    expected = {k[len("expected.bias:"):]: v for k, v in arrays.items() if k.startswith("expected.bias:")}
    expect(set(after or {}) == set(expected), "bias keys differ from golden",
           expected=sorted(expected), observed=sorted(after or {}))
    for key, exp in expected.items():
        expect_shape(after[key], exp.shape, f"bias '{key}'")
        expect_dtype(after[key], store.dtype_name(exp), f"bias '{key}'")
        expect_close(after[key], exp, f"bias '{key}' vs golden (kept values, zeros for new entries)")


def _build_loaded(ctx, q, weights, tie):
    params = {"old": q["old"], "tie": tie, "bias": q.get("bias", "none"), "dtype": q["dtype"],
              "width": q.get("width", 4)}
    model = ctx.build(params)
    expect_ok(lambda: ctx.adapter.load_weights(model, weights), "load_weights(golden inputs)")
    return model


@check("golden.matrix_resize", cases=_cases("resize_matrix"), requires=("matrix_resize",), applies=_applies,
       property="resize_matrix on a stored matrix gives the stored reference result: shape, dtype, kept rows "
                "bit-exact, new rows as stored when the adapter declares reference_rng (else finite).",
       why="Compares the implementation with stored truth, so a defect shared by the code and its own "
           "self-checks (or a change between TensorFlow versions) still shows.")
def matrix_resize(ctx, p):
    meta, arrays = _load(p)
    q = meta["parameters"]
    src, exp = arrays["input.matrix"], arrays["expected.matrix"]
    out = _np(expect_ok(lambda: ctx.adapter.resize_matrix(src, q["new"]), "resize_matrix(golden input)"))
    _compare_matrix(ctx, "resized matrix", out, exp, q["old"], meta["tolerance"])


@check("golden.bias_resize", cases=_cases("resize_bias"), requires=("load_matrix",), applies=_applies,
       property="A model holding a stored bias dict, resized, holds the stored reference bias: every key, "
                "shape, dtype, kept values bit-exact and new entries zero.",
       why="Bias handling is deterministic, so any difference from the reference's stored result is a defect.")
def bias_resize(ctx, p):
    meta, arrays = _load(p)
    q = meta["parameters"]
    weights = {k[len("input."):]: v for k, v in arrays.items() if k.startswith("input.bias:")}
    tie = "tied" if "tied" in ctx.caps.tie_modes else "untied"
    model = _build_loaded(ctx, q, weights, tie)
    expect_ok(lambda: ctx.adapter.resize(model, q["new"]), f"resize {q['old']} -> {q['new']}")
    _compare_bias(ctx.adapter.read_bias(model), arrays)


@check("golden.model_resize", cases=_cases("resize_model"), requires=("load_matrix",), applies=_applies,
       property="A model holding stored weights, resized, holds the stored reference weights: input, output "
                "and bias shapes, dtypes and kept values, tie state, config vocab size, and the new rows when "
                "the adapter declares reference_rng.",
       why="Checks the whole-model resize against stored truth rather than against itself.")
def model_resize(ctx, p):
    meta, arrays = _load(p)
    q, a = meta["parameters"], ctx.adapter
    weights = {k[len("input."):]: v for k, v in arrays.items() if k.startswith("input.")}
    model = _build_loaded(ctx, q, weights, q["tie"])
    if ctx.caps.has("reference_rng"):
        expect_ok(lambda: a.resize_seeded(model, q["new"], q["resize_seed"]),
                  f"resize_seeded {q['old']} -> {q['new']} (seed {q['resize_seed']})")
    else:
        expect_ok(lambda: a.resize(model, q["new"]), f"resize {q['old']} -> {q['new']}")
    expected = meta.get("expected") or {}
    vocab = a.read_config_vocab_size(model)
    expect(vocab == expected.get("vocab_size"), f"config vocab size {vocab}, golden {expected.get('vocab_size')}",
           expected=expected.get("vocab_size"), observed=vocab)
    tied = a.is_tied(model)
    expect(tied == expected.get("tied"), f"tied={tied} after the resize, golden tied={expected.get('tied')}",
           expected=expected.get("tied"), observed=tied)
    tol = meta["tolerance"]
    _compare_matrix(ctx, "input matrix", a.read_input_matrix(model), arrays["expected.input"], q["old"], tol)
    if "expected.output" in arrays:
        _compare_matrix(ctx, "output matrix", a.read_output_matrix(model), arrays["expected.output"], q["old"], tol)
    _compare_bias(a.read_bias(model), arrays)
