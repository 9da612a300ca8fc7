"""A warm worker runs class after class: what it resets between classes, and how it proves that
the next class starts clean.

Between classes the worker drops the previous adapter and runner, clears the Keras sessions
(tf-keras and Keras 3), puts the global dtype policies back to float32, turns eager-by-default
functions off and collects garbage (``reset``). Once a class has started (imports, adapter,
plan), ``settle`` moves every object alive into the collector's permanent generation
(``gc.freeze``): hundreds of thousands of module-level objects of TensorFlow and transformers
that a full collection would otherwise scan each time (0.25-0.4 s a collection; transformers'
sharded loads call ``gc.collect()`` once per shard). ``reset`` unfreezes them before it collects,
so the previous class's objects are freed. Some state cannot be reset in place: a function
or method of a library rebound by the previous class (a monkeypatch), an environment variable it
set, a global policy it left that the reset could not restore. ``Fingerprint`` records the
identity of every module-level function and class, and every function in those classes' own
dicts, of the libraries a class can touch, plus the environment; a worker whose fingerprint
changed is not reused: the parent replaces it with a fresh process (``harness.isolation``).
"""

import gc
import os
import sys

PREFIXES = ("transformers", "tf_keras", "keras", "keras_hub", "reference", "harness", "suites",
            "tensorflow", "numpy", "hypothesis")
_ENV_IGNORED = ("PYTEST_CURRENT_TEST",)


def _tracked(module_name):
    return module_name.split(".", 1)[0] in PREFIXES


def _callable_ids(module):
    """``{name: id}`` of the module's functions and classes and of functions in those classes' dicts."""
    out = {}
    try:
        items = list(vars(module).items())
    except TypeError:
        return out
    own = getattr(module, "__name__", "")
    for name, value in items:
        if isinstance(value, type) or callable(value):
            out[name] = id(value)
        if isinstance(value, type) and getattr(value, "__module__", None) == own:
            try:
                members = list(vars(value).items())
            except TypeError:
                continue
            for attr, member in members:
                if callable(member) or isinstance(member, (staticmethod, classmethod, property)):
                    out[f"{name}.{attr}"] = id(member)
    return out


class Fingerprint:
    """Identity of the tracked libraries' functions and classes, and the environment."""

    def __init__(self):
        self.modules = {name: _callable_ids(mod) for name, mod in list(sys.modules.items())
                        if mod is not None and _tracked(name)}
        self.env = {k: v for k, v in os.environ.items() if k not in _ENV_IGNORED}
        self.policies = _policies()

    def changes(self, limit=5):
        """What differs now from this fingerprint (only names that existed then): a list of strings."""
        found = []
        for name, before in self.modules.items():
            mod = sys.modules.get(name)
            if mod is None:
                continue
            now = _callable_ids(mod)
            for attr, ident in before.items():
                if attr in now and now[attr] != ident:
                    found.append(f"{name}.{attr} was rebound")
                    if len(found) >= limit:
                        return found
        env = {k: v for k, v in os.environ.items() if k not in _ENV_IGNORED}
        for key in sorted(set(env) | set(self.env)):
            if env.get(key) != self.env.get(key):
                found.append(f"environment variable {key} changed")
        policies = _policies()
        for key, value in policies.items():
            if value != self.policies.get(key):
                found.append(f"{key} is {value!r}, was {self.policies.get(key)!r}")
        return found[:limit]


def _policies():
    """The global dtype policies and the eager flag (the state ``reset`` puts back)."""
    out = {}
    if "tf_keras" in sys.modules:
        try:
            out["tf_keras global dtype policy"] = sys.modules["tf_keras"].mixed_precision.global_policy().name
        except Exception:  # noqa: BLE001 - a half-imported module has no policy to compare
            pass
    if "keras" in sys.modules:
        try:
            out["keras global dtype policy"] = sys.modules["keras"].config.dtype_policy().name
        except Exception:  # noqa: BLE001
            pass
    if "tensorflow" in sys.modules:
        try:
            out["tf.config.functions_run_eagerly"] = bool(sys.modules["tensorflow"].config.functions_run_eagerly())
        except Exception:  # noqa: BLE001
            pass
    return out


def reset():
    """Put the framework state a class may leave behind back to its start-up values."""
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is not None:
        tf_keras.mixed_precision.set_global_policy("float32")
        tf_keras.backend.clear_session()
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "config") and hasattr(keras.config, "set_dtype_policy"):
        keras.config.set_dtype_policy("float32")
        keras.backend.clear_session()
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        tf.config.run_functions_eagerly(False)
    gc.unfreeze()
    gc.collect()


def settle():
    """Collect, then freeze what survives (see the module docstring): objects made later are still
    collected as usual; frozen ones wait for the next ``reset``. Changes when, never whether, a
    cycle of garbage is freed, so no result depends on it."""
    gc.collect()
    gc.freeze()
