"""Decide from capabilities whether a (check, params) case applies.

A case that does not apply is ``not_applicable`` with the reason, never a pass.
"""

from harness.adapter import FLAGS
from harness.scenario import as_scenario

# Values a non-essential parameter may be fitted to, in order of preference.
_FIT_ORDER = {
    "tie": ("tied", "untied"),
    "bias": ("vector", "row", "multi", "none"),
    "dtype": ("float32", "bfloat16", "float16"),
}
_CAPS_FIELD = {"tie": "tie_modes", "bias": "bias_layouts", "dtype": "dtypes"}


def fit_params(check, caps, params):
    """Map parameters the adapter cannot do onto ones it can, unless the check calls them essential.

    Real models have one bias layout and often one tie mode: fitting keeps a check's sizes and
    edge cases meaningful for them instead of turning every case not_applicable. An essential
    ``bias`` may still move between layouts that have a bias (vector/row/multi), never to or from
    ``none``. Fitted cases get new ids (the params they really ran with); duplicates are dropped.
    """
    if params is None:
        return None
    fitted = dict(params)
    for key, order in _FIT_ORDER.items():
        if key not in fitted:
            continue
        supported = getattr(caps, _CAPS_FIELD[key])
        value = fitted[key]
        if value in supported:
            continue
        if key in check.essential:
            if key != "bias":
                continue
            candidates = [v for v in order if v in supported and (v == "none") == (value == "none")]
        else:
            candidates = [v for v in order if v in supported]
        if candidates:
            fitted[key] = candidates[0]
    return as_scenario(fitted)


def reason_not_applicable(check, caps, params):
    """``None`` if the case applies, else a one-line reason."""
    if not caps.tie_modes and not set(check.requires) & set(caps.flags):
        return "adapter has no vocabulary model (no tie modes) and the check needs one"
    for flag in check.requires:
        if flag not in FLAGS:
            raise KeyError(f"check {check.id} requires unknown capability {flag!r}")
        if not caps.has(flag):
            return f"adapter lacks capability '{flag}'"
    if params is not None:
        if "tie" in params and params["tie"] not in caps.tie_modes:
            return f"tie mode '{params['tie']}' not supported (supports {sorted(caps.tie_modes)})"
        if params.get("tie") == "tied" and not caps.has("output_embeddings"):
            return "adapter has no output embeddings to tie"
        if "bias" in params and params["bias"] not in caps.bias_layouts:
            return f"bias layout '{params['bias']}' not supported (supports {sorted(caps.bias_layouts)})"
        if "dtype" in params and params["dtype"] not in caps.dtypes:
            return f"dtype '{params['dtype']}' not supported (supports {sorted(caps.dtypes)})"
        sizes = [params[k] for k in ("old", "new", "new2") if isinstance(params.get(k), int)]
        shrinks = any(b < a for a, b in zip(sizes, sizes[1:]))
        if shrinks and not caps.has("shrink"):
            return "adapter does not support shrinking"
    if check.applies is not None:
        return check.applies(caps, params)
    return None
