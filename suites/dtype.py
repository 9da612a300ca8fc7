"""Dtypes users run: a float16 / bfloat16 model stays in its dtype through resize, forward and
save/load (``grow.dtype_preserved`` covers the three resized weights on growth).

Every case here keeps its ``dtype`` (essential: never fitted to float32); an adapter that cannot
build the model in a dtype declares so in its capabilities and the case is not applicable.
"""

import numpy as np
import tensorflow as tf

from harness.checks import check
from harness.compare import expect, expect_ok
from harness.conditioning import PreconditionError
from suites._params import DTYPE_CASES, P, strategy
from suites.saveload import (
    FORMATS,
    expect_same_variables,
    format_offered,
    roundtrip,
    with_format,
)

LOW = ("float16", "bfloat16")
RESIZE_CASES = DTYPE_CASES + (P(12, 5, tie="tied", bias="vector", dtype="bfloat16"),)
SAVE_CASES = tuple(p.replace(fmt=f) for f in FORMATS for p in (
    P(8, 12, tie="tied", bias="vector", dtype="float16"),
    P(10, 4, tie="untied", bias="row", dtype="bfloat16")))


def runs_low_precision(caps, params):
    """``applies``: a property case draws float16/bfloat16 only, so the adapter must run one."""
    if params is None and not set(LOW) & set(caps.dtypes):
        return f"adapter runs no float16/bfloat16 model (dtypes {sorted(caps.dtypes)})"
    return None


def _saveable(caps, params):
    return runs_low_precision(caps, params) or format_offered(caps, params)


def built_in_dtype(ctx, model, p):
    """The precondition: the adapter really built the model in ``p['dtype']`` (else an error, not a pass)."""
    got = str(ctx.adapter.read_input_matrix(model).dtype)
    if got != p["dtype"]:
        raise PreconditionError(f"precondition not established: a {p['dtype']} model was asked for, "
                                f"the built input matrix is {got}")


def _dtypes(variables):
    return {name: str(value.dtype) for name, value in variables.items()}


def _resize(ctx, p, resize=None):
    """Build a ``p['dtype']`` model and resize it (a raise fails the property: the model cannot be
    resized in its dtype). Returns (model, variable dtypes before, after)."""
    a = ctx.adapter
    model = ctx.build(p)
    built_in_dtype(ctx, model, p)
    before = _dtypes(a.variable_values(model))
    resize = resize or a.resize
    expect_ok(lambda: resize(model, p["new"]), f"resize of a {p['dtype']} model to {p['new']}")
    return model, before, _dtypes(a.variable_values(model))


def _expect_dtypes_kept(p, before, after, when):
    for name, dtype in sorted(after.items()):
        want = before.get(name, p["dtype"])  # a variable the resize created: the model's dtype
        expect(dtype == want, f"{when}: variable '{name}' is {dtype}, expected {want}"
               + ("" if name in before else " (created by the resize; the model is " + p["dtype"] + ")"),
               expected={"name": name, "dtype": want}, observed={"name": name, "dtype": dtype})


@check("dtype.variables_keep_dtype", cases=RESIZE_CASES, strategy=strategy("any", dtypes=LOW),
       applies=runs_low_precision, essential=("dtype",),
       property="Resizing a float16/bfloat16 model works, and every variable afterwards (kept, replaced or "
                "new: embeddings, untied head, every bias entry) has the dtype it had, new ones the model's.",
       why="A weight recreated as float32 makes a half-precision model fail in the next forward or "
           "silently doubles its memory; a resize that raises in float16 cannot be used at all.")
def variables_keep_dtype(ctx, p):
    _, before, after = _resize(ctx, p)
    _expect_dtypes_kept(p, before, after, "after resize")


@check("dtype.forward_keeps_dtype", cases=RESIZE_CASES, strategy=strategy("any", dtypes=LOW),
       applies=runs_low_precision, essential=("dtype",),
       property="The logits of a float16/bfloat16 model have the same dtype after a resize as before.",
       why="A head that computes in float32 after a resize changes the numerics and memory of every "
           "later step (and breaks a mixed-precision loss scale).")
def forward_keeps_dtype(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    built_in_dtype(ctx, model, p)
    ids = np.asarray(ctx.ids(min(p["old"], p["new"])), np.int32)

    def logits_dtype():
        return a.call(model, tf.convert_to_tensor(ids)).dtype.name

    before = expect_ok(logits_dtype, "forward before resize")
    expect_ok(lambda: a.resize(model, p["new"]), f"resize of a {p['dtype']} model to {p['new']}")
    after = expect_ok(logits_dtype, "forward after resize")
    expect(after == before, f"logits are {after} after the resize, {before} before",
           expected={"dtype": before}, observed={"dtype": after})


@check("dtype.saveload_keeps_dtype", cases=SAVE_CASES, strategy=with_format(strategy("any", dtypes=LOW)),
       requires=("save_load",), applies=_saveable, essential=("dtype", "fmt"),
       property="A resized float16/bfloat16 model saved and loaded in each offered format comes back with "
                "every variable in its dtype and with bit-identical values.",
       why="A half-precision checkpoint that cannot be reloaded, or reloads upcast or rounded, loses the "
           "fine-tune or its memory budget.")
def saveload_keeps_dtype(ctx, p):
    a = ctx.adapter
    model, loaded, _ = roundtrip(ctx, p, built=lambda m: built_in_dtype(ctx, m, p))
    expect_same_variables(a.variable_values(model), a.variable_values(loaded), p["fmt"])
    got = str(a.read_input_matrix(loaded).dtype)
    expect(got == p["dtype"], f"load ({p['fmt']}): the input matrix is {got}, the model was {p['dtype']}",
           expected={"dtype": p["dtype"]}, observed={"dtype": got})


@check("dtype.resize_ignores_global_policy",
       cases=(P(8, 12, tie="tied", bias="vector", dtype="float16"),
              P(8, 12, tie="untied", bias="multi", dtype="bfloat16"),
              P(12, 5, tie="untied", bias="row", dtype="float16")),
       strategy=strategy("any", dtypes=LOW), requires=("dtype_policy",), applies=runs_low_precision,
       essential=("dtype",),
       property="A float16/bfloat16 model resized while the global dtype policy is back at float32 keeps "
                "every variable in its dtype: new weights take the model's dtype, not the global policy's.",
       why="The dtype belongs to the model: a resize after the policy changed (a float32 head built "
           "later, mixed-precision training) must not mix float32 weights into a float16 model.")
def resize_ignores_global_policy(ctx, p):
    _, before, after = _resize(ctx, p, resize=ctx.adapter.resize_under_default_policy)
    _expect_dtypes_kept(p, before, after, "after a resize under the float32 policy")

