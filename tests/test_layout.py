"""House rules that code can check: reference/ stands alone; modules stay small; no import cycle;
the README's Layout section and the docs' links are true."""

import ast
import pathlib
import re

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


# -- the docs: README.md and docs/*.md link only to what exists --------------------------------------
DOC_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(path):
    """The page without fenced blocks (a `# comment` in a bash block is no heading)."""
    return _FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchors(path):
    """GitHub's heading anchors of a Markdown page: lower case, punctuation dropped, spaces -> '-'."""
    seen, out = {}, set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _prose(path), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _links(path):
    return _LINK.findall(_CODE_SPAN.sub("", _prose(path)))


def test_relative_links_in_the_docs_lead_somewhere():
    broken = []
    for page in DOC_PAGES:
        for link in _links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto: ...
                continue
            target, _, anchor = link.partition("#")
            dest = (page.parent / target).resolve() if target else page
            where = f"{page.relative_to(ROOT)}: {link}"
            if not dest.exists():
                broken.append(f"{where} (no such file)")
            elif ROOT not in (dest, *dest.parents):
                broken.append(f"{where} (outside the repository)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{where} (no such heading)")
    assert not broken, broken


def test_readme_links_every_docs_page():
    linked = {(ROOT / link.partition("#")[0]).resolve() for link in _links(ROOT / "README.md")}
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if p.resolve() not in linked]
    assert not missing, f"README.md does not link: {missing}"


def test_link_checker_sees_links_and_anchors(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# A `b`: c (d)\n\n```bash\n# not a heading\n```\n[x](q.md#y) `[z](w)` [v](#a-b-c-d)\n",
                    encoding="utf-8")
    assert _anchors(page) == {"a-b-c-d"}
    assert _links(page) == ["q.md#y", "#a-b-c-d"]
