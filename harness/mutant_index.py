"""Which mutants prove each check can fail: the reverse index (check id -> mutants).

Reads the mutant catalogues of a checkout statically (``ast``, nothing is imported, so no
TensorFlow and no test code runs): ``tests/mutants*.py`` (reference-adapter mutants, run by
tests/test_mutants.py) and ``tests/real_mutants.py`` (defects injected into transformers, run by
tests/test_mutants_transformers.py). Every mutant is declared one way (tests/mutants.py): a
module-level class whose own body sets ``kills`` to a dict literal {check id: failure-message
substring} and ``description`` to a string. tests/test_mutants.py keeps this reading equal to
the imported catalogue. Shown by ``resize-conformance list-checks --mutants``.
"""

import ast
import dataclasses
import pathlib

TESTS = pathlib.Path(__file__).resolve().parents[1] / "tests"
CATALOGUES = ("mutants*.py", "real_mutants.py")


@dataclasses.dataclass(frozen=True)
class Mutant:
    module: str
    name: str
    kills: tuple     # check ids, in declaration order
    messages: tuple  # ((check id, message substring), ...): the failure message each must trigger
    description: str = ""
    line: int = 0

    @property
    def qualname(self):
        return f"{self.module}.{self.name}"

    def message_for(self, check_id):
        return dict(self.messages).get(check_id, "")


def _literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None


def _declared(cls):
    """``(kills dict, description)`` set in the class's own body."""
    attrs = {}
    for item in cls.body:
        if isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name):
            attrs[item.targets[0].id] = _literal(item.value)
    return attrs.get("kills"), attrs.get("description")


def read_module(path):
    """The mutants a catalogue module declares, in source order."""
    module = pathlib.Path(path).stem
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    out = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        kills, description = _declared(node)
        if kills and isinstance(kills, dict):
            out.append(Mutant(module, node.name, tuple(kills), tuple(kills.items()),
                              " ".join(str(description or "").split()), node.lineno))
    return out


def catalogue(tests_dir=TESTS):
    """Every mutant of the catalogues in ``tests_dir``; ``FileNotFoundError`` if there is none."""
    paths = sorted({p for pattern in CATALOGUES for p in pathlib.Path(tests_dir).glob(pattern)})
    if not paths:
        raise FileNotFoundError(f"no mutant catalogue ({', '.join(CATALOGUES)}) in {tests_dir}")
    return [m for p in paths for m in read_module(p)]


def by_check(mutants):
    """``{check id: [Mutant, ...]}`` (each list in catalogue order)."""
    out = {}
    for m in mutants:
        for check_id in m.kills:
            out.setdefault(check_id, []).append(m)
    return out
