"""No stale variables: after a resize the model tracks exactly the variables a
freshly built model of the new size has."""

from collections import Counter

from harness.checks import check
from harness.compare import expect
from suites._model import fresh_build, resized
from suites._params import GROW_CASES, SHRINK_CASES, strategy


@check("stale.no_old_size_variables", cases=GROW_CASES[:3] + SHRINK_CASES[:2], strategy=strategy("any"),
       property="A model resized to N tracks the same multiset of variable shapes as a fresh model built with N.",
       why="A leftover old-size variable is saved into checkpoints, breaks loading and wastes memory.")
def no_old_size_variables(ctx, p):
    a = ctx.adapter
    model = resized(ctx, p)[0]
    fresh = fresh_build(ctx, p, p["new"])
    got = Counter(shape for _, shape in a.variable_shapes(model))
    want = Counter(shape for _, shape in a.variable_shapes(fresh))
    extra = sorted((got - want).elements())
    missing = sorted((want - got).elements())
    names = [n for n, s in a.variable_shapes(model) if s in set(extra)]
    expect(not extra and not missing,
           f"variables differ from a fresh model of size {p['new']}: extra {extra} {names[:5]}, missing {missing}",
           expected={"shapes": sorted(want.elements())}, observed={"extra": [list(s) for s in extra],
                                                                   "missing": [list(s) for s in missing]})
