"""Which mutants prove each check can fail: the reverse index (check id -> mutants).

Reads the mutant catalogues of a checkout statically (``ast``, nothing is imported, so no
TensorFlow and no test code runs): ``tests/mutants*.py`` (reference-adapter mutants, run by
tests/test_mutants.py) and ``tests/real_mutants.py`` (defects injected into transformers, run by
tests/test_mutants_transformers.py). A mutant is a class, or a ``Name = factory("Name", [kills],
"description", ...)`` call, whose ``kills`` (a list, a tuple, a module constant, or a dict
check id -> message) is not empty; ``message`` (a str, or check id -> str), ``description`` and
class bases defined in the same module are understood. tests/test_mutants.py keeps this reading
equal to the imported catalogue. Shown by ``resize-conformance list-checks --mutants``.
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
    kills: tuple
    messages: tuple = ()  # ((check id, message substring), ...): the failure message it must trigger
    description: str = ""
    line: int = 0

    @property
    def qualname(self):
        return f"{self.module}.{self.name}"

    def message_for(self, check_id):
        return dict(self.messages).get(check_id, "")


def _value(node, constants):
    """A literal (str, list/tuple of str, dict str -> str) or a module constant; None otherwise."""
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None


def _mutant(module, name, attrs, line):
    kills, message = attrs.get("kills"), attrs.get("message")
    if isinstance(kills, dict):
        message, kills = kills, tuple(kills)
    if not kills or not isinstance(kills, (list, tuple)):
        return None
    kills = tuple(kills)
    messages = (tuple((k, message[k]) for k in kills if message.get(k)) if isinstance(message, dict)
                else tuple((k, message) for k in kills) if isinstance(message, str) and message else ())
    return Mutant(module, name, kills, messages, " ".join(str(attrs.get("description") or "").split()), line)


def _from_call(call, constants):
    """``factory("Name", [kills], "description", ..., message=...)`` -> attrs, or None."""
    args = [_value(a, constants) for a in call.args]
    names = [i for i, a in enumerate(args) if isinstance(a, str)]
    lists = [i for i, a in enumerate(args) if isinstance(a, (list, tuple)) and a and all(isinstance(x, str) for x in a)]
    if not names or not lists or names[0] > lists[0]:
        return None
    attrs = {"name": args[names[0]], "kills": args[lists[0]]}
    after = [i for i in names if i > lists[0]]
    if after:
        attrs["description"] = args[after[0]]
    for kw in call.keywords:
        if kw.arg in ("message", "description"):
            attrs[kw.arg] = _value(kw.value, constants)
    return attrs


def read_module(path):
    """The mutants a catalogue module declares, in source order."""
    module = pathlib.Path(path).stem
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    constants, classes, out = {}, {}, []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            if isinstance(node.value, ast.Call):
                attrs = _from_call(node.value, constants)
                if attrs and (m := _mutant(module, attrs["name"], attrs, node.lineno)):
                    out.append(m)
            elif (value := _value(node.value, constants)) is not None:
                constants[target] = value
        elif isinstance(node, ast.ClassDef):
            attrs = {}
            for base in node.bases:  # bases from this module first, the class's own attributes win
                attrs.update(classes.get(getattr(base, "id", None), {}))
            attrs["description"] = ast.get_docstring(node) or ""
            for item in node.body:
                if isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name):
                    attrs[item.targets[0].id] = _value(item.value, constants)
            classes[node.name] = attrs
            if m := _mutant(module, node.name, attrs, node.lineno):
                out.append(m)
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
