"""The reference API of the extra resize operations: pad, mean-resizing, remap, width, RNN cells."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from reference import (
    NonFiniteError,
    ResizeError,
    ResizeTypeError,
    load_vocabulary,
    mean_resize_matrix,
    padded_num_tokens,
    remap_matrix,
    remap_token_embeddings,
    resize_model_width,
    resize_rnn_cell,
    resize_width,
)
from reference.causal_lm import ReferenceCausalLM, ReferenceConfig
from reference.inplace import current_shape
from reference.mean_init import mean_last_axis
from reference.remap import remap_last_axis
from reference.rnn import resize_gate_weights


def _model(tie=True, **kw):
    return ReferenceCausalLM(ReferenceConfig(vocab_size=10, hidden_size=4, tie_word_embeddings=tie, **kw))


# -- pad_to_multiple_of ---------------------------------------------------------------------
@pytest.mark.parametrize("n, m, want", [(9, 8, 16), (16, 8, 16), (1, 64, 64), (7, 1, 7), (5, None, 5)])
def test_padded_num_tokens(n, m, want):
    assert padded_num_tokens(n, m) == want


@pytest.mark.parametrize("bad, err", [(0, ResizeError), (-8, ResizeError), (8.0, ResizeTypeError),
                                      (True, ResizeTypeError), ("8", ResizeTypeError), (np.int64(0), ResizeError)])
def test_bad_multiple_is_a_clear_error(bad, err):
    with pytest.raises(err, match="pad_to_multiple_of"):
        padded_num_tokens(9, bad)


def test_model_pad_records_padded_size_and_none_pads_current():
    m = _model(tie=False, bias_layout="multi")
    m.resize_token_embeddings(11, pad_to_multiple_of=8)
    assert m.config.vocab_size == 16 and current_shape(m.head.decoder) == (16, 4)
    assert current_shape(m.head.final_logits_bias) == (1, 16) and set(m.cached_vocab_sizes().values()) == {16}
    m2 = _model()
    m2.resize_token_embeddings(None, pad_to_multiple_of=4)
    assert m2.config.vocab_size == 12
    with pytest.raises(ResizeError):
        m2.resize_token_embeddings(13, pad_to_multiple_of=0)
    assert m2.config.vocab_size == 12


# -- mean resizing ----------------------------------------------------------------------------
def test_mean_resizing_statistics_seed_and_graph():
    rng = np.random.default_rng(0)
    old = (1 + 0.1 * rng.standard_normal((40, 5))).astype(np.float32)
    a = mean_resize_matrix(old, 60, seed=1).numpy()
    np.testing.assert_array_equal(a[:40], old)
    np.testing.assert_allclose(a[40:].mean(0), old.mean(0), atol=1e-4)
    assert a[40:].std(0).max() < 1e-3 and np.ptp(a[40:], axis=0).max() > 0
    np.testing.assert_array_equal(a, mean_resize_matrix(old, 60, seed=1).numpy())
    assert not np.array_equal(a, mean_resize_matrix(old, 60, seed=2).numpy())
    fn = tf.function(lambda x, n: mean_resize_matrix(x, n, seed=0),
                     input_signature=[tf.TensorSpec([None, None]), tf.TensorSpec([], tf.int32)])
    assert fn(old, 45).shape == (45, 5)


@pytest.mark.parametrize("rows", ["few", "identical", "one"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_mean_fallback_when_not_positive_definite(rows, dtype):
    base = np.random.default_rng(1).normal(2.0, 0.5, size=(3, 6)).astype(np.float32)
    old = {"few": base, "identical": np.tile(base[:1], (9, 1)), "one": base[:1]}[rows]
    old = tf.cast(old, dtype)
    out = mean_resize_matrix(old, old.shape[0] + 4, seed=0)
    assert out.dtype == old.dtype
    want = tf.cast(tf.reduce_mean(tf.cast(old, tf.float32), 0), dtype).numpy().astype(np.float64)
    np.testing.assert_array_equal(out.numpy()[-4:].astype(np.float64), np.tile(want, (4, 1)))


def test_mean_float16_statistics_do_not_overflow_and_nan_never_spreads():
    big = (2000 + 300 * np.random.default_rng(2).standard_normal((40, 3))).astype(np.float16)
    out = mean_resize_matrix(big, 44, seed=0).numpy().astype(np.float64)
    assert np.isfinite(out).all() and np.allclose(out[40:], big.astype(np.float64).mean(0), rtol=2e-3)
    bad = np.ones((6, 2), np.float32)
    bad[1, 0] = np.nan
    with pytest.raises(NonFiniteError):
        mean_resize_matrix(bad, 8)
    kept = mean_resize_matrix(bad, 8, nonfinite="keep", seed=0).numpy()
    assert np.isnan(kept[1, 0]) and np.isfinite(kept[6:]).all()
    with pytest.raises(ResizeError, match="initializer"):
        mean_resize_matrix(bad, 8, initializer=lambda s, d: tf.zeros(s, d))


def test_mean_bias_and_whole_model():
    np.testing.assert_allclose(mean_last_axis(tf.constant([[1.0, 2.0, 6.0]]), 5).numpy(), [[1, 2, 6, 3, 3]])
    m = _model(tie=False, bias_layout="multi")
    m.head.bias.assign(tf.fill([10], 0.5))
    m.resize_token_embeddings(14, mean_resizing=True, seed=0)
    np.testing.assert_allclose(m.head.bias.numpy()[10:], 0.5, rtol=1e-6)
    assert current_shape(m.head.decoder) == (14, 4) and m.config.vocab_size == 14


# -- vocabulary remap -----------------------------------------------------------------------
def test_remap_matches_keras_warmstart_and_is_graph_safe():
    old, new = ["a", "b", "c", "d"], ["x", "c", "a", "y", "z"]
    m = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
    init = np.random.default_rng(4).standard_normal((5, 3)).astype(np.float32)
    ours = remap_matrix(old, new, m, initializer=tf_keras.initializers.Constant(init)).numpy()
    keras = tf_keras.utils.warmstart_embedding_matrix(old, new, m, tf_keras.initializers.Constant(init)).numpy()
    np.testing.assert_array_equal(ours, keras)
    np.testing.assert_array_equal(ours[[1, 2]], m[[2, 0]])
    fn = tf.function(lambda x: remap_matrix(old, new, x, seed=0), input_signature=[tf.TensorSpec([None, None])])
    np.testing.assert_array_equal(fn(m).numpy()[[1, 2]], m[[2, 0]])
    np.testing.assert_array_equal(remap_last_axis(old, new, tf.constant([[1.0, 2, 3, 4]])).numpy(),
                                  [[0, 3, 1, 0, 0]])


def test_vocabulary_sources_and_policy(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\n", encoding="utf-8")
    for source in (["a", "b", "c"], ("a", "b", "c"), np.array(["a", "b", "c"]), tf.constant(["a", "b", "c"]),
                   str(path), path, [b"a", b"b", b"c"]):
        assert load_vocabulary(source) == ["a", "b", "c"]
    for bad, match in ((["a", "b", "a"], "twice"), ([], "empty"), (str(tmp_path / "nope.txt"), "does not exist"),
                       (np.array([["a"]]), "1-D"), (42, "must be")):
        with pytest.raises(ResizeError, match=match):
            load_vocabulary(bad)
    with pytest.raises(ResizeError, match="rows"):
        remap_matrix(["a", "b"], ["a"], np.zeros((3, 2), np.float32))


def test_remap_whole_model_keeps_tie_and_is_atomic():
    m = _model(tie=True, bias_layout="vector")
    old = [f"t{i}" for i in range(10)]
    emb = m.get_input_embeddings()
    assert remap_token_embeddings(m, old, list(old)) is emb   # identical vocabularies: no-op
    before = emb.numpy().copy()
    with pytest.raises(ResizeError):
        remap_token_embeddings(m, old, ["t1", "t1"])
    assert m.get_input_embeddings() is emb and m.config.vocab_size == 10
    remap_token_embeddings(m, old, ["new", "t3", "t0"], seed=0)
    assert m.get_output_embeddings() is m.get_input_embeddings() and m.config.vocab_size == 3
    np.testing.assert_array_equal(m.get_input_embeddings().numpy()[1:], before[[3, 0]])
    assert m.head.bias.numpy()[0] == 0 and m(tf.constant([[0, 2]])).shape == (1, 2, 3)


# -- width ------------------------------------------------------------------------------------
def test_width_matrix_modes_and_graph():
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(resize_width(m, 6).numpy(), np.pad(m, ((0, 0), (0, 2))))
    np.testing.assert_array_equal(resize_width(tf.cast(m, tf.bfloat16), 2).numpy().astype(np.float32), m[:, :2])
    p = np.random.default_rng(5).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(resize_width(m, projection=p).numpy(), m @ p, rtol=1e-5)
    with pytest.raises(ResizeError):
        resize_width(m, 3, projection=p)
    with pytest.raises(ResizeError):
        resize_width(m, projection=p[:3])
    fn = tf.function(lambda x, w: resize_width(x, w), input_signature=[tf.TensorSpec([None, None]),
                                                                      tf.TensorSpec([], tf.int32)])
    assert fn(m, 7).shape == (3, 7) and fn(m, 1).shape == (3, 1)


@pytest.mark.parametrize("tie", [True, False])
def test_model_width_pad_preserves_logits_tie_and_saves(tie, tmp_path):
    m = _model(tie=tie, bias_layout="multi")
    ids = tf.constant([[1, 2, 3, 9]])
    before = m(ids).numpy()
    resize_model_width(m, 7)
    assert m.config.hidden_size == 7 and current_shape(m.get_input_embeddings()) == (10, 7)
    assert (m.get_output_embeddings() is m.get_input_embeddings()) == tie
    np.testing.assert_allclose(m(ids).numpy(), before, atol=1e-6)
    m.save_pretrained(str(tmp_path))
    np.testing.assert_allclose(ReferenceCausalLM.from_pretrained(str(tmp_path))(ids).numpy(), before, atol=1e-6)
    with pytest.raises(ResizeError):
        resize_model_width(m, 0)
    assert m.config.hidden_size == 7


# -- RNN cells --------------------------------------------------------------------------------
def _run(cell, x, states):
    outs = []
    for t in range(x.shape[1]):
        out, states = cell(x[:, t], states)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        outs.append(out)
    return tf.stack(outs, 1).numpy()


@pytest.mark.parametrize("make, n_states", [
    (lambda u: tf_keras.layers.SimpleRNNCell(u), 1), (lambda u: tf_keras.layers.GRUCell(u), 1),
    (lambda u: tf_keras.layers.GRUCell(u, reset_after=False), 1), (lambda u: tf_keras.layers.LSTMCell(u), 2)])
def test_rnn_growth_preserves_old_units_and_shrink_round_trips(make, n_states):
    cell = make(3)
    cell.build((None, 4))
    rng = np.random.default_rng(6)
    x = tf.constant(rng.standard_normal((2, 5, 4)), tf.float32)
    states = [tf.constant(rng.standard_normal((2, 3)), tf.float32) for _ in range(n_states)]
    before = _run(cell, x, states)
    big = resize_rnn_cell(cell, 7)
    noise = [tf.concat([s, tf.constant(rng.standard_normal((2, 4)), tf.float32)], 1) for s in states]
    np.testing.assert_allclose(_run(big, x, noise)[..., :3], before, atol=1e-5)
    zeros = [tf.concat([s, tf.zeros((2, 4))], 1) for s in states]
    assert np.all(_run(big, x, zeros)[..., 3:] == 0)
    back = resize_rnn_cell(big, 3)
    for a, b in zip(back.weights, cell.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_rnn_gate_blocks_not_flat_slices_and_errors():
    k = tf.reshape(tf.range(2 * 3 * 2, dtype=tf.float32), [2, 6])          # D=2, g=3, U=2
    r = tf.reshape(tf.range(2 * 6, dtype=tf.float32), [2, 6])
    out = resize_gate_weights({"kernel": k, "recurrent_kernel": r}, 1, gates=3, candidate=2)
    np.testing.assert_array_equal(out["kernel"].numpy(), k.numpy()[:, [0, 2, 4]])   # not k[:, :3]
    grown = resize_gate_weights({"kernel": k, "recurrent_kernel": r}, 3, gates=3, candidate=2)
    assert grown["kernel"].shape == (2, 9) and np.all(grown["recurrent_kernel"].numpy()[2] == 0)
    with pytest.raises(ResizeError, match="not built"):
        resize_rnn_cell(tf_keras.layers.GRUCell(2), 3)
    with pytest.raises(ResizeTypeError):
        resize_rnn_cell(tf_keras.layers.Dense(2), 3)
    cell = tf_keras.layers.LSTMCell(2)
    cell.build((None, 3))
    with pytest.raises(ResizeTypeError):
        resize_rnn_cell(cell, 2.0)
