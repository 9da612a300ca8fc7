"""Config: ``vocab_size`` and every cached per-layer copy follow the resize."""

from harness.checks import check
from harness.compare import expect
from suites._model import resized
from suites._params import GROW_CASES, SHRINK_CASES, strategy


@check("config.vocab_size_updated", cases=GROW_CASES[:2] + SHRINK_CASES[:2], strategy=strategy("any"),
       property="After a resize to N, config.vocab_size and every cached per-layer vocab size equal N.",
       why="A stale config saves a checkpoint that cannot be reloaded and mis-sizes losses and generation.")
def vocab_size_updated(ctx, p):
    a = ctx.adapter
    model = resized(ctx, p)[0]
    got = a.read_config_vocab_size(model)
    expect(got == p["new"], f"config.vocab_size is {got}, expected {p['new']}",
           expected=p["new"], observed=got)
    stale = {k: v for k, v in a.read_cached_vocab_sizes(model).items() if v != p["new"]}
    expect(not stale, f"cached vocab sizes not updated: {stale}", expected=p["new"], observed=stale)
