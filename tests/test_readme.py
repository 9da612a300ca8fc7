"""The Python examples of the README and of docs/*.md run as written; docs/checks.md names every check."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [(page.relative_to(ROOT).as_posix(), i, code) for page in PAGES
          for i, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S))]


def test_docs_have_examples():
    assert len(BLOCKS) >= 3
    assert {"docs/reference.md", "docs/keras-hub.md"} <= {page for page, _, _ in BLOCKS}


@pytest.mark.parametrize(("page", "index", "code"), BLOCKS, ids=[f"{p}[{i}]" for p, i, _ in BLOCKS])
def test_example_runs(page, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = code.replace("/tmp/resized-lm", str(tmp_path / "resized-lm"))
    exec(compile(code, f"{page}[python block {index}]", "exec"), {})


def test_checks_page_names_every_check_and_no_other():
    from harness.checks import all_checks

    listed = set(re.findall(r"^- \*\*`([a-z_]+\.[a-z_]+)`\*\*", (ROOT / "docs" / "checks.md").read_text(encoding="utf-8"),
                            re.M))
    registered = {c.id for c in all_checks()}
    assert not registered - listed, f"docs/checks.md does not describe: {sorted(registered - listed)}"
    assert not listed - registered, f"docs/checks.md describes checks that do not exist: {sorted(listed - registered)}"
