"""Whole-model vocabulary resize (the spec).

Works on any model that offers this small interface (the reference causal LM
does; so could a transformers model behind a thin shim):

* ``config`` with ``vocab_size`` and optionally ``initializer_range`` and
  ``min_vocab_size`` (rows that may never be dropped, e.g. special tokens);
* ``get_input_embeddings()`` / ``set_input_embeddings(var)``: the ``[V, H]`` variable;
* ``get_output_embeddings()`` / ``set_output_embeddings(var)``: ``[V, H]`` or ``None``;
* ``get_bias()`` / ``set_bias(dict)``: the LM-head bias dict or ``None``;
* ``set_cached_vocab_size(n)``: updates every per-layer copy of the vocab size.

Semantics:
* ``new_num_tokens=None`` returns the current input embeddings, untouched;
* the current size is a no-op: the same variables, nothing rebuilt;
* tied means *the same variable object* (``is``), never equal values; a tied
  model stays tied, an untied head is resized on its own with its own init;
* all new values are computed before anything is set, so an error (bad size,
  NaN in kept rows) leaves the model as it was;
* in place: every resized weight is written into the variable the model already has
  when its declared shape allows it (``reference.inplace``: the reference model's
  vocabulary-sized variables have an unknown static shape), so the model keeps the same
  variable objects and every function traced, compiled or cached from it before the
  resize (``tf.function``, XLA, Keras ``predict`` / ``train_on_batch`` / ``test_on_batch``)
  computes with the new vocabulary; a variable of fixed shape is replaced through its
  setter (name, dtype, trainability kept), which such functions do not see;
* the config and every cached vocab size are updated.
"""

import reference.mean_init as mean_init
from reference.bias import map_bias_dict
from reference.inplace import current_shape, write, write_into
from reference.matrix import DEFAULT_INITIALIZER_RANGE, resize_last_axis, resize_matrix
from reference.pad import padded_num_tokens
from reference.validate import validate_num_tokens


def is_tied(model):
    """Tied = the output embeddings are the very same variable as the input ones."""
    out = model.get_output_embeddings()
    return out is not None and out is model.get_input_embeddings()


def resize_token_embeddings(model, new_num_tokens=None, *, initializer=None, seed=None,
                            nonfinite="error", pad_to_multiple_of=None, mean_resizing=False):
    """Resize the model's vocabulary to ``new_num_tokens`` rows; return the input embeddings.

    ``pad_to_multiple_of`` rounds the size up (``reference.pad``; with ``new_num_tokens=None``
    it pads the current size); ``mean_resizing`` draws new rows and bias entries from the
    old ones' statistics (``reference.mean_init``) instead of the initializer.
    """
    if new_num_tokens is None and pad_to_multiple_of is None:
        return model.get_input_embeddings()
    config = model.config
    minimum = getattr(config, "min_vocab_size", 1) or 1
    if pad_to_multiple_of is not None:
        base = current_shape(model.get_input_embeddings())[0] if new_num_tokens is None else new_num_tokens
        n = padded_num_tokens(base, pad_to_multiple_of, minimum=minimum)
    else:
        n = validate_num_tokens(new_num_tokens, minimum=minimum)
    resize_rows, resize_entry = ((mean_init.mean_resize_matrix, mean_init.mean_last_axis)
                                 if mean_resizing else (resize_matrix, resize_last_axis))

    old_in = model.get_input_embeddings()
    old_out = model.get_output_embeddings()
    old_bias = model.get_bias()
    if n == current_shape(old_in)[0] and n == config.vocab_size:
        return old_in

    tied = is_tied(model)
    kwargs = dict(
        initializer=initializer,
        initializer_range=getattr(config, "initializer_range", DEFAULT_INITIALIZER_RANGE),
        min_num_tokens=minimum,
        nonfinite=nonfinite,
    )
    # Compute everything first (tensors): nothing is written until every piece succeeded.
    new_in = resize_rows(old_in, n, seed=seed, **kwargs)
    new_out = None
    if old_out is not None and not tied:
        out_seed = None if seed is None else seed + 1
        new_out = resize_rows(old_out, n, seed=out_seed, **kwargs)
    new_bias = map_bias_dict(old_bias, lambda value: resize_entry(
        value, n, min_num_tokens=minimum, nonfinite=nonfinite), variables=False)
    return apply_resized(model, n, new_in, new_out, new_bias, tied=tied)


def apply_resized(model, n, new_in, new_out, new_bias, *, tied):
    """Write the already computed weights of an ``n``-token vocabulary into the model, in place
    where the variables allow it (``reference.inplace.write``; a tied model's head is its input
    variable), then the config and every cached size; return the input embeddings. Called only
    after every new value was computed."""
    write_into(model.get_input_embeddings(), new_in, model.set_input_embeddings)
    if tied:
        model.set_output_embeddings(model.get_input_embeddings())
    elif new_out is not None:
        write_into(model.get_output_embeddings(), new_out, model.set_output_embeddings)
    if new_bias is not None:
        current = model.get_bias()
        written = {key: write(current[key], value) for key, value in new_bias.items()}
        if any(written[key] is not current[key] for key in written):
            model.set_bias(written)
    model.config.vocab_size = n
    model.set_cached_vocab_size(n)
    return model.get_input_embeddings()
