"""Gate-aware resize of recurrent cells (units): growth keeps the old units' outputs
on any input sequence and any state of the new units, new units stay 0 from a zero
state, shrinking keeps the first units of every gate, shapes and config follow.

Parameter keys: ``cell`` (see ``CELLS``), ``units`` / ``new_units``, ``input_dim``,
``batch``, ``steps`` (not ``old``/``new``: those are vocabulary sizes to the harness). Gate blocks sit side
by side on the last axis of ``kernel``,
``recurrent_kernel`` and ``bias`` (GRU ``reset_after=True``: bias ``[2, 3U]``).
"""

import numpy as np
from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close, expect_ok, expect_raises, expect_shape

# kind -> (gate blocks, bias rows or None for a vector bias, state tensors)
CELLS = {
    "simple": (1, None, 1),
    "gru": (3, 2, 1),                  # reset_after=True (the tf-keras default)
    "gru_reset_before": (3, None, 1),  # reset_after=False
    "lstm": (4, None, 2),              # unit_forget_bias=True (the default)
    "lstm_no_forget_bias": (4, None, 2),
}
REQUIRES = ("rnn_cells",)


def C(cell, old, new, input_dim=4, **extra):
    return {"cell": cell, "units": old, "new_units": new, "input_dim": input_dim, "batch": 2, "steps": 5, **extra}


GROW_CASES = tuple(C(kind, 3, 7) for kind in CELLS) + (C("gru", 1, 2, input_dim=1),)
SHRINK_CASES = tuple(C(kind, 6, 2) for kind in CELLS) + (C("lstm", 3, 1),)
BAD_UNITS = {"zero": 0, "negative": -3, "bool": True, "fraction": 2.5, "integral_float": 4.0, "string": "4"}


def _strategy(direction):
    def draw(data, caps):
        kind = data.draw(st.sampled_from(sorted(CELLS)), label="cell")
        if direction == "grow":
            old = data.draw(st.integers(1, 8), label="units")
            new = data.draw(st.integers(old + 1, 12), label="new_units")
        else:
            old = data.draw(st.integers(2, 10), label="units")
            new = data.draw(st.integers(1, old - 1), label="new_units")
        return {"cell": kind, "units": old, "new_units": new, "input_dim": data.draw(st.integers(1, 6), label="input_dim"),
                "batch": data.draw(st.integers(1, 3), label="batch"),
                "steps": data.draw(st.integers(1, 6), label="steps")}
    return draw


def _build(ctx, p):
    return expect_ok(lambda: ctx.adapter.build_cell(
        {"cell": p["cell"], "units": p["units"], "input_dim": p["input_dim"], "seed": ctx.seed}), "build_cell")


def _states(rng, p, units, zero=False):
    shape = (p["batch"], units)
    return [np.zeros(shape, np.float32) if zero else (0.5 * rng.standard_normal(shape)).astype(np.float32)
            for _ in range(CELLS[p["cell"]][2])]


def _grown_run(ctx, p, zero_new_state):
    """Outputs of the old cell and of the grown cell on the same inputs; old units' state identical."""
    a = ctx.adapter
    rng = ctx.rng(21)
    cell = _build(ctx, p)
    x = rng.standard_normal((p["batch"], p["steps"], p["input_dim"])).astype(np.float32)
    old_states = _states(rng, p, p["units"])
    before = np.asarray(a.run_cell(cell, x, old_states))
    grown = expect_ok(lambda: a.resize_cell(cell, p["new_units"]), f"resize_cell {p['units']} -> {p['new_units']} units")
    extra = _states(rng, p, p["new_units"] - p["units"], zero=zero_new_state)
    states = [np.concatenate([s, e], axis=1) for s, e in zip(old_states, extra)]
    after = np.asarray(expect_ok(lambda: a.run_cell(grown, x, states), "running the grown cell"))
    expect_shape(after, [p["batch"], p["steps"], p["new_units"]], "outputs of the grown cell")
    return before, after


@check("rnn.grow_preserves_old_units", cases=GROW_CASES, strategy=_strategy("grow"), requires=REQUIRES,
       property="After growing a SimpleRNN/GRU/LSTM cell, the old units' outputs over any input sequence are "
                "unchanged, whatever the initial state of the new units.",
       why="Growth must add capacity without changing what the network computes; slicing kernel[:, :g*U] "
           "instead of per gate block mixes gates and changes every output.")
def grow_preserves_old_units(ctx, p):
    before, after = _grown_run(ctx, p, zero_new_state=False)
    expect_close(after[..., : p["units"]], before, "outputs of the old units before vs after growth",
                 atol=2e-5, rtol=1e-5)


@check("rnn.new_units_stay_zero", cases=GROW_CASES, strategy=_strategy("grow"), requires=REQUIRES,
       property="From a zero initial state, the units added by growth output exactly 0 at every step.",
       why="New units that fire before training feed noise to every layer downstream of the cell.")
def new_units_stay_zero(ctx, p):
    before, after = _grown_run(ctx, p, zero_new_state=True)
    added = after[..., p["units"]:]
    expect_close(added, np.zeros_like(added), "outputs of the new units")


