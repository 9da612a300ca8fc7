"""House rules that code can check: reference/ stands alone; modules stay small."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_reference_imports_nothing_from_harness_or_suites():
    bad = [(p.name, m) for p in (ROOT / "reference").glob("*.py") for m in _imports(p)
           if m.split(".")[0] in ("harness", "suites")]
    assert not bad, bad


def test_modules_stay_small():
    big = [(str(p.relative_to(ROOT)), n) for d in ("reference", "harness", "suites")
           for p in (ROOT / d).rglob("*.py") if (n := len(p.read_text().splitlines())) > 600]
    assert not big, big
