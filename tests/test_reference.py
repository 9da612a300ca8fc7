"""The reference API itself: bad input, dtypes, input kinds, graphs, NaN policy, tie by identity."""

import math

import numpy as np
import pytest
import tensorflow as tf

from reference import (
    NonFiniteError,
    ResizeError,
    ResizeTypeError,
    is_tied,
    resize_bias_dict,
    resize_matrix,
    resize_token_embeddings,
    validate_num_tokens,
)
from reference.causal_lm import ReferenceCausalLM, ReferenceConfig
from reference.inplace import current_shape


@pytest.mark.parametrize("bad, err", [
    (0, ResizeError), (-1, ResizeError), (True, ResizeTypeError), (np.bool_(True), ResizeTypeError),
    (2.0, ResizeTypeError), (math.nan, ResizeTypeError), ("5", ResizeTypeError), (None, ResizeTypeError),
    (2**31, ResizeError), ([3], ResizeTypeError),
])
def test_bad_sizes_raise_clear_errors(bad, err):
    with pytest.raises(err) as info:
        validate_num_tokens(bad)
    assert "new_num_tokens" in str(info.value)


def test_numpy_integers_accepted_and_minimum_enforced():
    assert validate_num_tokens(np.int64(7)) == 7
    with pytest.raises(ResizeError, match="minimum of 4"):
        validate_num_tokens(3, minimum=4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("kind", ["numpy", "tensor", "variable"])
@pytest.mark.parametrize("new", [1, 4, 6, 11])
def test_resize_matrix_kinds_dtypes_prefix(dtype, kind, new):
    src = tf.cast(tf.reshape(tf.range(24, dtype=tf.float32) / 7, [6, 4]), dtype)
    value = {"numpy": src.numpy(), "tensor": src, "variable": tf.Variable(src)}[kind]
    out = resize_matrix(value, new, seed=1)
    assert out.dtype == src.dtype and out.shape == (new, 4)
    keep = min(6, new)
    np.testing.assert_array_equal(out.numpy()[:keep].astype("f8"), src.numpy()[:keep].astype("f8"))


def test_new_rows_truncated_normal_and_deterministic():
    src = np.zeros((2, 64), np.float32)
    a = resize_matrix(src, 202, seed=3, initializer_range=0.05).numpy()[2:]
    b = resize_matrix(src, 202, seed=3, initializer_range=0.05).numpy()[2:]
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() <= 0.1 + 1e-6
    assert 0.8 * 0.044 < a.std() < 1.2 * 0.044


def test_pluggable_initializer():
    out = resize_matrix(np.zeros((2, 3), np.float32), 4, initializer=lambda shape, dtype: tf.ones(shape, dtype))
    np.testing.assert_array_equal(out.numpy()[2:], np.ones((2, 3)))


def test_graph_with_unknown_dims():
    fn = tf.function(lambda m, n: resize_matrix(m, n, seed=0),
                     input_signature=[tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.int32)])
    src = np.arange(12, dtype=np.float32).reshape(4, 3)
    for n in (1, 4, 9):
        out = fn(src, n).numpy()
        assert out.shape == (n, 3)
        np.testing.assert_array_equal(out[: min(4, n)], src[: min(4, n)])
    with pytest.raises(tf.errors.InvalidArgumentError):
        fn(src, 0)


def test_nonfinite_policy():
    src = np.ones((4, 2), np.float32)
    src[1, 0] = np.nan
    with pytest.raises(NonFiniteError):
        resize_matrix(src, 6)
    kept = resize_matrix(src, 6, nonfinite="keep", seed=0).numpy()
    assert np.isnan(kept[1, 0]) and np.isfinite(kept[4:]).all()
    # Rows a shrink drops are not inspected.
    assert resize_matrix(src, 1).shape == (1, 2)
    with pytest.raises(ResizeError):
        resize_matrix(src, 3, nonfinite="zero")


def test_bias_dict_layouts():
    bias = {"bias": tf.Variable([1.0, 2.0, 3.0], name="b"),
            "final_logits_bias": tf.Variable([[4.0, 5.0, 6.0]], name="flb", trainable=False)}
    out = resize_bias_dict(bias, 5)
    assert out["bias"].shape == (5,) and out["final_logits_bias"].shape == (1, 5)
    np.testing.assert_array_equal(out["final_logits_bias"].numpy(), [[4, 5, 6, 0, 0]])
    assert out["final_logits_bias"].trainable is False and out["bias"].name == bias["bias"].name
    assert resize_bias_dict(bias, 2)["bias"].numpy().tolist() == [1.0, 2.0]


def _model(tie=True, **kw):
    return ReferenceCausalLM(ReferenceConfig(vocab_size=10, hidden_size=4, tie_word_embeddings=tie, **kw))


def test_tie_is_identity_not_value():
    m = _model(tie=False)
    m.head.decoder.assign(m.embed.embeddings)
    assert not is_tied(m)
    resize_token_embeddings(m, 14, seed=0)
    assert current_shape(m.head.decoder) == (14, 4) and not is_tied(m)
    t = _model(tie=True)
    resize_token_embeddings(t, 3)
    assert is_tied(t) and current_shape(t.get_output_embeddings()) == (3, 4)


def test_failed_resize_leaves_model_untouched():
    m = _model(bias_layout="multi", min_vocab_size=4)
    before = [v.numpy().copy() for v in m.weights]
    m.embed.embeddings[2, 0].assign(np.nan)
    with pytest.raises(NonFiniteError):
        m.resize_token_embeddings(12)
    with pytest.raises(ResizeError):
        m.resize_token_embeddings(3)
    assert m.config.vocab_size == 10 and current_shape(m.embed.embeddings) == (10, 4)
    assert len(before) == len(m.weights)


def test_none_and_same_size_are_noops():
    m = _model()
    emb = m.get_input_embeddings()
    assert m.resize_token_embeddings(None) is emb
    assert m.resize_token_embeddings(10) is emb


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        ReferenceConfig(bias_layout="diagonal")
    with pytest.raises(ValueError):
        ReferenceConfig.from_dict({"vocab_size": 3, "bogus": 1})


@pytest.mark.parametrize("tie, new", [(True, 13), (False, 13), (True, 4), (False, 4)])
def test_resize_is_in_place_so_functions_traced_before_see_it(tie, new):
    m = _model(tie=tie, bias_layout="multi")
    variables = [id(v) for v in m.variables]
    fn = tf.function(m, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    ids = tf.constant([[1, 2, 3]])
    assert fn(ids).shape == (1, 3, 10)
    m.resize_token_embeddings(new, seed=0)
    assert [id(v) for v in m.variables] == variables
    vocab_sized = [m.embed.embeddings, m.head.bias, m.head.final_logits_bias] + ([] if tie else [m.head.decoder])
    assert [current_shape(v) for v in vocab_sized][:3] == [(new, 4), (new,), (1, new)]
    np.testing.assert_array_equal(fn(ids).numpy(), m(ids).numpy())
    assert fn(ids).shape == (1, 3, new)
