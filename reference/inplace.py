"""In-place resize of model variables: what functions held across a resize see (the spec).

A function traced, compiled or cached from a model before its resize (``tf.function``, XLA,
Keras' ``predict_function`` / ``train_function`` / ``test_function``) captured the model's
variable *objects*. It computes with the new vocabulary only if the resize writes the new values
into those objects; a resize that sets new variables leaves it reading the old ones (logits of the
old size, a train step that updates variables the model no longer has).

A ``tf.Variable`` can be assigned a value of another shape only if it was created with an unknown
static shape, the documented way (``shape=tf.TensorShape(None)``): ``resizable_variable``.
Consequences for users of such a variable:

* ``variable.shape`` is unknown; ``current_shape`` reads the current one;
* graphs traced over it are shape-generic, so one trace serves every vocabulary size;
* Keras optimizers build their slots from its current value (``tf.zeros_like``); a partially
  known shape such as ``[None, H]`` would make every tf-keras optimizer fail at build. Slots of an
  optimizer built before a resize keep the old size: its next step raises (never a silent update);
* Keras ``summary()`` / ``count_params()`` need static shapes and do not work on it.

``write(current, value)`` assigns ``value`` into ``current`` when the declared shape and dtype admit
it (the variable then shares the value's buffer: no copy), else returns a new variable like
``current`` (name, dtype, trainability kept) for the caller to set.
"""

import tensorflow as tf

from reference.matrix import variable_like


def resizable_variable(initial_value, *, name, trainable=True):
    """A variable whose shape may change by ``assign`` (declared shape unknown)."""
    return tf.Variable(initial_value, name=name, trainable=trainable, shape=tf.TensorShape(None))


def current_shape(value):
    """The current shape of a variable or eager tensor as a tuple of ints."""
    return tuple(int(d) for d in tf.shape(value))


def write(current, value):
    """``current`` now holding ``value`` when it can (assigned in place), else a new variable like it."""
    if (isinstance(current, tf.Variable) and current.dtype == value.dtype
            and current.shape.is_compatible_with(value.shape)):
        current.assign(value)
        return current
    return variable_like(current, tf.convert_to_tensor(value))


def write_into(current, value, setter):
    """``write``, then ``setter(new)`` when a new variable had to replace ``current``; returns it."""
    new = write(current, value)
    if new is not current:
        setter(new)
    return new
