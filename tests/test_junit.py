"""``resize-conformance junit``: well-formed xunit2 XML, one testcase per case, suite-level
properties only, every status mapped."""

import xml.etree.ElementTree as ET

import pytest
from test_diff import make_report

from harness import cli
from harness.commands.env_error import environment_error_report
from harness.report.junit import render_junit

CASES = [
    ("grow.shape[a]", "grow.shape", "passed", ""),
    ("grow.shape[b]", "grow.shape", "failed", "input matrix: shape [8, 8], expected [9, 8] \x1b[31m<&>"),
    ("grow.prefix_preserved[c]", "grow.prefix_preserved", "error", "RuntimeError: exploded"),
    ("shrink.shape[d]", "shrink.shape", "skipped", "not run: interrupted"),
    ("shrink.shape[e]", "shrink.shape", "not_applicable", "adapter does not support shrinking"),
    ("tied.still_tied[f]", "tied.still_tied", "xfailed", "expected failure (bug 1): copy"),
    ("tied.still_tied[g]", "tied.still_tied", "xpassed", "expected to fail (bug 1) but passed"),
]


@pytest.fixture(scope="module")
def xml_root():
    return ET.fromstring(render_junit(make_report(CASES, tf="2.19.0")).encode("utf-8"))


def test_one_testcase_per_case_and_suite_counts(xml_root):
    assert xml_root.tag == "testsuites"
    (suite,) = xml_root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c[0] for c in CASES]
    assert [c.get("classname") for c in cases] == [c[1] for c in CASES]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("7", "2", "1", "3")


def test_properties_are_suite_level_only(xml_root):
    suite = xml_root.find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["adapter"] == "reference" and props["seed"] == "0"
    assert props["versions.tensorflow"] == "2.19.0" and "versions.python" in props
    assert not xml_root.findall(".//testcase/properties")


def test_statuses_map_to_failure_error_skipped(xml_root):
    by_name = {c.get("name"): c for c in xml_root.iter("testcase")}
    assert list(by_name["grow.shape[a]"]) == []
    failure = by_name["grow.shape[b]"].find("failure")
    assert failure.get("message").startswith("input matrix: shape [8, 8]") and "<&>" in failure.get("message")
    assert "\x1b" not in failure.get("message")  # not allowed in XML 1.0
    assert 'expected: {\n  "shape": [\n    9' in failure.text and "reproduce: rerun grow.shape[b]" in failure.text
    error = by_name["grow.prefix_preserved[c]"].find("error")
    assert error.get("message") == "RuntimeError: exploded" and "Traceback: <boom> & co" in error.text
    assert by_name["shrink.shape[d]"].find("skipped").get("message") == "skipped: not run: interrupted"
    assert "not applicable: adapter does not support shrinking" == by_name["shrink.shape[e]"].find("skipped").get("message")
    assert by_name["tied.still_tied[f]"].find("skipped").get("message").startswith("xfail: ")
    assert by_name["tied.still_tied[g]"].find("failure").get("message").startswith("xpass (strict)")


def test_environment_error_is_one_errored_testcase():
    report = environment_error_report(adapter="transformers/TFT5ForConditionalGeneration", stage="import",
                                      message="ImportError: no module", requested={}, versions={})
    root = ET.fromstring(render_junit(report).encode())
    (case,) = root.iter("testcase")
    assert case.find("error").get("message") == "environment error (import): ImportError: no module"


def test_cli_writes_xml_and_rejects_bad_input(tmp_path, capsys):
    src = tmp_path / "report.json"
    src.write_text(__import__("json").dumps(make_report(CASES)))
    out = tmp_path / "ci" / "junit.xml"
    assert cli.main(["junit", str(src), "-o", str(out)]) == 0
    ET.parse(out)
    assert "7 testcases" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("[1, 2")
    assert cli.main(["junit", str(tmp_path / "bad.json"), "-o", str(out)]) == 2
    assert cli.main(["junit", str(tmp_path / "missing.json"), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "bad.json" in err[0] and "missing.json: no such file" in err[1]
