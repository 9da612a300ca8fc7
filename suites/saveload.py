"""Save/load after resize, in every checkpoint format the adapter offers (param ``fmt``).

A reload must mean it: the library's own loading report names no missing, unexpected or
mismatched weight, and *every* variable (not only the embeddings) comes back under the same
name, with the same dtype and bit-identical values; config, tie and logits round-trip too.
Models are conditioned by ``ctx.build`` (non-zero biases, distinct rows, an untied head unlike
the input matrix), so a weight that a load resets or mixes up is observable.
"""

import numpy as np
from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close, expect_ok, fail
from suites._model import snapshot
from suites._params import P, strategy

# Format names a case may ask for; an adapter offers some of them (``Capabilities.formats``).
# ``default`` is the one format of a single-format adapter; ``h5`` to ``safetensors_sharded`` are
# transformers' TF checkpoints (``save_pretrained(safe_serialization=False|True)``, whole or sharded);
# ``keras`` and ``preset`` are Keras 3 / keras-hub's (``model.save`` to a ``.keras`` file,
# ``save_to_preset``). Every offered format has example cases, not only the property case's draw.
FORMATS = ("default", "h5", "safetensors", "h5_sharded", "safetensors_sharded", "keras", "preset")
BASE_CASES = (
    P(8, 12, tie="tied", bias="vector"),     # growth, tied head
    P(8, 12, tie="untied", bias="multi"),    # growth, untied head
    P(10, 4, tie="untied", bias="row"),      # shrinkage, untied head
    P(10, 4, tie="tied", bias="vector"),     # shrinkage, tied head
)
SAVE_CASES = tuple(p.replace(fmt=f) for f in FORMATS for p in BASE_CASES)


def format_offered(caps, params):
    """``applies`` predicate: the case's format must be one the adapter offers."""
    if params is None or params.get("fmt") in caps.formats:
        return None
    return f"save format '{params['fmt']}' not offered (offers {sorted(caps.formats)})"


def with_format(base):
    """A strategy drawing ``fmt`` from the adapter's formats on top of ``base``."""

    def draw(data, caps):
        params = base(data, caps)
        params["fmt"] = data.draw(st.sampled_from(sorted(caps.formats)), label="fmt")
        return params

    if getattr(base, "key", None) is not None:
        draw.key = ("with_format", base.key)
    return draw


# -- protocol helpers (also used by suites/dtype.py) ----------------------------------------
def save(adapter, model, path, fmt):
    return adapter.save(model, path) if fmt == "default" else adapter.save(model, path, fmt)


def load_report(adapter, path, fmt):
    load = getattr(adapter, "load_report", None)
    if load is None:  # an adapter written before load_report: no library report
        return (adapter.load(path) if fmt == "default" else adapter.load(path, fmt)), None
    return load(path, fmt)


def roundtrip(ctx, p, built=None):
    """Build (conditioned; ``built(model)`` may check a precondition), resize to ``p['new']``, save
    in ``p['fmt']``, load it back: ``(model, loaded, report)``. Without ``built`` it is a shared
    scenario (``ctx.scenario``): the weights and outputs checks observe the same round trip."""
    if built is None:
        return ctx.scenario("saveload.roundtrip", p, lambda own: _roundtrip(own, p, None))
    return _roundtrip(ctx, p, built)


def _roundtrip(ctx, p, built):
    a, fmt = ctx.adapter, p["fmt"]
    model = ctx.build(p)
    if built is not None:
        built(model)
    a.resize(model, p["new"])
    path = ctx.tmpdir()
    expect_ok(lambda: save(a, model, path, fmt), f"save ({fmt}) after resize")
    loaded, report = expect_ok(lambda: load_report(a, path, fmt), f"load ({fmt}) of the resized model")
    return model, loaded, report


def expect_clean_report(report, fmt):
    """The library's own loading report lists nothing (``None``: the library has no report)."""
    if report is None:
        return
    listed = {k: sorted(str(x) for x in v) for k, v in report.items() if v}
    if listed:
        what = "; ".join(f"{len(v)} {k} ({', '.join(v[:3])}{', ...' if len(v) > 3 else ''})"
                         for k, v in sorted(listed.items()))
        fail(f"load ({fmt}): the library's loading report is not clean: {what}",
             expected={k: [] for k in report}, observed={k: v[:10] for k, v in listed.items()})


def _same_values(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or str(a.dtype) == "bfloat16":
        return np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64), equal_nan=True)
    return np.array_equal(a, b)


