"""Mutants on the real path: defects injected into transformers' own resize (tests/real_mutants.py)
are reported by the checks they name, on the real classes they apply to.

A mutant is judged only on cases that pass on the unmutated class: a check that already fails
there (a real defect, manifests/transformers.toml) proves nothing about the mutant. One test
per class, so that each worker probes and builds a class once and every mutant of the class
shares its model pool.
"""

import pytest

import real_mutants as rm
from harness import checks

# Families the transformers adapter does not offer, and why (no example case applies on any class).
NOT_OFFERED = {
    "golden": "golden files need load_matrix and reference_rng: exact stored weights and the reference's RNG",
    "matrix": "no bare-matrix resize (capability matrix_resize)",
    "mean_init": "TF resize_token_embeddings has no mean-resizing option (capability mean_resizing)",
    "pad": "TF resize_token_embeddings has no pad_to_multiple_of (capability pad_to_multiple_of)",
    "remap": "no vocabulary remap / warm start (capability vocab_remap)",
    "rnn": "no RNN cells (capability rnn_cells)",
    "width": "no hidden-size resize (capability width_resize)",
}
_SESSIONS = {}


def session(class_name):
    if class_name not in _SESSIONS:
        _SESSIONS[class_name] = rm.ClassSession(class_name)
    return _SESSIONS[class_name]


def pair_problems(s, mutant):
    """What is wrong with ``mutant`` on ``s.class_name`` (empty: every named check killed it)."""
    where = f"{mutant.__name__} on {s.class_name}"
    if mutant.already_in_library:
        return _already_in_library(s, mutant, where)
    results = s.run(mutant)
    problems = []
    for check_id, substring in mutant.kills.items():
        mine = [r for r in results if r.check == check_id]
        if not mine:
            problems.append(f"{where}: {check_id} has no example case that passes on the unmutated class")
            continue
        killed = [r for r in mine if r.status == "failed" and substring in r.message]
        if not killed:
            seen = "; ".join(f"{r.status}: {r.message[:160]}" for r in mine)
            problems.append(f"{where}: {check_id} did not fail with '{substring}' ({seen})")
    return problems


def _already_in_library(s, mutant, where):
    """The unmutated class has the defect: each named check must already fail on it, with the message."""
    problems = []
    for check_id, substring in mutant.kills.items():
        cases = [c for c in s.plan if c.check.id == check_id and not c.na_reason]
        if not any(s.unmutated(c).status == "failed" and substring in s.unmutated(c).message for c in cases):
            problems.append(f"{where}: marked already_in_library, but {check_id} does not fail with "
                            f"'{substring}' on the unmutated class")
    return problems


@pytest.mark.parametrize("class_name", rm.CLASSES)
def test_every_mutant_is_killed_on_the_real_class(class_name):
    s = session(class_name)
    problems = [p for m in rm.CATALOGUE if class_name in m.classes for p in pair_problems(s, m)]
    assert not problems, "\n".join(problems)


def test_catalogue_is_well_formed():
    registered = {c.id for c in checks.all_checks()}
    for mutant in rm.CATALOGUE:
        assert mutant.__doc__ and mutant.classes and mutant.kills, mutant.__name__
        assert set(mutant.kills) <= registered, (mutant.__name__, set(mutant.kills) - registered)
        assert all(isinstance(v, str) and v for v in mutant.kills.values()), mutant.__name__
        assert set(mutant.only_cases) <= set(mutant.kills), mutant.__name__
    assert len({m.__name__ for m in rm.CATALOGUE}) == len(rm.CATALOGUE)


def test_every_family_the_adapter_runs_is_killed_on_a_real_class():
    families = {c.family for c in checks.all_checks()}
    runnable = {check_id.split(".")[0] for c in rm.CLASSES for check_id in session(c).applicable_checks()}
    assert families - runnable == set(NOT_OFFERED), (
        "families the transformers adapter does not run on any catalogue class changed: "
        f"{sorted(families - runnable)} vs NOT_OFFERED {sorted(NOT_OFFERED)}")
    proven = {k.split(".")[0] for m in rm.CATALOGUE if not m.already_in_library for k in m.kills}
    assert runnable <= proven, f"families no real-path mutant kills: {sorted(runnable - proven)}"
