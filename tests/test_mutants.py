"""Every check is killed by at least one mutant, and each mutant fails the checks it claims (for the
reason it declares: a `message` substring, str or check id -> str, in every failed result)."""

import importlib
import pathlib
import types

import pytest

from harness import checks
from harness.adapters.reference import ReferenceAdapter
from harness.runner import Runner

# Every tests/mutants*.py module contributes its ``ALL`` list to the catalogue.
_MODULES = sorted(p.stem for p in pathlib.Path(__file__).parent.glob("mutants*.py"))
mutants = types.SimpleNamespace(ALL=[m for name in _MODULES for m in importlib.import_module(name).ALL],
                                PadsMinusOne=importlib.import_module("mutants").PadsMinusOne)


def _run(adapter, select, kinds=("example",), profile="dev"):
    runner = Runner(adapter, select=select, profile=profile, seed=0, shrink=False)
    plan = [c for c in runner.plan() if c.kind in kinds]
    return runner.run(plan)


def test_catalogue_covers_every_check():
    killed = {k for m in mutants.ALL for k in m.kills}
    registered = {c.id for c in checks.all_checks()}
    assert not killed - registered, f"mutants claim unknown checks: {sorted(killed - registered)}"
    assert registered <= killed, f"checks no mutant kills: {sorted(registered - killed)}"


def test_mutants_are_not_the_reference():
    assert all(m is not ReferenceAdapter for m in mutants.ALL)
    assert len({m.__name__ for m in mutants.ALL}) == len(mutants.ALL)


@pytest.mark.parametrize("mutant", mutants.ALL, ids=lambda m: m.__name__)
def test_mutant_is_killed(mutant):
    results = _run(mutant(), list(mutant.kills))
    by_check = {}
    for r in results:
        by_check.setdefault(r.check, []).append(r)
    for check_id in mutant.kills:
        statuses = [r.status for r in by_check.get(check_id, [])]
        assert "failed" in statuses, (
            f"{mutant.__name__} ({mutant.description}) was not reported as failed by {check_id}: {statuses}")
        wanted = getattr(mutant, "message", None)
        if isinstance(wanted, dict):
            wanted = wanted.get(check_id)
        for r in by_check[check_id]:
            if r.status == "failed":
                assert r.message and r.reproduce and check_id in r.reproduce
                assert not wanted or wanted in r.message, (
                    f"{mutant.__name__} failed {r.id} for another reason: {wanted!r} not in {r.message!r}")


def test_property_case_kills_mutant_and_reports_falsifying_draws():
    results = _run(mutants.PadsMinusOne(), ["grow.new_rows_initialised"], kinds=("property",), profile="ci")
    (r,) = results
    assert r.status == "failed", r
    assert r.params and {"old", "new", "tie"} <= set(r.params)
    notes = " ".join(r.details.get("hypothesis_notes", []))
    assert "Draw" in notes and "(old)" in notes


def _declared(mutant):
    """(name, kills, messages) as the catalogue declares them, for comparison with the static index."""
    kills, message = mutant.kills, getattr(mutant, "message", None)
    if isinstance(kills, dict):
        kills, message = tuple(kills), kills
    messages = (tuple((k, message[k]) for k in kills if message.get(k)) if isinstance(message, dict)
                else tuple((k, message) for k in kills) if message else ())
    return mutant.__name__, tuple(kills), messages


@pytest.mark.parametrize("module_name", _MODULES + ["real_mutants"])
def test_static_mutant_index_reads_the_catalogue_as_imported(module_name):
    """harness/mutant_index.py (behind `list-checks --mutants`) reads the same catalogue without importing it."""
    from harness import mutant_index

    if module_name == "real_mutants":
        pytest.importorskip("transformers")
    module = importlib.import_module(module_name)
    imported = sorted(_declared(m) for m in getattr(module, "ALL", None) or module.CATALOGUE)
    static = sorted((m.name, m.kills, m.messages)
                    for m in mutant_index.read_module(pathlib.Path(__file__).parent / f"{module_name}.py"))
    assert static == imported
