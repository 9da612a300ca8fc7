"""Reuse built tf-keras models: snapshot a model right after it is built, restore it later.

Building a transformers model (constructor + the first call that creates its variables) is
most of the cost of a case. A ``ModelPool`` keeps models that a finished case handed back
(``recycle``) and turns one back into its just-built state for the next ``build`` of the same
spec instead of building again:

* every layer's attribute dict (and the config's) is put back as it was, so layers, variables
  and cached sizes that a resize replaced are the original objects again;
* every original variable gets its original values back (training and ``assign`` undone).

A restore is then *verified*: the same variable objects with the same names, shapes and dtypes,
the same config, the same layer attributes (``vocab_size`` caches) as the snapshot. Anything
else and the model is dropped and a fresh one is built, so a restore can never hand a check a
model that differs from a fresh build.
"""

import collections
import copy

_CONTAINERS = (list, dict, set)


def _shallow(value):
    if type(value) in _CONTAINERS:
        return copy.copy(value)
    if type(value).__name__ == "ObjectIdentityDictionary":  # tf-keras' attribute reference counts
        new = copy.copy(value)
        new._storage = dict(value._storage)
        return new
    return value


def _layers(model):
    return list(model._flatten_layers(include_self=True, recursive=True))


def _signature(model):
    """What must be equal after a restore: variables (identity, name, shape, dtype), config, layers."""
    variables = tuple((id(v), v.name, tuple(v.shape), v.dtype.name) for v in model.variables)
    config = getattr(model, "config", None)
    cfg = config.to_dict() if hasattr(config, "to_dict") else None
    plain = tuple((id(layer), tuple(sorted((k, v) for k, v in vars(layer).items()
                                           if isinstance(v, (int, float, str, bool, type(None))))))
                  for layer in _layers(model))
    return variables, cfg, plain


class Snapshot:
    """The just-built state of ``model``."""

    def __init__(self, model):
        self.layers = [(layer, {k: _shallow(v) for k, v in vars(layer).items()}) for layer in _layers(model)]
        config = getattr(model, "config", None)
        self.config = (config, copy.deepcopy(vars(config))) if config is not None else None
        self.values = [(v, v.numpy()) for v in model.variables]
        self.signature = _signature(model)

    def restore(self, model):
        """Put ``model`` back; True if it now matches the snapshot exactly."""
        for layer, state in self.layers:
            d = vars(layer)
            for key in [k for k in d if k not in state]:
                d.pop(key)
            for key, value in state.items():
                d[key] = _shallow(value)
        if self.config is not None:
            config, state = self.config
            vars(config).clear()
            vars(config).update(copy.deepcopy(state))
        for var, value in self.values:
            var.assign(value)
        return _signature(model) == self.signature


class ModelPool:
    """Recycled models per key; at most ``per_key`` kept for each key, ``max_models`` in all."""

    def __init__(self, per_key=2, max_models=32):
        self.per_key = per_key
        self.max_models = max_models
        self._free = collections.OrderedDict()  # key -> [(model, snapshot)]
        self.stats = {"built": 0, "restored": 0, "restore_rejected": 0}

    def take(self, key):
        """A restored model for ``key``, or None (then build one and ``register`` it)."""
        free = self._free.get(key)
        while free:
            model, snap = free.pop()
            try:
                ok = snap.restore(model)
            except Exception:  # noqa: BLE001 - an unrestorable model is simply rebuilt
                ok = False
            if ok:
                if not free:
                    self._free.pop(key, None)
                self.stats["restored"] += 1
                vars(model)["_conformance_pool"] = (key, snap)
                return model
            self.stats["restore_rejected"] += 1
        self._free.pop(key, None)  # emptied: no key without models stays behind
        return None

    def register(self, model, key):
        """Snapshot a freshly built model so it can be recycled later."""
        self.stats["built"] += 1
        vars(model)["_conformance_pool"] = (key, Snapshot(model))  # untracked by Keras
        return model

    def recycle(self, model):
        """Hand a model back after its case is over (it may have been resized, trained, ...)."""
        entry = getattr(model, "_conformance_pool", None)
        if entry is None:
            return
        key, snap = entry
        vars(model)["_conformance_pool"] = None  # recycled once; a second recycle of the same model is ignored
        free = self._free.setdefault(key, [])
        if len(free) >= self.per_key:
            return
        free.append((model, snap))
        self._free.move_to_end(key)
        while sum(len(v) for v in self._free.values()) > self.max_models:
            oldest = next(iter(self._free))  # never an empty list: take() drops the keys it empties
            self._free[oldest].pop(0)
            if not self._free[oldest]:
                del self._free[oldest]
