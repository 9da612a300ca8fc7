"""Model reuse in the transformers adapter: a recycled model is restored to exactly its built
state (or rebuilt), and runs give the same results with and without reuse."""

import types

import numpy as np
import pytest

from harness.adapter import ModelSpec
from harness.adapters.transformers_adapter import TransformersAdapter
from harness.runner import Runner

CLASS = "TFBertForMaskedLM"


def _weights(adapter, model):
    return {v.name: v.numpy() for v in model.variables}


def test_recycled_model_is_restored_to_its_built_state():
    a = TransformersAdapter(CLASS)
    spec = ModelSpec(vocab_size=9, tie="tied")
    model = a.build(spec)
    built = _weights(a, model)
    handles = dict(a.handles(model))
    a.resize(model, 15)
    a.train_step(model, [[1, 14, 3]])
    model.some_attribute_a_check_set = 1
    a.recycle(model)
    again = a.build(spec)
    assert again is model and a._pool.stats["restored"] == 1
    assert a.read_config_vocab_size(again) == 9 and a.read_input_matrix(again).shape[0] == 9
    assert all(again_h is handles[k] for k, again_h in a.handles(again).items())
    assert not hasattr(again, "some_attribute_a_check_set")
    restored = _weights(a, again)
    assert restored.keys() == built.keys()
    assert all(np.array_equal(restored[k], built[k]) for k in built)
    fresh = TransformersAdapter(CLASS, reuse_models=False).build(spec)  # same weights as a fresh build
    assert len(fresh.variables) == len(built)
    assert all(np.array_equal(v.numpy(), w) for v, w in zip(fresh.variables, built.values()))
    assert a.forward(again, [[1, 8, 2]]).shape == (1, 3, 9)


def test_a_restore_that_does_not_verify_means_a_fresh_build(monkeypatch):
    a = TransformersAdapter(CLASS)
    spec = ModelSpec(vocab_size=9, tie="tied")
    model = a.build(spec)
    a.recycle(model)
    from harness.adapters import model_pool

    monkeypatch.setattr(model_pool.Snapshot, "restore", lambda self, m: False)
    again = a.build(spec)
    assert again is not model
    assert a._pool.stats == {"built": 2, "restored": 0, "restore_rejected": 1}


def test_reuse_off_never_recycles():
    a = TransformersAdapter(CLASS, reuse_models=False)
    spec = ModelSpec(vocab_size=9)
    model = a.build(spec)
    a.recycle(model)
    assert a.build(spec) is not model


@pytest.mark.parametrize("select", [["grow", "shrink", "stale", "bias", "tied", "twice"]])
def test_same_results_with_and_without_reuse(select):
    def run(reuse):
        runner = Runner(TransformersAdapter(CLASS, reuse_models=reuse), select=select, profile="dev",
                        seed=3, shrink=False)
        return [(r.id, r.status) for r in runner.run()]

    with_reuse, without = run(True), run(False)
    assert with_reuse == without
    assert any(status == "passed" for _, status in with_reuse)


def test_eviction_after_a_take_emptied_a_key():
    """A key whose models were all taken must not be picked for eviction (IndexError seen in certify-all)."""
    from harness.adapters.model_pool import ModelPool

    class Snap:
        def restore(self, model):
            return True

    pool = ModelPool(per_key=2, max_models=2)
    models = [types.SimpleNamespace() for _ in range(4)]
    vars(models[0])["_conformance_pool"] = ("a", Snap())
    pool.recycle(models[0])
    assert pool.take("a") is models[0]
    for i, key in ((1, "b"), (2, "c"), (3, "d")):  # more than max_models: evicts the oldest non-empty key
        vars(models[i])["_conformance_pool"] = (key, Snap())
        pool.recycle(models[i])
    assert sum(len(v) for v in pool._free.values()) == 2 and "a" not in pool._free
