"""Held state: what a user built from the model before a resize, and uses after it, computes
with the new vocabulary, or raises.

Users trace and compile their models before they resize them, and Keras caches such functions
for them (``predict_function``, ``test_function``, ``train_function``). Each check takes one way
(``Adapter.held_runners``, harness/held.py): build the model, create the held thing and call it
once on kept ids (so it traces and caches), resize, call it again on ids of the same shape (the
cached trace is reused): kept ids, and ids that use the new rows when growing. The result must
equal what the eager forward of the resized model gives, or the call must raise (loud). A stale
result (logits of the old vocabulary, a loss over it, a train step that updates variables the
model no longer has) fails with a message that says "stale".

A resize copies the kept rows, so a held thing that still reads the variables from before the
resize gives the same values on kept ids, and a loss over them may move by less than its
tolerance (a tiny model that predicts its own input scores ~1e-5 either way). Between the resize
and the calls the logits and loss checks therefore change the kept input rows, as fine-tuning
would (``_change_kept_rows``: rolled by one row and halved), and make sure the eager result on
kept ids then differs from the one before the resize (the loss check scales the rows by
``LOSS_FACTORS`` in turn until its loss moves); if it does not, a stale result could not be told
apart and the case is an error, never a pass.
"""

import numpy as np

from harness.checks import check
from harness.compare import expect, expect_close, fail
from harness.conditioning import PreconditionError
from harness.contract import AdapterContractError
from harness.held import KINDS, token_cross_entropy
from suites._params import P

TOL = {"float32": 1e-5, "float16": 2e-3, "bfloat16": 2e-2}
LOSS_TOL = 1e-4
LENGTH = 6
# Two fixed cases and no property case: every way traces or compiles the model (about a second
# per trace on a real class), and whether a held function sees the resize does not depend on the
# sizes drawn; the two cases cover both tie modes and both directions.
CASES = (
    P(6, 13, tie="untied", bias="multi", width=5),     # grow by more than a batch row, untied
    P(9, 4, tie="tied", bias="row"),                   # shrink, tied
)


