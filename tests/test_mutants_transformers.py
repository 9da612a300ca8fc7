"""Mutants on the real path: defects injected into transformers' own resize (tests/real_mutants.py)
are reported by the checks they name, every failed case with the message they name, on the real classes.

A mutant is judged only on cases that pass on the unmutated class: a check that already fails
there (a real defect, manifests/transformers.toml) proves nothing about the mutant. One test per
class, so that each worker probes a class once and every mutant of the class shares its models.
"""

import pytest
import real_mutants as rm
from real_path import FAILS_UNMUTATED, NOT_OFFERED, ClassSession

from harness import checks

_SESSIONS = {}


def session(class_name):
    if class_name not in _SESSIONS:
        _SESSIONS[class_name] = ClassSession(class_name)
    return _SESSIONS[class_name]


def pair_problems(s, mutant):
    """What is wrong with ``mutant`` on ``s.class_name`` (empty: every check it names killed it)."""
    where = f"{mutant.__name__} on {s.class_name}"
    if mutant.already_in_library:
        return _already_in_library(s, mutant, where)
    results = s.run(mutant)
    problems = []
    for check_id, substring in mutant.kills_on(s.class_name).items():
        mine = [r for r in results if r.check == check_id]
        if not mine:
            problems.append(f"{where}: {check_id} has no example case that passes on the unmutated class")
            continue
        failed = [r for r in mine if r.status == "failed"]
        if not failed or any(substring not in r.message for r in failed):
            seen = "; ".join(f"{r.status}: {r.message[:160]}" for r in mine)
            problems.append(f"{where}: {check_id} did not fail (in every failed case) with '{substring}' ({seen})")
    return problems


def _already_in_library(s, mutant, where):
    """The unmutated class has the defect: each named check must already fail on it, with the message."""
    problems = []
    for check_id, substring in mutant.kills_on(s.class_name).items():
        cases = [c for c in s.plan if c.check.id == check_id and not c.na_reason]
        if not any(s.unmutated(c).status == "failed" and substring in s.unmutated(c).message for c in cases):
            problems.append(f"{where}: marked already_in_library, but {check_id} does not fail with "
                            f"'{substring}' on the unmutated class")
    return problems


def _family_problems(s):
    problems = [f"{s.class_name}: family '{c.split('.')[0]}' is listed as not offered ({NOT_OFFERED[c.split('.')[0]]}) "
                f"but {c} applies" for c in s.applicable_checks() if c.split(".")[0] in NOT_OFFERED]
    for family, (class_name, why) in FAILS_UNMUTATED.items():
        if class_name != s.class_name:
            continue
        for check_id in [c for c in s.applicable_checks() if c.split(".")[0] == family]:
            first = next(c for c in s.plan if c.check.id == check_id and not c.na_reason)
            if s.unmutated(first).status == "passed":
                problems.append(f"{s.class_name}: {first.id} passes unmutated, but family '{family}' is listed "
                                f"as failing on every unmutated class ({why}): give it a real-path mutant")
    return problems


@pytest.mark.parametrize("class_name", rm.CLASSES)
def test_every_mutant_is_killed_on_the_real_class(class_name):
    s = session(class_name)
    problems = _family_problems(s)
    problems += [p for m in rm.CATALOGUE if class_name in m.classes for p in pair_problems(s, m)]
    assert not problems, "\n".join(problems)


def test_catalogue_is_well_formed():
    registered = {c.id for c in checks.all_checks()}
    for mutant in rm.CATALOGUE:
        assert mutant.description and mutant.classes and mutant.kills, mutant.__name__
        assert set(mutant.kills) <= registered, (mutant.__name__, set(mutant.kills) - registered)
        assert all(isinstance(v, str) and v for v in mutant.kills.values()), mutant.__name__
        assert set(mutant.only_cases) | set(mutant.only_on) <= set(mutant.kills), mutant.__name__
        assert all(set(v) <= set(mutant.classes) for v in mutant.only_on.values()), mutant.__name__
    assert len({m.__name__ for m in rm.CATALOGUE}) == len(rm.CATALOGUE)


def test_every_family_is_killed_on_a_real_class_or_says_why_not():
    """Each registered family is killed by a real-path mutant (proven by the class tests), or the
    transformers adapter does not offer it, or it fails on every unmutated class (both verified
    by the class tests)."""
    families = {c.family for c in checks.all_checks()}
    proven = {k.split(".")[0] for m in rm.CATALOGUE if not m.already_in_library for k in m.kills}
    excused = set(NOT_OFFERED) | set(FAILS_UNMUTATED)
    assert not proven & excused, f"families both killed and excused: {sorted(proven & excused)}"
    assert families <= proven | excused, (
        f"families no real-path mutant kills and no reason excuses: {sorted(families - proven - excused)}")
