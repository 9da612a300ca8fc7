"""Find adapters by name: built-ins, the ``tf_resize_conformance.adapters``
entry-point group, or a ``module:factory`` string."""

import importlib
from importlib import metadata

ENTRY_POINT_GROUP = "tf_resize_conformance.adapters"
BUILTINS = {
    "reference": "harness.adapters.reference:ReferenceAdapter",
    "keras_rnn": "harness.adapters.keras_rnn:KerasRNNAdapter",
    "keras3_reversible": "harness.adapters.keras3_reversible:Keras3ReversibleAdapter",
}


class AdapterNotFound(LookupError):
    pass


def _entry_points():
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available():
    """``{name: target}`` of every adapter that can be named without a module path."""
    names = dict(BUILTINS)
    for name, ep in _entry_points().items():
        names.setdefault(name, ep.value)
    return names


def _load_target(target):
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise AdapterNotFound(f"{target!r} is not of the form 'module:factory'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AdapterNotFound(f"cannot import module {module_name!r} for adapter {target!r}: {exc}") from exc
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise AdapterNotFound(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def resolve(name):
    """Return an adapter instance for a built-in name, an entry-point name or 'module:factory'."""
    if name.startswith("transformers/"):  # transformers/<TF model class>, e.g. transformers/TFBertForMaskedLM
        from harness.adapters.transformers_adapter import TransformersAdapter

        factory = lambda: TransformersAdapter(name.split("/", 1)[1])
    elif name.startswith("keras_hub/"):  # keras_hub/<task class>, e.g. keras_hub/GPT2CausalLM
        from harness.adapters.keras_hub_adapter import KerasHubAdapter

        factory = lambda: KerasHubAdapter(name.split("/", 1)[1])
    elif name in BUILTINS:
        factory = _load_target(BUILTINS[name])
    elif ":" in name:
        factory = _load_target(name)
    else:
        eps = _entry_points()
        if name not in eps:
            raise AdapterNotFound(
                f"unknown adapter {name!r}; known: {sorted(available())} "
                "(or pass 'module:factory')"
            )
        factory = eps[name].load()
    try:
        adapter = factory() if callable(factory) else factory
    except Exception as exc:
        raise AdapterNotFound(f"adapter factory {name!r} raised {type(exc).__name__}: {exc}") from exc
    if not hasattr(adapter, "capabilities") or not hasattr(adapter, "build"):
        raise AdapterNotFound(f"{name!r} did not produce an adapter (got {type(adapter).__name__})")
    return adapter
