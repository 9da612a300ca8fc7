"""Out-of-range ids: after a resize to N, ids N (and above) and -1 are rejected."""

from harness.checks import check
from harness.compare import expect_raises
from suites._params import GROW_CASES, SHRINK_CASES, strategy


@check("ids.out_of_range_rejected", cases=GROW_CASES[:2] + SHRINK_CASES[:2], strategy=strategy("any"),
       requires=("rejects_out_of_range_ids",),
       property="After a resize to N, a forward pass on id N, on an old id >= N, or on -1 raises.",
       why="A lookup that clips or wraps ids returns a wrong token's vector silently (GPU gathers return zeros).")
def out_of_range(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    a.resize(model, p["new"])
    bad_ids = [p["new"], -1]
    if p["old"] - 1 >= p["new"]:
        bad_ids.append(p["old"] - 1)
    for bad in bad_ids:
        ids = ctx.ids(p["new"], batch=1, length=4)
        ids[0, 2] = bad
        expect_raises(lambda: a.forward(model, ids), f"forward with id {bad} after resize to {p['new']}")
