"""Adapter for the real tf-keras recurrent cells (SimpleRNNCell, GRUCell, LSTMCell),
resized with ``reference.rnn.resize_rnn_cell``.

It has no vocabulary: it supports no tie mode and no bias layout and only the
``rnn_cells`` flag, so every vocabulary example case and every check that
requires a vocabulary capability is ``not_applicable``. Vocabulary checks that
require no flag at all still plan a property case (their strategies then cannot
draw a tie mode), so run it with ``--select rnn``.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf

from harness.adapter import Adapter, Capabilities
from reference.rnn import resize_rnn_cell

# kind -> (class name, extra constructor arguments)
KINDS = {
    "simple": ("SimpleRNNCell", {}),
    "gru": ("GRUCell", {"reset_after": True}),
    "gru_reset_before": ("GRUCell", {"reset_after": False}),
    "lstm": ("LSTMCell", {"unit_forget_bias": True}),
    "lstm_no_forget_bias": ("LSTMCell", {"unit_forget_bias": False}),
}


def make_cell(kind, units, seed=0):
    """A tf-keras cell with seeded initializers and a random (non-zero) bias, so bias handling shows."""
    import tf_keras

    cls_name, extra = KINDS[kind]
    init = tf_keras.initializers
    return getattr(tf_keras.layers, cls_name)(
        units,
        kernel_initializer=init.GlorotUniform(seed=seed),
        recurrent_initializer=init.Orthogonal(seed=seed + 1),
        bias_initializer=init.RandomNormal(stddev=0.5, seed=seed + 2),
        **extra,
    )


class KerasRNNAdapter(Adapter):
    name = "keras_rnn"

    def capabilities(self):
        return Capabilities(tie_modes=frozenset(), bias_layouts=frozenset(), dtypes=frozenset({"float32"}),
                            flags=frozenset({"rnn_cells"}))

    def build_cell(self, spec):
        cell = make_cell(spec["cell"], int(spec["units"]), int(spec.get("seed", 0)) % (2**31 - 3))
        cell.build((None, int(spec["input_dim"])))
        return cell

    def resize_cell(self, cell, new_units):
        return resize_rnn_cell(cell, new_units)

    def run_cell(self, cell, inputs, states):
        x = tf.convert_to_tensor(inputs, tf.float32)
        states = [tf.convert_to_tensor(s, tf.float32) for s in states]
        outputs = []
        for t in range(int(x.shape[1])):
            out, states = cell(x[:, t], states, training=False)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            outputs.append(out)
        return tf.stack(outputs, axis=1).numpy()

    def cell_weights(self, cell):
        return {name: np.asarray(getattr(cell, name).numpy()) for name in ("kernel", "recurrent_kernel", "bias")
                if getattr(cell, name, None) is not None}

    def cell_config(self, cell):
        return cell.get_config()
