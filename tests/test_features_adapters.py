"""The tf-keras RNN cell adapter and the Keras 3 ReversibleEmbedding adapter pass the checks that
apply to them; checks they cannot do are not_applicable."""

import numpy as np
import pytest

from harness import registry
from harness.runner import Runner

KERAS3_SELECT = ["grow", "shrink", "tied", "untied", "noop", "config", "stale", "saveload", "train", "ids",
                 "pad", "mean_init", "remap"]


def _run(adapter, select, kinds=("example",), extra=()):
    runner = Runner(adapter, select=select, profile="dev", seed=0, shrink=False)
    plan = [c for c in runner.plan() if c.kind in kinds or c.id in extra]
    return plan, runner.run(plan)


def _bad(results):
    return [(r.id, r.status, r.message[:300]) for r in results if r.status not in ("passed", "not_applicable")]


def test_builtin_names_resolve():
    assert type(registry.resolve("keras_rnn")).__name__ == "KerasRNNAdapter"
    assert type(registry.resolve("keras3_reversible")).__name__ == "Keras3ReversibleAdapter"


def test_rnn_adapter_passes_every_rnn_check():
    plan, results = _run(registry.resolve("keras_rnn"), ["rnn"], extra=("rnn.grow_preserves_old_units[property]",))
    assert not _bad(results), _bad(results)
    assert {r.check for r in results} >= {"rnn.grow_preserves_old_units", "rnn.shrink_keeps_gate_prefix",
                                          "rnn.new_units_stay_zero", "rnn.forget_bias_follows_config"}
    assert all(r.status == "passed" for r in results)


def test_rnn_adapter_vocabulary_examples_are_not_applicable():
    runner = Runner(registry.resolve("keras_rnn"), seed=0)
    vocab = [c for c in runner.plan() if c.kind == "example" and not c.check.id.startswith("rnn.")]
    assert vocab and all(c.na_reason for c in vocab), [c.id for c in vocab if not c.na_reason][:5]


def test_reference_adapter_has_no_rnn_cells():
    runner = Runner(registry.resolve("reference"), select=["rnn"], seed=0)
    assert all("rnn_cells" in c.na_reason for c in runner.plan())


def test_keras3_adapter_passes_vocabulary_checks():
    plan, results = _run(registry.resolve("keras3_reversible"), KERAS3_SELECT)
    assert not _bad(results), _bad(results)
    passed = {r.check for r in results if r.status == "passed"}
    assert {"grow.prefix_preserved", "untied.decoder_resized", "tied.still_tied", "saveload.roundtrip_outputs",
            "pad.rounds_up", "mean_init.new_rows_near_mean", "remap.rows_follow_tokens"} <= passed
    bias = [r for r in results if r.check.startswith("bias.") or r.check == "mean_init.bias_mean"]
    assert all(r.status == "not_applicable" for r in bias)


def test_keras3_untied_reverse_embeddings_resized_on_last_axis():
    keras = pytest.importorskip("keras")
    from reference.reversible import remap_reversible_embedding, resize_reversible_embedding

    layer = keras.layers.ReversibleEmbedding(5, 3, tie_weights=False)
    layer.build()
    emb, rev = layer.embeddings.numpy(), layer.reverse_embeddings.numpy()
    resize_reversible_embedding(layer, 7, pad_to_multiple_of=4, seed=0)
    assert layer.input_dim == 8 and layer.embeddings.shape == (8, 3) and layer.reverse_embeddings.shape == (3, 8)
    np.testing.assert_array_equal(layer.reverse_embeddings.numpy()[:, :5], rev)
    assert len(layer.weights) == 2 and {w.name for w in layer.weights} == {"embeddings", "reverse_embeddings"}
    remap_reversible_embedding(layer, [f"t{i}" for i in range(8)], ["t4", "x", "t0"], seed=0)
    np.testing.assert_array_equal(layer.embeddings.numpy()[[0, 2]], emb[[4, 0]])
    np.testing.assert_array_equal(layer.reverse_embeddings.numpy()[:, [0, 2]], rev[:, [4, 0]])
    assert layer(np.array([[2]])).shape == (1, 1, 3)