def _shape(old, new):
    """``[B, LENGTH]``: one shape for every call, so the held trace is reused; room for every new id."""
    return max(2, -(-max(new - old, 0) // LENGTH) + 1), LENGTH


def _ids_with_new(ctx, old, new, shape):
    """Ids of ``shape`` holding every new id ``[old, new)`` at least once, the rest in ``[0, new)``."""
    values = np.arange(old, new, dtype=np.int32)
    fill = ctx.ids(new, batch=1, length=shape[0] * shape[1] - len(values), salt=3)[0]
    ids = np.concatenate([values, fill])
    return ctx.rng(salt=4).permutation(ids).reshape(shape).astype(np.int32)


def _call(run, ids):
    """``(result, None)``, or ``(None, exception)`` when the held thing raised (loud: allowed)."""
    try:
        return run(ids), None
    except (AdapterContractError, AssertionError):
        raise
    except Exception as exc:  # noqa: BLE001 - raising after the resize is an accepted outcome
        return None, exc


def _setup(ctx, p, way):
    """Build, create the held runner, call it once on kept ids. Returns (model, run, kept, first)."""
    a = ctx.adapter
    model = ctx.build(p)
    runners = a.held_runners(model)
    if way not in runners:
        raise PreconditionError(f"precondition not established: the adapter offers no held runner '{way}' "
                                f"(held_runners gave {sorted(runners)})")
    run = runners[way]()
    kept = ctx.ids(min(p["old"], p["new"]), batch=_shape(p["old"], p["new"])[0], length=LENGTH)
    first, exc = _call(run, kept)
    if exc is not None:
        first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise PreconditionError(f"precondition not established: the held {way} failed before the resize: "
                                f"{type(exc).__name__}: {first_line}")
    return model, run, kept, first


def _change_kept_rows(ctx, model, p, factor=0.5, matrix=None):
    """Write the kept rows of the resized input ``matrix`` (default: read now) rolled by one row and scaled
    by ``factor``: the variables the model has now differ from those it had before the resize on every
    kept id. Returns the matrix it started from."""
    matrix = np.asarray(ctx.adapter.read_input_matrix(model)) if matrix is None else matrix
    k = min(p["old"], p["new"])
    changed = matrix.copy()
    changed[:k] = factor * np.roll(matrix[:k], 1, axis=0)
    try:
        ctx.adapter.assign(model, "input", changed)
    except NotImplementedError:
        raise PreconditionError("precondition not established: the adapter cannot write the input matrix "
                                "(assign), so a held result that still reads the variables from before the "
                                "resize could not be told apart from a current one") from None
    return matrix


# Scales tried in turn until the eager loss on kept ids moves: a confident tiny model (loss ~1e-5)
# needs smaller logits, one whose logits are all near zero (loss ~log V) larger ones.
LOSS_FACTORS = (0.5, 4.0, 32.0)


def _tol(p):
    return TOL.get(p.get("dtype", "float32"), 1e-5)


def _loss_matches(got, want):
    """The loss comparison of every held loss case: ``got`` equals ``want`` within ``LOSS_TOL`` (relative to ``want``)."""
    return abs(got - want) <= LOSS_TOL * (1 + abs(want))


def _expect_logits(a, model, way, got, ids, p, what, before=None, expected=None):
    """``got`` equals the eager forward of the resized model on ``ids`` (``expected``, if already run);
    ``before``: the held result on the same ids before the resize (kept ids), to name a stale result as such."""
    expected = np.asarray(a.forward(model, ids) if expected is None else expected)
    got = np.asarray(got)
    if list(got.shape) != list(expected.shape):
        stale = got.ndim == expected.ndim and got.shape[-1] == p["old"]
        fail(f"{'stale: ' if stale else ''}the held {way} returned logits of shape {list(got.shape)} on {what} "
             f"after resizing {p['old']} -> {p['new']}; the eager forward of the resized model gives "
             f"{list(expected.shape)}" + (" (the held function still computes with the old vocabulary)"
                                          if stale else ""),
             expected={"shape": list(expected.shape)}, observed={"shape": list(got.shape)})
    if (before is not None and got.shape == np.shape(before) and np.allclose(got, before, atol=_tol(p), rtol=_tol(p))
            and not np.allclose(got, expected, atol=_tol(p), rtol=_tol(p))):
        fail(f"stale: the held {way} returned on {what} after resizing {p['old']} -> {p['new']} the logits it gave "
             "before the resize, although the model's kept rows have changed since; the eager forward of the "
             f"resized model differs by up to {float(np.max(np.abs(got - expected))):.3g}",
             expected={"max_abs_diff_vs_eager": 0.0},
             observed={"max_abs_diff_vs_eager": float(np.max(np.abs(got - expected))),
                       "max_abs_diff_vs_before_resize": float(np.max(np.abs(got - np.asarray(before))))},
             atol=_tol(p), rtol=_tol(p))
    expect_close(got, expected, f"held {way} on {what} after the resize vs the eager forward",
                 atol=_tol(p), rtol=_tol(p))


def _held_logits(ctx, p, way):
    a = ctx.adapter
    model, run, kept, first = _setup(ctx, p, way)
    expect_close(first, a.forward(model, kept), f"held {way} before the resize vs the eager forward",
                 atol=_tol(p), rtol=_tol(p))
    a.resize(model, p["new"])
    _change_kept_rows(ctx, model, p)
    now = np.asarray(a.forward(model, kept))
    # a stale result (what it gave before) would pass the comparison with the eager forward (expect_close)
    if now.shape == np.shape(first) and np.allclose(first, now, atol=_tol(p), rtol=_tol(p)):
        raise PreconditionError(
            f"precondition not established: after the resize {p['old']} -> {p['new']} and a change of the kept "
            f"input rows, the eager forward on kept ids gives what it gave before the resize (shape "
            f"{list(now.shape)}), so a held {way} that computes with the old variables could not be told apart "
            "from a current one")
    for ids, what in _after_ids(ctx, p, kept):
        got, exc = _call(run, ids)
        if exc is None:
            before, expected = (first, now) if ids is kept else (None, None)
            _expect_logits(a, model, way, got, ids, p, what, before=before, expected=expected)


def _after_ids(ctx, p, kept):
    out = [(kept, "kept ids")]
    if p["new"] > p["old"]:
        out.append((_ids_with_new(ctx, p["old"], p["new"], kept.shape), "ids using the new rows"))
    return out


def _held_loss(ctx, p, way):
    a = ctx.adapter
    model, run, kept, first = _setup(ctx, p, way)
    before_logits = a.forward(model, kept)
    before = token_cross_entropy(before_logits, kept)
    if not _loss_matches(first, before):
        raise PreconditionError(f"precondition not established: the held {way} gave loss {first!r} before the "
                                f"resize, the eager forward {before!r}")
    a.resize(model, p["new"])
    resized, seen = None, []
    for factor in LOSS_FACTORS:
        resized = _change_kept_rows(ctx, model, p, factor, resized)
        kept_logits = a.forward(model, kept)
        seen.append(token_cross_entropy(kept_logits, kept))
        if not _loss_matches(before, seen[-1]):  # a stale loss (the one before) would fail the comparison
            break
    else:
        raise PreconditionError(
            f"precondition not established: after the resize {p['old']} -> {p['new']} and the kept input rows "
            f"rolled and scaled by {', '.join(f'{f:g}' for f in LOSS_FACTORS)}, the eager loss on kept ids "
            f"({', '.join(f'{x:.6g}' for x in seen)}) still equals the loss before the resize ({before:.6g}) "
            f"within {LOSS_TOL:g}, so a held {way} that computes with the old variables could not be told apart "
            "from a current one")
    for ids, what in _after_ids(ctx, p, kept):
        logits = kept_logits if ids is kept else a.forward(model, ids)
        want = token_cross_entropy(logits, ids)
        got, exc = _call(run, ids)
        if exc is not None or _loss_matches(got, want):
            continue
        stale = ids is kept and _loss_matches(got, before)
        fail(f"{'stale: ' if stale else ''}the held {way} returned loss {got:.6g} on {what} after resizing "
             f"{p['old']} -> {p['new']}; the eager forward of the resized model (logits "
             f"{list(logits.shape)}) gives {want:.6g}"
             + (f", the model before the resize (logits {list(before_logits.shape)}) gave {before:.6g}"
                if stale else ""),
             expected=want, observed=got, before_resize=before)


def _held_train(ctx, p, way):
    a = ctx.adapter
    model, run, kept, _ = _setup(ctx, p, way)
    a.resize(model, p["new"])
    for ids, what in _after_ids(ctx, p, kept):
        in0 = a.read_input_matrix(model).astype(np.float64)
        out0 = None if a.is_tied(model) else a.read_output_matrix(model)
        loss, exc = _call(run, ids)
        if exc is not None:
            return
        expect(np.isfinite(loss), f"the held {way} step on {what} after the resize gave a non-finite loss "
                                  f"({loss})", observed=loss)
        _expect_trained(a, model, way, ids, what, p, in0, out0)


def _expect_trained(a, model, way, ids, what, p, in0, out0):
    """Every input row the ids use changed, and every row of an untied output matrix."""
    in1 = a.read_input_matrix(model).astype(np.float64)
    used = sorted(set(int(i) for i in np.unique(ids)))
    unchanged = [i for i in used if np.array_equal(in0[i], in1[i])]
    if len(unchanged) == len(used):
        fail(f"stale: the held {way} step on {what} after resizing {p['old']} -> {p['new']} changed none of "
             f"the {len(used)} rows of the current input matrix (shape {list(in1.shape)}) its ids use: it "
             "updated variables the model no longer has",
             expected="every used row updated", observed={"unchanged_rows": unchanged[:20]})
    expect(not unchanged, f"{_stale_rows(unchanged, p)}the held {way} step on {what} after the resize left "
                          f"{len(unchanged)} of the {len(used)} input rows its ids use unchanged",
           expected="every used row updated", observed={"unchanged_rows": unchanged[:20]})
    if out0 is not None:
        out1 = a.read_output_matrix(model).astype(np.float64)
        out0 = np.asarray(out0, np.float64)
        rows = min(out0.shape[0], out1.shape[0])
        stuck = [i for i in range(rows) if np.array_equal(out0[i], out1[i])]
        expect(not stuck, f"{'stale: ' if len(stuck) == rows else _stale_rows(stuck, p)}the held {way} step "
                          f"on {what} after the resize left {len(stuck)} of the {rows} rows of the current "
                          "output matrix unchanged",
               expected="every output row updated", observed={"unchanged_rows": stuck[:20]})


def _stale_rows(rows, p):
    """A "stale" prefix when exactly the new rows were left alone: the step trains the old vocabulary."""
    if not rows or rows != list(range(p["old"], p["new"])):
        return ""
    return (f"stale: exactly the new rows [{p['old']}, {p['new']}) were not trained (the held step still "
            "computes with the vocabulary before the resize); ")


_RUN = {"logits": _held_logits, "loss": _held_loss, "train": _held_train}


def _held(way):
    return _RUN[KINDS[way]]


@check("held.tf_function", cases=CASES, requires=("graph_forward",),
       property="A tf.function over the forward with a [None, None] id signature, traced before the resize, "
                "gives the resized model's logits after it (or raises).",
       why="Serving code and custom training loops trace the model once and keep the function; one that "
           "still reads the old variables serves logits of the old vocabulary without a word.")
def tf_function(ctx, p):
    _held("tf_function")(ctx, p, "tf_function")


@check("held.xla_function", cases=CASES, requires=("graph_forward",),
       property="The same tf.function compiled with XLA (jit_compile=True), traced before the resize, gives "
                "the resized model's logits after it (or raises).",
       why="XLA recompiles for new shapes but keeps the traced graph: variables it captured stay captured.")
def xla_function(ctx, p):
    _held("xla_function")(ctx, p, "xla_function")


@check("held.keras_predict", cases=CASES, requires=("keras_logits",),
       property="model.predict called before the resize (Keras caches its predict_function) gives the "
                "resized model's logits after it (or raises).",
       why="Keras keeps predict_function across calls: a resize it does not see keeps predicting the old "
           "vocabulary.")
def keras_predict(ctx, p):
    _held("keras_predict")(ctx, p, "keras_predict")


@check("held.keras_test_on_batch", cases=CASES, requires=("keras_logits",),
       property="After model.compile and test_on_batch before the resize (the cached test_function), "
                "test_on_batch gives the resized model's loss (or raises).",
       why="Evaluation with a cached test_function scores the old vocabulary: metrics look fine while the "
           "model serves another one.")
def keras_test_on_batch(ctx, p):
    _held("keras_test_on_batch")(ctx, p, "keras_test_on_batch")


@check("held.keras_train_on_batch", cases=CASES, requires=("keras_logits",),
       property="After model.compile and train_on_batch before the resize (the cached train_function), a "
                "train_on_batch step updates the current variables, new rows included (or raises).",
       why="Fine-tuning after adding tokens is the reason to resize; a cached train step that updates the "
           "replaced variables trains nothing the model uses, silently.")
def keras_train_on_batch(ctx, p):
    _held("keras_train_on_batch")(ctx, p, "keras_train_on_batch")
