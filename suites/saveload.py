"""Save/load after resize: weights, config, tie and outputs round-trip; no missing,
unexpected or mismatched variables."""

from collections import Counter

from harness.checks import check
from harness.compare import expect, expect_close, expect_ok
from suites._model import snapshot
from suites._params import P, strategy

SAVE_CASES = (P(8, 12, tie="tied", bias="vector"), P(8, 12, tie="untied", bias="multi"),
              P(10, 4, tie="untied", bias="row"))


def _roundtrip(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    a.resize(model, p["new"])
    path = ctx.tmpdir()
    expect_ok(lambda: a.save(model, path), "save after resize")
    loaded = expect_ok(lambda: a.load(path), "load of the resized model")
    return model, loaded


@check("saveload.roundtrip_weights", cases=SAVE_CASES, strategy=strategy("any"), requires=("save_load",),
       property="A resized model saved and loaded has the same matrices, bias, config vocab size, tie and variable set.",
       why="A resized checkpoint that reloads with missing, stale or re-initialised weights loses the fine-tune.")
def roundtrip_weights(ctx, p):
    a = ctx.adapter
    model, loaded = _roundtrip(ctx, p)
    s0, s1 = snapshot(a, model), snapshot(a, loaded)
    expect_close(s1.input, s0.input, "loaded input matrix")
    if s0.output is not None:
        expect(s1.output is not None, "loaded model has no output matrix")
        expect_close(s1.output, s0.output, "loaded output matrix")
    for key, value in (s0.bias or {}).items():
        expect(s1.bias is not None and key in s1.bias, f"loaded model lacks bias '{key}'")
        expect_close(s1.bias[key], value, f"loaded bias '{key}'")
    expect(s1.config_vocab == p["new"], "loaded config vocab_size", expected=p["new"], observed=s1.config_vocab)
    expect(s1.tied == s0.tied, "tie state changed by save/load", expected=s0.tied, observed=s1.tied)
    shapes0 = Counter(shape for _, shape in a.variable_shapes(model))
    shapes1 = Counter(shape for _, shape in a.variable_shapes(loaded))
    expect(shapes0 == shapes1, "the loaded model's variables differ from the saved model's",
           expected={"only_in_saved": [list(s) for s in (shapes0 - shapes1).elements()]},
           observed={"only_in_loaded": [list(s) for s in (shapes1 - shapes0).elements()]})


@check("saveload.roundtrip_outputs", cases=SAVE_CASES, strategy=strategy("any"), requires=("save_load",),
       property="A resized model saved and loaded gives the same logits on ids covering the new vocabulary.",
       why="Equal weights are not enough if the reloaded graph wires them differently (e.g. a lost tie).")
def roundtrip_outputs(ctx, p):
    a = ctx.adapter
    model, loaded = _roundtrip(ctx, p)
    ids = ctx.ids_covering(0, p["new"])
    expect_close(expect_ok(lambda: a.forward(loaded, ids), "forward of the loaded model"),
                 a.forward(model, ids), "logits after save/load", atol=1e-6, rtol=1e-6)
