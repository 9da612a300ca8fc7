"""``resize-conformance diff``: regressions, fixes, stale xfails, new/removed cases and checks,
changed messages, versions side by side; the matrix form; bad input exits 2 in one line."""

import copy
import datetime as dt
import json

import pytest

from harness import cli
from harness.adapters.reference import ReferenceAdapter
from harness.commands.env_error import environment_error_report
from harness.report import build_report, validate_report
from harness.report.diff import diff_reports, matrix, render_diff_markdown, render_matrix_markdown
from harness.results import CaseResult
from harness.runner import Runner

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def make_report(cases, *, tf="2.21.0", adapter="reference"):
    """A schema-valid report from ``(id, check, status, message)`` tuples (no check is run)."""
    results = []
    for cid, check, status, message in cases:
        extra = {}
        if status in ("failed", "error"):
            extra = {"expected": {"shape": [9, 8]}, "observed": {"shape": [8, 8]}, "reproduce": f"rerun {cid}",
                     "details": {"max_abs_diff": 0.5, "traceback": "Traceback: <boom> & co"}}
        if status == "xpassed":
            extra = {"details": {"strict": True}}
        results.append(CaseResult(cid, check, "example", {"old": 8, "new": 9}, status, message, 0.25, **extra))
    report = build_report(results=results, planned_total=len(results), adapter=ReferenceAdapter(),
                          adapter_spec="reference", runner=Runner(ReferenceAdapter(), seed=0, profile="dev"),
                          started_at=NOW, finished_at=NOW, partial=False, command="resize-conformance run")
    report["run"]["versions"]["tensorflow"] = tf
    report["run"]["adapter"]["name"] = adapter
    return validate_report(report)


OLD = [
    ("grow.shape[a]", "grow.shape", "passed", ""),            # -> failed: regression
    ("grow.shape[b]", "grow.shape", "failed", "rows lost"),   # -> passed: fix
    ("tied.still_tied[c]", "tied.still_tied", "xfailed", "expected failure (bug 1): copy"),  # -> xpassed
    ("noop.none_returns_current[d]", "noop.none_returns_current", "failed", "old text"),   # message changes
    ("shrink.shape[e]", "shrink.shape", "passed", ""),         # -> not_applicable: other change
    ("bias.all_keys_resized[f]", "bias.all_keys_resized", "passed", ""),  # removed (and its check)
]
NEW = [
    ("grow.shape[a]", "grow.shape", "failed", "input matrix: shape [8, 8], expected [9, 8]"),
    ("grow.shape[b]", "grow.shape", "passed", ""),
    ("tied.still_tied[c]", "tied.still_tied", "xpassed", "expected to fail (bug 1) but passed"),
    ("noop.none_returns_current[d]", "noop.none_returns_current", "failed", "new text"),
    ("shrink.shape[e]", "shrink.shape", "not_applicable", "adapter does not support shrinking"),
    ("golden.matrix_resize[g]", "golden.matrix_resize", "passed", ""),   # new (and its check)
]


@pytest.fixture(scope="module")
def pair():
    return make_report(OLD, tf="2.20.0"), make_report(NEW, tf="2.21.0")


def _rows(diff, key):
    return next(s["rows"] for s in diff["sections"] if s["key"] == key)


def test_every_kind_of_change_is_classified(pair):
    d = diff_reports(*pair)
    assert [r[0] for r in _rows(d, "regressions")] == ["grow.shape[a]"] and d["regressions"] == 1
    assert [r[0] for r in _rows(d, "fixes")] == ["grow.shape[b]"]
    assert [r[0] for r in _rows(d, "stale_xfails")] == ["tied.still_tied[c]"]
    assert _rows(d, "changed_messages") == [("noop.none_returns_current[d]", "failed", "old text", "new text")]
    assert [r[:3] for r in _rows(d, "other_changes")] == [("shrink.shape[e]", "passed", "not_applicable")]
    assert [r[0] for r in _rows(d, "new_cases")] == ["golden.matrix_resize[g]"]
    assert [r[0] for r in _rows(d, "removed_cases")] == ["bias.all_keys_resized[f]"]
    assert [r[0] for r in _rows(d, "new_checks")] == ["golden.matrix_resize"]
    assert [r[0] for r in _rows(d, "removed_checks")] == ["bias.all_keys_resized"]
    assert ("tensorflow", "2.20.0", "2.21.0", True) in d["versions"]
    md = render_diff_markdown(d)
    assert "reference @ TF 2.20.0 \u2192 reference @ TF 2.21.0" in md
    assert "| tensorflow | 2.20.0 | 2.21.0 |" in md
    assert "### Regressions (1)" in md and "### Stale expected failures (1)" in md


