"""Gate-aware resize of recurrent cells (units), the spec.

tf-keras cells keep every gate in one matrix, gate blocks side by side on the
last axis: ``kernel [D, g*U]``, ``recurrent_kernel [U, g*U]`` and ``bias [g*U]``
(GRU with ``reset_after=True``: ``[2, g*U]``, input and recurrent bias rows).
Blocks: SimpleRNN ``g=1``; GRU ``z, r, h`` (``g=3``); LSTM ``i, f, c, o`` (``g=4``).
A resize acts on every block separately: slicing ``kernel[:, :g*U']`` instead
mixes gates (the naive copy found in write-ups on growing Keras RNN cells).

Shrink to ``U' < U`` keeps the first ``U'`` units of every gate (rows and columns).

Growth to ``U' > U`` is function-preserving for the old units. The new units get:

* outgoing recurrent weights into every gate of the old units (rows ``U..U'`` of
  ``recurrent_kernel``, old columns): **zero**, so old units never see new units,
  whatever the new units' state is;
* incoming weights and bias of the *candidate* block (SimpleRNN's only block,
  GRU's ``h``, LSTM's ``c``): **zero**. Then, from a zero initial state, a new unit
  stays exactly 0: SimpleRNN ``tanh(0) = 0``; GRU ``hh = tanh(0) = 0`` so
  ``h' = z*h + (1-z)*hh = 0`` whatever ``z`` and ``r``; LSTM ``g = tanh(0) = 0`` so
  ``c' = f*c + i*g = 0`` and ``h' = o*tanh(0) = 0`` whatever ``i, f, o``. (A
  SimpleRNN whose activation is not 0 at 0 keeps new units constant instead.)
* everything else (the other gates' incoming weights and biases, new-to-new
  recurrent weights): the values a freshly built cell of ``U'`` units gets from
  its own initializers, so gates are not symmetric and stay trainable. In
  particular an LSTM's new forget-gate biases are 1 with ``unit_forget_bias=True``
  and come from ``bias_initializer`` otherwise.

Old units' weights are copied bit-exact. The resize returns a new cell (same
class and config, ``units=U'``), built for the same input size; the caller swaps
it in (and pads the state of a running sequence with zeros).
"""

import tensorflow as tf

from reference.errors import ResizeError, ResizeTypeError
from reference.validate import validate_num_tokens

# class name -> (number of gate blocks, index of the candidate block)
LAYOUTS = {"SimpleRNNCell": (1, 0), "GRUCell": (3, 2), "LSTMCell": (4, 2)}
WEIGHTS = ("kernel", "recurrent_kernel", "bias")


def cell_layout(cell):
    """``(gates, candidate)`` of a SimpleRNN/GRU/LSTM cell (subclasses included)."""
    for klass in type(cell).__mro__:
        if klass.__name__ in LAYOUTS:
            return LAYOUTS[klass.__name__]
    raise ResizeTypeError(f"no gate layout known for {type(cell).__name__}; "
                          f"supported: {sorted(LAYOUTS)} and their subclasses")


def cell_weights(cell):
    """``{"kernel", "recurrent_kernel"[, "bias"]}`` of a built cell, as tensors."""
    out = {}
    for name in WEIGHTS:
        value = getattr(cell, name, None)
        if value is not None:
            out[name] = tf.convert_to_tensor(value)
    return out


def _blocks(x, gates):
    """``[..., g*U] -> [..., g, U]``."""
    shape = tf.shape(x)
    return tf.reshape(x, tf.concat([shape[:-1], [gates, shape[-1] // gates]], axis=0))


def _flat(x):
    """``[..., g, U] -> [..., g*U]``."""
    shape = tf.shape(x)
    return tf.reshape(x, tf.concat([shape[:-2], [shape[-2] * shape[-1]]], axis=0))


def _zero_candidate(x, gates, candidate):
    """Zero the candidate block of ``[..., g, n]`` (``tf.where``: an Inf fresh value stays out too)."""
    is_candidate = tf.reshape(tf.equal(tf.range(gates), candidate), [gates, 1])
    return tf.where(is_candidate, tf.zeros_like(x), x)


def resize_gate_weights(weights, new_units, *, gates, candidate, fresh=None):
    """Resize ``{"kernel", "recurrent_kernel"[, "bias"]}`` to ``new_units`` per gate (module docstring).

    ``fresh`` holds the same weights of a freshly initialised ``new_units`` cell; growth
    takes the new units' non-candidate values from it (zeros if ``fresh`` is None).
    """
    kernel = _blocks(weights["kernel"], gates)
    recurrent = _blocks(weights["recurrent_kernel"], gates)
    old_units = int(recurrent.shape[0])
    n = int(new_units)
    out = {}
    if n <= old_units:
        out["kernel"] = kernel[..., :n]
        out["recurrent_kernel"] = recurrent[:n, :, :n]
        if "bias" in weights:
            out["bias"] = _blocks(weights["bias"], gates)[..., :n]
        return {k: _flat(v) for k, v in out.items()}

    add = n - old_units
    if fresh is None:
        fresh = {name: tf.zeros(tf.concat([tf.shape(v)[:-1], [gates * n]], 0), v.dtype)
                 for name, v in weights.items()}
        fresh["recurrent_kernel"] = tf.zeros([n, gates * n], recurrent.dtype)

    def new_columns(name, dtype):
        """The fresh values at the new units' columns, candidate block zeroed: ``[..., g, add]``."""
        values = _blocks(tf.cast(fresh[name], dtype), gates)[..., old_units:]
        return _zero_candidate(values, gates, candidate)

    out["kernel"] = tf.concat([kernel, new_columns("kernel", kernel.dtype)], axis=-1)
    into_new = new_columns("recurrent_kernel", recurrent.dtype)                # [U', g, add]
    top = tf.concat([recurrent, into_new[:old_units]], axis=-1)                # old source units
    outgoing = tf.zeros([add, gates, old_units], recurrent.dtype)              # new -> old: zero
    out["recurrent_kernel"] = tf.concat([top, tf.concat([outgoing, into_new[old_units:]], -1)], axis=0)
    if "bias" in weights:
        bias = _blocks(weights["bias"], gates)
        out["bias"] = tf.concat([bias, new_columns("bias", bias.dtype)], axis=-1)
    return {k: _flat(v) for k, v in out.items()}


def resize_rnn_cell(cell, new_units):
    """A new cell like ``cell`` with ``new_units`` units and gate-aware resized weights."""
    gates, candidate = cell_layout(cell)
    n = validate_num_tokens(new_units, name="new_units")
    if not getattr(cell, "built", False) or getattr(cell, "kernel", None) is None:
        raise ResizeError(f"{type(cell).__name__} is not built; build it (or call it) before resizing")
    config = cell.get_config()
    config["units"] = n
    new_cell = type(cell).from_config(config)
    new_cell.build((None, int(cell.kernel.shape[0])))
    merged = resize_gate_weights(cell_weights(cell), n, gates=gates, candidate=candidate,
                                 fresh=cell_weights(new_cell))
    for name, value in merged.items():
        getattr(new_cell, name).assign(value)
    return new_cell