def expect_same_variables(saved, loaded, fmt):
    """Every variable of ``saved`` (``{name: ndarray}``) is in ``loaded`` under the same name,
    dtype and shape with bit-identical values, and ``loaded`` has no other variable."""
    missing = sorted(set(saved) - set(loaded))
    extra = sorted(set(loaded) - set(saved))
    for old in missing:
        twin = next((new for new in extra if _same_values(saved[old], loaded[new])), None)
        if twin is not None:
            fail(f"load ({fmt}): variable '{old}' came back renamed as '{twin}'",
                 expected={"name": old}, observed={"name": twin})
    if missing or extra:
        fail(f"load ({fmt}): the loaded model's variables are not the saved model's: "
             f"{len(missing)} missing ({', '.join(missing[:3])}), {len(extra)} unexpected "
             f"({', '.join(extra[:3])})", expected={"missing": []}, observed={"missing": missing[:10],
                                                                              "unexpected": extra[:10]})
    for name, value in saved.items():
        got = loaded[name]
        expect(str(got.dtype) == str(value.dtype),
               f"load ({fmt}): variable '{name}' has dtype {got.dtype}, saved as {value.dtype}",
               expected={"dtype": str(value.dtype)}, observed={"dtype": str(got.dtype)})
        expect(got.shape == value.shape, f"load ({fmt}): variable '{name}' has shape {list(got.shape)}, "
               f"saved as {list(value.shape)}", expected={"shape": list(value.shape)},
               observed={"shape": list(got.shape)})
        expect_close(got, value, f"load ({fmt}): values of variable '{name}'")


def _public(config):
    """Top-level config entries, without private bookkeeping (e.g. transformers' ``_name_or_path``)."""
    return {k: v for k, v in config.items() if not str(k).startswith("_")}


@check("saveload.roundtrip_weights", cases=SAVE_CASES, strategy=with_format(strategy("any")),
       requires=("save_load",), applies=format_offered, essential=("fmt",),
       property="A resized model saved and loaded in each offered format: the library's loading report "
                "is clean, every variable comes back under its name with its dtype and exact values, and "
                "the config, weights, bias and tie are the saved model's.",
       why="A resized checkpoint that reloads with missing, renamed, stale or re-initialised weights "
           "loses the fine-tune, often with nothing but a log warning.")
def roundtrip_weights(ctx, p):
    a, fmt = ctx.adapter, p["fmt"]
    model, loaded, report = roundtrip(ctx, p)
    expect_clean_report(report, fmt)
    expect_same_variables(a.variable_values(model), a.variable_values(loaded), fmt)
    s0, s1 = snapshot(a, model), snapshot(a, loaded)
    expect_close(s1.input, s0.input, f"load ({fmt}): input matrix")
    if s0.output is not None:
        expect(s1.output is not None, f"load ({fmt}): the loaded model has no output matrix")
        expect_close(s1.output, s0.output, f"load ({fmt}): output matrix")
    for key, value in (s0.bias or {}).items():
        expect(s1.bias is not None and key in s1.bias, f"load ({fmt}): the loaded model lacks bias '{key}'")
        expect_close(s1.bias[key], value, f"load ({fmt}): bias '{key}'")
    expect(s1.config_vocab == p["new"], f"load ({fmt}): config vocab_size", expected=p["new"],
           observed=s1.config_vocab)
    c0, c1 = _public(a.read_config(model)), _public(a.read_config(loaded))
    expect(c1 == c0, f"load ({fmt}): the loaded config differs from the saved model's",
           expected={k: c0.get(k) for k in set(c0) | set(c1) if c0.get(k) != c1.get(k)},
           observed={k: c1.get(k) for k in set(c0) | set(c1) if c0.get(k) != c1.get(k)})
    expect(s1.tied == s0.tied, f"load ({fmt}): tie state changed by save/load", expected=s0.tied,
           observed=s1.tied)


@check("saveload.roundtrip_outputs", cases=SAVE_CASES, strategy=with_format(strategy("any")),
       requires=("save_load",), applies=format_offered, essential=("fmt",),
       property="A resized model saved and loaded in each offered format gives the same logits on ids "
                "covering the new vocabulary.",
       why="Equal weights are not enough if the reloaded graph wires them differently (e.g. a lost tie).")
def roundtrip_outputs(ctx, p):
    a, fmt = ctx.adapter, p["fmt"]
    model, loaded, _ = roundtrip(ctx, p)
    ids = ctx.ids_covering(0, p["new"])
    expect_close(expect_ok(lambda: a.forward(loaded, ids), f"forward of the model loaded from {fmt}"),
                 a.forward(model, ids), f"load ({fmt}): logits after save/load", atol=1e-6, rtol=1e-6)