def _gate_prefix(weights, p):
    """The expected shrunk weights: the first ``new`` units of every gate block."""
    gates, n, u = CELLS[p["cell"]][0], p["new_units"], p["units"]
    out = {"kernel": weights["kernel"].reshape(-1, gates, u)[:, :, :n].reshape(-1, gates * n),
           "recurrent_kernel": weights["recurrent_kernel"].reshape(u, gates, u)[:n, :, :n].reshape(n, gates * n)}
    if "bias" in weights:
        b = weights["bias"]
        out["bias"] = b.reshape(b.shape[:-1] + (gates, u))[..., :n].reshape(b.shape[:-1] + (gates * n,))
    return out


@check("rnn.shrink_keeps_gate_prefix", cases=SHRINK_CASES, strategy=_strategy("shrink"),
       requires=REQUIRES,
       property="Shrinking a cell to U' units keeps, bit-exact, the first U' units of every gate block in the "
                "kernel, recurrent kernel (rows and columns) and bias.",
       why="A flat slice [:, :g*U'] keeps whole gates of the old layout and drops others: the cell computes "
           "something else entirely.")
def shrink_keeps_gate_prefix(ctx, p):
    a = ctx.adapter
    cell = _build(ctx, p)
    want = _gate_prefix({k: np.asarray(v) for k, v in a.cell_weights(cell).items()}, p)
    small = expect_ok(lambda: a.resize_cell(cell, p["new_units"]), f"resize_cell {p['units']} -> {p['new_units']} units")
    got = a.cell_weights(small)
    for name, value in want.items():
        expect(name in got, f"the shrunk cell has no {name}")
        expect_close(got[name], value, f"{name}: first {p['new_units']} units of every gate")


def _shapes(p, units):
    gates, bias_rows, _ = CELLS[p["cell"]]
    bias = [gates * units] if bias_rows is None else [bias_rows, gates * units]
    return {"kernel": [p["input_dim"], gates * units], "recurrent_kernel": [units, gates * units], "bias": bias}


@check("rnn.weights_and_config", cases=(GROW_CASES[2], SHRINK_CASES[3], GROW_CASES[0], SHRINK_CASES[1]),
       requires=REQUIRES,
       property="After a resize to U' units, kernel is [D, g*U'], recurrent kernel [U', g*U'], bias [g*U'] "
                "([2, g*U'] for GRU reset_after), units is U' and every other config entry is unchanged.",
       why="A cell rebuilt with default settings (reset_after, activation, unit_forget_bias) has another "
           "weight layout and another function.")
def weights_and_config(ctx, p):
    a = ctx.adapter
    cell = _build(ctx, p)
    config = dict(a.cell_config(cell))
    resized = expect_ok(lambda: a.resize_cell(cell, p["new_units"]), f"resize_cell {p['units']} -> {p['new_units']} units")
    got = a.cell_weights(resized)
    for name, shape in _shapes(p, p["new_units"]).items():
        expect(name in got, f"the resized cell has no {name}")
        expect_shape(got[name], shape, name)
    new_config = dict(a.cell_config(resized))
    expect(new_config.get("units") == p["new_units"], f"config units is {new_config.get('units')}, expected {p['new_units']}",
           expected=p["new_units"], observed=new_config.get("units"))
    changed = sorted(k for k in set(config) | set(new_config)
                     if k != "units" and config.get(k) != new_config.get(k))
    expect(not changed, f"config entries changed by the resize: {changed}",
           expected={k: config.get(k) for k in changed}, observed={k: new_config.get(k) for k in changed})


@check("rnn.forget_bias_follows_config",
       cases=(C("lstm", 3, 6), C("lstm_no_forget_bias", 3, 6), C("lstm", 1, 4, input_dim=2)),
       requires=REQUIRES,
       property="An LSTM's new units get forget-gate bias 1 with unit_forget_bias=True, and the bias "
                "initializer's values (here random, so not all 1) without it.",
       why="A forget bias of 0 makes new units forget at once; forcing 1 ignores the user's setting.")
def forget_bias_follows_config(ctx, p):
    a = ctx.adapter
    cell = _build(ctx, p)
    grown = expect_ok(lambda: a.resize_cell(cell, p["new_units"]), f"resize_cell {p['units']} -> {p['new_units']} units")
    bias = np.asarray(a.cell_weights(grown)["bias"]).reshape(4, p["new_units"])
    forget = bias[1, p["units"]:]
    if p["cell"] == "lstm":
        expect_close(forget, np.ones_like(forget), "forget-gate bias of the new units (unit_forget_bias=True)")
    else:
        expect(not np.all(forget == 1.0), "forget-gate bias of the new units forced to 1 although "
               "unit_forget_bias=False", observed=forget.tolist(), expected="the bias initializer's values")


@check("rnn.bad_units_rejected", cases=tuple(C(kind, 4, None, bad=b) for kind, b in zip(
           ("simple", "gru", "gru_reset_before", "lstm", "lstm_no_forget_bias", "gru"), BAD_UNITS)),
       requires=REQUIRES,
       property="Resizing a cell to zero, negative, bool, float or string units raises and leaves the cell as it was.",
       why="int(2.5) or True as a unit count silently builds a cell of a size nobody asked for.")
def bad_units_rejected(ctx, p):
    a = ctx.adapter
    cell = _build(ctx, p)
    before = {k: np.asarray(v).copy() for k, v in a.cell_weights(cell).items()}
    value = BAD_UNITS[p["bad"]]
    expect_raises(lambda: a.resize_cell(cell, value), f"resize_cell to units={value!r}")
    after = a.cell_weights(cell)
    for name, old in before.items():
        expect_close(after[name], old, f"{name} after a rejected resize")
    expect(a.cell_config(cell).get("units") == p["units"], "units changed by a rejected resize")
