"""Held runners: what users build from a model before a resize and keep using after it.

``Adapter.held_runners(model)`` returns ``{way: factory}``. ``factory()`` builds the held thing
now (a ``tf.function``, a Keras compile...) and returns ``run(ids)``; the first call traces or
caches it, later calls with ids of the same shape reuse that trace (suites/held.py). What
``run`` returns depends on the way's kind (``KINDS``):

* ``logits``: ``[B, T, V]`` scores like ``adapter.forward``;
* ``loss``: the mean token cross-entropy of the logits against the ids themselves
  (``token_cross_entropy``), as a float;
* ``train``: one optimizer step on the ids (same loss); returns that loss.

Ways (``WAYS``): ``tf_function`` (``tf.function`` over ``adapter.call`` with a ``[None, None]``
int32 signature, honouring ``graph_autograph``) and ``xla_function`` (the same with
``jit_compile=True``) for every adapter with ``graph_forward`` (``traced_runners``, the base
default); for tf-keras models (capability ``keras_logits``, ``keras_runners``):
``keras_predict`` (``model.predict``: Keras caches its ``predict_function``),
``keras_test_on_batch`` (``compile`` + ``test_on_batch``: the cached ``test_function``) and
``keras_train_on_batch`` (``compile`` + ``train_on_batch``: the cached ``train_function``). The
train way compiles plain SGD without momentum (an optimizer with no per-variable state), so a
correct in-place resize can keep training; an optimizer whose slots were built for the old
vocabulary makes the step raise, which the checks accept (loud, never silently stale).
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf

KINDS = {
    "tf_function": "logits",
    "xla_function": "logits",
    "keras_predict": "logits",
    "keras_test_on_batch": "loss",
    "keras_train_on_batch": "train",
}
WAYS = tuple(KINDS)
TRAIN_LEARNING_RATE = 0.5


def _logits_array(value):
    return np.asarray(tf.cast(value, tf.float32))


def _signature():
    return [tf.TensorSpec([None, None], tf.int32)]


def traced_runners(adapter, model):
    """``tf_function`` and ``xla_function`` over ``adapter.call`` (capability ``graph_forward``)."""
    autograph = getattr(adapter, "graph_autograph", True)

    def traced(jit_compile):
        def factory():
            fn = tf.function(lambda ids: adapter.call(model, ids), autograph=autograph,
                             input_signature=_signature(), jit_compile=jit_compile)
            return lambda ids: _logits_array(fn(tf.constant(np.asarray(ids, np.int32))))

        return factory

    return {"tf_function": traced(False), "xla_function": traced(True)}


def token_cross_entropy(logits, ids):
    """Mean over tokens of ``-log softmax(logits)[id]`` (float64), the loss the Keras ways compile."""
    x = np.asarray(logits, np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(x).sum(axis=-1))
    picked = np.take_along_axis(x, np.asarray(ids)[..., None].astype(np.int64), axis=-1)[..., 0]
    return float((log_z - picked).mean())


def _keras():
    import tf_keras

    return tf_keras


def keras_runners(model, inputs=lambda ids: ids, logits=lambda out, ids: out, labels=lambda ids: ids):
    """The Keras ways for a tf-keras ``model`` whose (first) output is the logits.

    ``inputs(ids)`` is what the model's ``predict`` / ``*_on_batch`` take for int32 ids ``[B, T]``
    (a tensor, or a dict of them); ``logits(out, ids)`` the ``[B, T, V]`` logits in what
    ``predict`` returned; ``labels(ids)`` the ``y`` of ``*_on_batch``: the ids themselves, in
    whatever structure picks the logits output (a tensor, or ``{"logits": ids}``).
    """
    keras = _keras()

    def loss():
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def ids_tensor(ids):
        return tf.constant(np.asarray(ids, np.int32))

    def predict():
        return lambda ids: _logits_array(logits(model.predict(inputs(ids_tensor(ids)), verbose=0), ids))

    def test_on_batch():
        model.compile(optimizer=keras.optimizers.legacy.SGD(TRAIN_LEARNING_RATE), loss=loss())
        return lambda ids: float(model.test_on_batch(inputs(ids_tensor(ids)), labels(ids_tensor(ids))))

    def train_on_batch():
        model.compile(optimizer=keras.optimizers.legacy.SGD(TRAIN_LEARNING_RATE), loss=loss())
        return lambda ids: float(model.train_on_batch(inputs(ids_tensor(ids)), labels(ids_tensor(ids))))

    return {"keras_predict": predict, "keras_test_on_batch": test_on_batch,
            "keras_train_on_batch": train_on_batch}


def within(context, factory):
    """``factory`` whose building and every run happen inside ``context()`` (e.g. a dtype policy)."""

    def wrapped():
        with context():
            run = factory()

        def call(ids):
            with context():
                return run(ids)

        return call

    return wrapped
