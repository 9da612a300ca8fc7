"""Every check is killed by at least one mutant, and each mutant fails every check it claims for
the reason it declares: each failed case's message contains the substring ``kills`` gives for
that check (tests/mutants.py says how a mutant is declared)."""

import importlib
import pathlib

import pytest
from mutants import Mutant

from harness import checks
from harness.adapter import Adapter
from harness.adapters.reference import ReferenceAdapter
from harness.runner import Runner

# Every tests/mutants*.py module contributes its ``ALL`` list to the catalogue.
_MODULES = sorted(p.stem for p in pathlib.Path(__file__).parent.glob("mutants*.py"))
ALL = [m for name in _MODULES for m in importlib.import_module(name).ALL]


def _run(adapter, select, kinds=("example",), profile="dev"):
    runner = Runner(adapter, select=select, profile=profile, seed=0, shrink=False)
    plan = [c for c in runner.plan() if c.kind in kinds]
    return runner.run(plan)


def test_catalogue_covers_every_check():
    killed = {k for m in ALL for k in m.kills}
    registered = {c.id for c in checks.all_checks()}
    assert not killed - registered, f"mutants claim unknown checks: {sorted(killed - registered)}"
    assert registered <= killed, f"checks no mutant kills: {sorted(registered - killed)}"


def test_mutants_are_not_the_reference():
    assert all(issubclass(m, Mutant) and issubclass(m, Adapter) and m is not ReferenceAdapter for m in ALL)
    assert len({m.__name__ for m in ALL}) == len(ALL)
    assert all(m.name == f"mutant-{m.__name__}" for m in ALL)


def _real_catalogue():
    pytest.importorskip("transformers")
    return importlib.import_module("real_mutants").CATALOGUE


@pytest.mark.parametrize("catalogue", ["reference", "real"])
def test_every_mutant_declares_a_message_for_every_check_it_kills(catalogue):
    mutants = ALL if catalogue == "reference" else _real_catalogue()
    for m in mutants:
        assert isinstance(m.kills, dict) and m.kills, f"{m.__name__}: kills must be {{check id: message substring}}"
        empty = [check_id for check_id, message in m.kills.items() if not (isinstance(message, str) and message)]
        assert not empty, f"{m.__name__} declares no failure message for {empty}"
        assert isinstance(m.description, str) and m.description.strip(), f"{m.__name__} has no description"


@pytest.mark.parametrize("mutant", ALL, ids=lambda m: m.__name__)
def test_mutant_is_killed(mutant):
    results = _run(mutant(), list(mutant.kills))
    for check_id, wanted in mutant.kills.items():
        mine = [r for r in results if r.check == check_id]
        failed = [r for r in mine if r.status == "failed"]
        assert failed, (f"{mutant.__name__} ({mutant.description}) was not reported as failed by {check_id}: "
                        f"{[r.status for r in mine]}")
        for r in failed:
            assert r.message and r.reproduce and check_id in r.reproduce
            assert wanted in r.message, (
                f"{mutant.__name__} failed {r.id} for another reason: {wanted!r} not in {r.message!r}")


def test_property_case_kills_mutant_and_reports_falsifying_draws():
    from mutants import PadsMinusOne

    results = _run(PadsMinusOne(), ["grow.new_rows_initialised"], kinds=("property",), profile="ci")
    (r,) = results
    assert r.status == "failed", r
    assert r.params and {"old", "new", "tie"} <= set(r.params)
    notes = " ".join(r.details.get("hypothesis_notes", []))
    assert "Draw" in notes and "(old)" in notes


@pytest.mark.parametrize("module_name", _MODULES + ["real_mutants"])
def test_static_mutant_index_reads_the_catalogue_as_imported(module_name):
    """harness/mutant_index.py (behind `list-checks --mutants`) reads the same catalogue without importing it."""
    from harness import mutant_index

    module = importlib.import_module(module_name) if module_name != "real_mutants" else None
    mutants = module.ALL if module else _real_catalogue()
    imported = sorted((m.__name__, tuple(m.kills), tuple(m.kills.items()), " ".join(m.description.split()))
                      for m in mutants)
    static = sorted((m.name, m.kills, m.messages, m.description)
                    for m in mutant_index.read_module(pathlib.Path(__file__).parent / f"{module_name}.py"))
    assert static == imported
