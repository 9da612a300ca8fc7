"""One name, one meaning: a check ``family.name`` is the function ``name`` in ``suites/family.py``,
so the id alone finds the code (``grep -n "def name" suites/family.py``)."""

from harness.checks import all_checks


def test_every_check_function_is_named_after_its_id():
    wrong = []
    for chk in all_checks():
        family, name = chk.id.split(".", 1)
        where = (chk.func.__module__, chk.func.__name__)
        if where != (f"suites.{family}", name):
            wrong.append(f"{chk.id}: {where[0]}.{where[1]}")
    assert not wrong, wrong