def test_cli_pair_writes_markdown_html_json_and_exits_1_on_regression(pair, tmp_path, capsys):
    paths = []
    for name, report in zip(("old", "new"), pair):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(report))
    assert cli.main(["diff", str(paths[0]), str(paths[1]), "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "diff: 1 regression(s)" in out and "# Regression report" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["regressions.html", "regressions.json",
                                                                    "regressions.md"]
    html = (tmp_path / "out" / "regressions.html").read_text()
    assert "Regressions" in html and "2.20.0" in html and "2.21.0" in html
    assert json.loads((tmp_path / "out" / "regressions.json").read_text())["regressions"] == 1
    assert cli.main(["diff", str(paths[0]), str(paths[0]), "--quiet"]) == 0


def test_transformers_runs_are_labelled_and_ordered_by_both_versions(pair):
    """The transformers axis: runs of one class under two transformers lines are told apart and ordered."""
    older = make_report(NEW, tf="2.17.1", adapter="transformers/TFBertForMaskedLM")
    older["run"]["versions"]["transformers"] = "4.44.2"
    newer = make_report(NEW, tf="2.21.0", adapter="transformers/TFBertForMaskedLM")
    newer["run"]["versions"]["transformers"] = "4.57.6"
    mx = matrix([newer, older], ["new", "old"])
    assert [r["column"] for r in mx["runs"]] == ["TF 2.17.1, transformers 4.44.2", "TF 2.21.0, transformers 4.57.6"]
    assert len(mx["diffs"]) == 1


def test_matrix_groups_by_adapter_sorts_by_version_and_marks_environment_errors(pair, tmp_path, capsys):
    broken = environment_error_report(adapter="reference", stage="install tensorflow-cpu==2.16.*",
                                      message="ERROR: No matching distribution", requested={"tensorflow": "2.16.*"},
                                      versions={})
    validate_report(broken)
    other = make_report(NEW, tf="2.21.0", adapter="transformers/TFBertForMaskedLM")
    other["run"]["versions"]["transformers"] = "4.57.6"
    mx = matrix([pair[1], broken, other, pair[0]], ["new", "broken", "bert", "old"])
    assert [r["label"] for r in mx["runs"]] == ["reference @ TF 2.16", "reference @ TF 2.20.0",
                                                 "reference @ TF 2.21.0",
                                                 "transformers/TFBertForMaskedLM @ TF 2.21.0, transformers 4.57.6"]
    assert len(mx["diffs"]) == 2 and not mx["diffs"][0]["comparable"] and mx["regressions"] == 1
    row = next(r for r in mx["rows"] if r["check"] == "grow.shape")
    assert [c["text"] for c in row["cells"]] == ["env error", "fail 1/2", "fail 1/2", "fail 1/2"]
    md = render_matrix_markdown(mx)
    assert "environment error: ERROR: No matching distribution" in md
    files = []
    for i, report in enumerate((pair[0], pair[1], broken)):
        files.append(tmp_path / f"r{i}.json")
        files[-1].write_text(json.dumps(report))
    assert cli.main(["diff", "--matrix", *map(str, files), "--out", str(tmp_path / "mx"), "--quiet"]) == 1
    assert "env error" in (tmp_path / "mx" / "regressions.html").read_text()


@pytest.mark.parametrize("content, needle", [
    (None, "no such file"),
    ("not json at all", "not a valid report.json"),
    ('{"schema_version": "1.0"}', "not a valid report.json: invalid report at /"),
])
def test_bad_input_is_one_line_and_exit_2(pair, tmp_path, capsys, content, needle):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(pair[0]))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert cli.main(["diff", str(good), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and needle in err
    assert cli.main(["diff", str(good)]) == 2


def test_comparing_a_report_with_itself_changes_nothing(pair):
    d = diff_reports(pair[1], copy.deepcopy(pair[1]))
    assert all(not s["rows"] for s in d["sections"]) and d["regressions"] == 0


def test_env_error_command_writes_a_valid_report_from_the_log(tmp_path, capsys):
    log = tmp_path / "pip.log"
    log.write_text("Collecting tensorflow-cpu==2.99.*\nERROR: No matching distribution found for tensorflow-cpu==2.99.*\n")
    out = tmp_path / "2.99" / "transformers-TFBertForMaskedLM"
    assert cli.main(["env-error", "--report-dir", str(out), "--adapter", "transformers/TFBertForMaskedLM",
                     "--stage", "install tensorflow-cpu==2.99.*", "--log", str(log),
                     "--requested", "tensorflow=2.99.*", "--versions-json", '{"python": "3.11.7"}']) == 0
    report = json.loads((out / "report.json").read_text())
    validate_report(report)
    note = report["environment_error"]
    assert note["message"] == "ERROR: No matching distribution found for tensorflow-cpu==2.99.*"
    assert note["requested"] == {"tensorflow": "2.99.*"} and "Collecting" in note["log_tail"]
    assert report["summary"]["gate"] == "fail" and report["cases"] == []
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md"]
    assert "ERROR: No matching distribution" in (out / "report.md").read_text()


def test_object_addresses_do_not_count_as_changed_messages():
    a = make_report([("grow.shape[a]", "grow.shape", "failed", "raised ValueError: <Embedding object at 0x7f7111be1bd0>")])
    b = make_report([("grow.shape[a]", "grow.shape", "failed", "raised ValueError: <Embedding object at 0x7f2876c22910>")])
    assert not _rows(diff_reports(a, b), "changed_messages")
