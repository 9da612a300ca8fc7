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


# -- the import graph of harness/, suites/ and reference/ has no cycle ------------------------------
PACKAGES = ("harness", "suites", "reference")


def _modules():
    """``{dotted module name: path}`` of every module of PACKAGES (a package is its ``__init__``)."""
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _targets(name, path):
    """Every module name ``name`` imports, at any depth (function-level imports included).

    ``from p import x`` imports ``p`` (its ``__init__`` runs and is read) and ``p.x`` if that is a
    module; ``importlib.import_module("literal")`` counts; a package whose ``__init__`` discovers
    its modules with ``pkgutil.iter_modules`` imports its public modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.args[0].value
        elif is_package and isinstance(node, ast.Attribute) and node.attr == "iter_modules":
            yield from (f"{name}.{p.stem}" for p in path.parent.glob("[!_]*.py"))
            yield from (f"{name}.{p.parent.name}" for p in path.parent.glob("[!_]*/__init__.py"))


def import_graph():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for target in _targets(name, path):
            while target and target not in modules:  # `from p.m import f` -> p.m; stdlib -> ""
                target = target.rpartition(".")[0]
            if target and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def _a_cycle(graph):
    """One cycle as a list of module names, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert {"harness.checks", "suites", "suites.grow", "reference", "reference.model_resize"} <= set(graph)
    assert "harness.checks" in graph["suites.grow"] and "suites.grow" in graph["suites"]  # the graph sees them
    cycle = _a_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_harness_finds_suites_through_an_entry_point_not_an_import():
    graph = import_graph()
    assert not [m for m in graph if m.startswith("harness") and any(d.split(".")[0] == "suites" for d in graph[m])]


def test_cycle_finder_sees_a_cycle():
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b"}, "b": set()}) is None


def test_no_file_points_outside_the_repository():
    """The product cites upstream sources (file and function), never the seed documents."""
    needle = "../" + "shared"
    hits = []
    for path in ROOT.rglob("*"):
        if any(part in (".venv", ".git", ".tox", "node_modules", "__pycache__") for part in path.parts):
            continue
        if path.is_file() and path.suffix in (".py", ".md", ".toml", ".sh", ".yml", ".yaml", ".ini", ".txt", ".j2"):
            if needle in path.read_text(encoding="utf-8", errors="replace"):
                hits.append(str(path.relative_to(ROOT)))
    assert not hits, f"files that point at {needle}: {hits}"


def test_readme_layout_names_every_directory_and_reference_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    dirs = [p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")
            and not p.name.endswith(".egg-info") and p.name not in ("out", "build", "dist", "__pycache__")]
    modules = [p.name for p in (ROOT / "reference").glob("*.py") if p.name != "__init__.py"]
    missing = [d + "/" for d in dirs if f"{d}/" not in layout] + [m for m in modules if m not in layout]
    assert not missing, f"README's Layout section does not mention: {missing}"
