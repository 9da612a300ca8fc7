"""The held checks pass only when a stale result could have shown (suites/held.py): when changing the
kept rows after the resize does not move the eager result, the case is an error, never a pass."""

from mutants_held import HeldStaleLossHidden

from harness.adapters.reference import ReferenceAdapter
from harness.runner import Runner


class _CannotChangeRows(HeldStaleLossHidden):
    """The stale, loss-hiding grow of HeldStaleLossHidden, and an ``assign`` that writes nothing: the kept
    rows cannot be changed, so the stale held loss equals the resized model's."""

    def assign(self, model, which, values):
        pass


class _CorrectButCannotChangeRows(ReferenceAdapter):
    """A correct resize whose kept rows cannot be changed."""

    def assign(self, model, which, values):
        pass


def _results(adapter, check):
    runner = Runner(adapter, select=[check], profile="dev", seed=0, shrink=False)
    return {r.params["new"] > r.params["old"]: r for r in runner.run([c for c in runner.plan() if c.kind == "example"])}


def test_inseparable_loss_is_an_error_not_a_pass():
    grow = _results(_CannotChangeRows(), "held.keras_test_on_batch")[True]
    assert grow.status == "error", (grow.status, grow.message)
    assert "could not be told apart" in grow.message


def test_a_correct_resize_earns_its_pass_where_shape_or_loss_shows_staleness():
    """Without the rows change, a correct resize still passes where a stale result would differ anyway:
    the logits' width changes, and new rows drawn at random move the loss."""
    for check in ("held.keras_test_on_batch", "held.tf_function"):
        for r in _results(_CorrectButCannotChangeRows(), check).values():
            assert r.status == "passed", (r.id, r.status, r.message)
