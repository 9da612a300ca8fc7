"""Replace a Keras 3 layer's variable by one of another shape.

A Keras 3 variable on the TensorFlow backend wraps a ``tf.Variable`` created with a fixed shape
(keras/src/backend/tensorflow/core.py ``Variable._initialize``), so a resize cannot write a new
vocabulary size into the variable a model already has: it must put a new variable in its place.

* ``swap(layer, attr, value)`` creates the new variable through ``layer.add_weight`` (same name,
  so the same path, dtype and trainability) and puts it *at the old one's position* in the
  layer's tracked list: Keras' generic ``Layer.save_own_variables`` / ``load_own_variables``
  store variables by position (``"0"``, ``"1"``...), so a change of order would load the
  embeddings into the head on reload.

Consequence: anything that captured the old variable before the resize (a ``tf.function`` or XLA
function traced before it, an optimizer's slots) keeps computing with the old vocabulary; trace
again (and rebuild optimizers) after a resize. Destroying the old resource does not help: TF 2
eager variables are refcounted by their handle, so ``DestroyResourceOp`` leaves a captured handle
readable.
"""

import tensorflow as tf


def _store_of(layer, variable):
    tracker = layer._tracker
    for store_name, ids in tracker.stored_ids.items():
        if id(variable) in ids:
            return tracker, store_name
    raise ValueError(f"variable {variable.path!r} is not tracked by layer {layer.name!r}")


def _index(values, item):
    for i, value in enumerate(values):
        if value is item:
            return i
    raise ValueError("variable not found in the layer's tracked list")


def swap(layer, attr, value):
    """Set ``layer.<attr>`` to a new variable holding ``value``, in the old one's tracked position.
    Returns ``(old, new)``."""
    old = getattr(layer, attr)
    value = tf.cast(tf.convert_to_tensor(value), old.dtype)
    tracker, store_name = _store_of(layer, old)
    locked = bool(tracker.locked)
    tracker.unlock()
    try:
        new = layer.add_weight(shape=tuple(int(d) for d in value.shape), name=old.name, dtype=old.dtype,
                               trainable=old.trainable, initializer=lambda shape, dtype=None: value)
        store = tracker.config[store_name][1]
        del store[_index(store, new)]               # add_weight appended it ...
        store[_index(store, old)] = new             # ... it goes where the old one was
        tracker.stored_ids[store_name].discard(id(old))
        tracker.stored_ids[store_name].add(id(new))
        object.__setattr__(layer, attr, new)       # tracked already; no second entry
    finally:
        if locked:
            tracker.lock()
    return old, new

