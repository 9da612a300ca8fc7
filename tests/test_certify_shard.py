"""certify --shard I/N splits the classes deterministically, and merge joins the shards into the
report of the unsharded run (timings and the command aside)."""

import certify_transformers as ct

from harness import shard
from harness.report import load_report

CLASSES = ("TFGPT2LMHeadModel", "TFDistilBertForMaskedLM")  # one in each of two shards (ViT joins one of them)


def _comparable(report):
    def case(c):
        return {k: v for k, v in c.items() if k not in ("duration_s",)}

    rows = [{k: v for k, v in r.items() if k not in ("duration_s", "report")} for r in report["matrix"]["subjects"]]
    return {"cases": [case(c) for c in report["cases"]], "rows": rows, "summary": report["summary"],
            "checks": report["checks"]}


def test_shards_split_classes_deterministically():
    owners = {name: shard.owner(name, 2) for name in CLASSES}
    assert sorted(owners.values()) == [1, 2]  # crc32-based: the same on every machine
    assert all(shard.owns_subject(n, owners[n], 2) and not shard.owns_subject(n, 3 - owners[n], 2)
               for n in CLASSES)


def test_merged_shards_equal_the_unsharded_run(transformers_certified, tmp_path):
    # the unsharded run (2 workers) is the one tests/test_certify_resume.py resumes; each shard has one worker
    assert set(ct.CLASSES) >= set(CLASSES)
    for i in (1, 2):
        code, out = ct.certify(tmp_path / f"shard{i}", "--shard", f"{i}/2", jobs=1)
        assert code == 0, out
        assert f"shard {i}/2" in out
    code, out = ct.cli("merge", str(tmp_path / "shard1"), str(tmp_path / "shard2"), "--report-dir",
                       str(tmp_path / "merged"))
    assert code == 0, out
    merged, whole = load_report(tmp_path / "merged"), load_report(transformers_certified)
    assert _comparable(merged) == _comparable(whole)
    assert (tmp_path / "merged" / "report.html").exists() and (tmp_path / "merged" / "report.md").exists()
    code, out = ct.cli("merge", str(tmp_path / "shard1"), "--report-dir", str(tmp_path / "bad"))
    assert code == 2 and "need each of shards 1..2" in out  # EXIT_USAGE


def test_example_workflow_commands_parse():
    """Every resize-conformance command in the example CI workflow is accepted by the CLI parser."""
    import pathlib
    import re
    import shlex

    from harness.cli import build_parser

    text = (pathlib.Path(__file__).resolve().parents[1] / "examples" / "ci" / "certify-sharded.yml").read_text()
    commands = re.findall(r"resize-conformance ([^|\n]+)", text)
    assert {c.split()[0] for c in commands} >= {"certify", "merge"}
    for command in commands:
        argv = shlex.split(re.sub(r"\$\{\{ *matrix\.shard *\}\}", "1", command))
        build_parser().parse_args(argv)
