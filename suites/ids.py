"""Out-of-range ids: after a resize to N, ids N (and above) and -1 are rejected with a documented
error, while the same ids with the highest valid id N - 1 in that place run."""

from harness.checks import check
from harness.compare import expect_ok, expect_raises
from suites._params import GROW_CASES, SHRINK_CASES, strategy


@check("ids.out_of_range_rejected", cases=GROW_CASES[:2] + SHRINK_CASES[:2], strategy=strategy("any"),
       requires=("rejects_out_of_range_ids",),
       property="After a resize to N, a forward pass on id N, on an old id >= N, or on -1 raises one of the "
                "adapter's documented id errors; the same ids holding N - 1 instead run.",
       why="A lookup that clips or wraps ids returns a wrong token's vector silently (GPU gathers return zeros).")
def out_of_range_rejected(ctx, p):
    a, n = ctx.adapter, p["new"]
    model = ctx.build(p)
    expect_ok(lambda: a.resize(model, n), f"resize {p['old']} -> {n}")
    ids = ctx.ids(n, batch=1, length=4)
    ids[0, 2] = n - 1  # control: the highest valid id runs, so a rejection below is about the range
    expect_ok(lambda: a.forward(model, ids), f"forward on in-range ids (holding {n - 1}) after resize to {n}")
    bad_ids = [n, -1]
    if p["old"] - 1 >= n:
        bad_ids.append(p["old"] - 1)
    for bad in bad_ids:
        wrong = ids.copy()
        wrong[0, 2] = bad
        expect_raises(lambda w=wrong: a.forward(model, w), f"forward with id {bad} after resize to {n}",
                      accept=a.id_errors)
