"""Shared parameters for suites: fixed edge cases and labelled hypothesis draws.

Parameter keys: ``old`` / ``new`` (/ ``new2``) vocab sizes, ``width``, ``tie``
(tied/untied), ``bias`` (none/vector/row/multi), ``dtype``, ``min_vocab``.
Draws only take values the adapter's capabilities allow.
"""

from hypothesis import strategies as st

from harness.scenario import as_scenario

MAX_VOCAB = 48
MAX_WIDTH = 12


def P(old, new=None, *, tie="tied", bias="none", dtype="float32", width=8, **extra):
    """A fixed parameter set (a typed ``Scenario``: a misspelt or mistyped field fails at import)."""
    params = {"old": old, "tie": tie, "bias": bias, "dtype": dtype, "width": width, **extra}
    if new is not None:
        params["new"] = new
    return as_scenario(params)


def _choice(values, caps_values):
    allowed = [v for v in values if v in caps_values]
    if not allowed:
        raise ValueError("no parameter value is allowed by the adapter's capabilities")
    return st.sampled_from(allowed)


def draw_model(data, caps, *, ties=("tied", "untied"), biases=("none", "vector", "row", "multi"),
               dtypes=("float32",)):
    """Draw tie/bias/dtype/width (labelled)."""
    return {
        "tie": data.draw(_choice(ties, caps.tie_modes), label="tie"),
        "bias": data.draw(_choice(biases, caps.bias_layouts), label="bias"),
        "dtype": data.draw(_choice(dtypes, caps.dtypes), label="dtype"),
        "width": data.draw(st.integers(1, MAX_WIDTH), label="width"),
    }


def draw_sizes(data, caps, direction):
    """Draw ``old`` and ``new`` with ``direction`` in grow/shrink/any (shrink only if allowed)."""
    if direction == "any" and not caps.has("shrink"):
        direction = "grow"
    if direction == "grow":
        old = data.draw(st.integers(1, MAX_VOCAB - 1), label="old")
        new = data.draw(st.integers(old + 1, MAX_VOCAB), label="new")
    elif direction == "shrink":
        old = data.draw(st.integers(2, MAX_VOCAB), label="old")
        new = data.draw(st.integers(1, old - 1), label="new")
    else:
        old = data.draw(st.integers(1, MAX_VOCAB), label="old")
        new = data.draw(st.integers(1, MAX_VOCAB).filter(lambda n: n != old), label="new")
    return {"old": old, "new": new}


def strategy(direction="any", **model_kwargs):
    """A check strategy ``(data, caps) -> params``."""

    def draw(data, caps):
        params = draw_sizes(data, caps, direction)
        params.update(draw_model(data, caps, **model_kwargs))
        return params

    # Checks with equal strategies draw the same examples (harness.runner draw_seed), so observers
    # of one drawn scenario (suites._model.resized, saveload.roundtrip) build and resize it once.
    draw.key = ("strategy", direction, tuple(sorted(model_kwargs.items())))
    return draw


# Common fixed grids.
GROW_CASES = (
    P(8, 9, tie="tied", bias="none"),                 # grow by 1
    P(8, 40, tie="untied", bias="vector"),            # grow by many
    P(1, 2, tie="untied", bias="row", width=3),       # from a single row
    P(6, 13, tie="tied", bias="multi", width=5),      # several bias keys
)
SHRINK_CASES = (
    P(9, 8, tie="tied", bias="vector"),               # shrink by 1
    P(40, 5, tie="untied", bias="multi"),             # shrink by many
    P(12, 1, tie="untied", bias="row", width=3),      # shrink to 1
)
DTYPE_CASES = (
    P(8, 12, tie="tied", bias="vector", dtype="float16"),
    P(8, 12, tie="untied", bias="row", dtype="bfloat16"),
    P(12, 5, tie="untied", bias="multi", dtype="float16"),
)
