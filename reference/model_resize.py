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
* the config and every cached vocab size are updated.
"""

from reference import mean_init
from reference.bias import resize_bias_dict
from reference.matrix import DEFAULT_INITIALIZER_RANGE, resize_variable
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
        base = int(model.get_input_embeddings().shape[0]) if new_num_tokens is None else new_num_tokens
        n = padded_num_tokens(base, pad_to_multiple_of, minimum=minimum)
    else:
        n = validate_num_tokens(new_num_tokens, minimum=minimum)
    resize_var, resize_bias = ((mean_init.mean_resize_variable, mean_init.mean_resize_bias_dict)
                               if mean_resizing else (resize_variable, resize_bias_dict))

    old_in = model.get_input_embeddings()
    old_out = model.get_output_embeddings()
    old_bias = model.get_bias()
    if n == int(old_in.shape[0]) and n == config.vocab_size:
        return old_in

    tied = is_tied(model)
    kwargs = dict(
        initializer=initializer,
        initializer_range=getattr(config, "initializer_range", DEFAULT_INITIALIZER_RANGE),
        min_num_tokens=minimum,
        nonfinite=nonfinite,
    )
    # Compute everything first: nothing is set until every piece succeeded.
    new_in = resize_var(old_in, n, seed=seed, **kwargs)
    new_out = None
    if old_out is not None and not tied:
        out_seed = None if seed is None else seed + 1
        new_out = resize_var(old_out, n, seed=out_seed, **kwargs)
    new_bias = resize_bias(old_bias, n, min_num_tokens=minimum, nonfinite=nonfinite)
    return apply_resized(model, n, new_in, new_out, new_bias, tied=tied)


def apply_resized(model, n, new_in, new_out, new_bias, *, tied):
    """Set the already computed weights of an ``n``-token vocabulary (a tied model gets
    ``new_in`` as its head too), then the config and every cached size; return the input
    embeddings. Called only after every new value was computed."""
    model.set_input_embeddings(new_in)
    if tied:
        model.set_output_embeddings(new_in)
    elif new_out is not None:
        model.set_output_embeddings(new_out)
    if new_bias is not None:
        model.set_bias(new_bias)
    model.config.vocab_size = n
    model.set_cached_vocab_size(n)
    return model.get_input_embeddings()
