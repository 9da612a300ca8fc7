"""HTML pages: self-contained, every adapter string escaped, summary/family/failure sections,
the matrix page, and ``run --html`` writing report.html."""

import re

from test_diff import make_report

from harness import cli
from harness.commands.env_error import environment_error_report
from harness.report.html import render_html, render_matrix_html

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _self_contained(html):
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert not re.search(r"<script|<link|<img|<iframe|https?://|<[^>]*\s(src|href)=", html, re.I)


def test_report_page_escapes_every_string_and_has_the_sections():
    report = make_report([("grow.shape[a]", "grow.shape", "passed", ""),
                          ("grow.shape[b]", "grow.shape", "failed", EVIL),
                          ("shrink.shape[c]", "shrink.shape", "not_applicable", "no shrink " + EVIL)],
                         adapter="evil" + EVIL)
    report["cases"][1]["params"] = {"name": EVIL}
    html = render_html(report)
    _self_contained(html)
    assert "&lt;script&gt;" in html
    for title in ("Summary", "By family", "Failures and errors", "Not applicable", "All cases"):
        assert f"<h2>{title}</h2>" in html
    assert "After growing to N rows" in html  # the property of the failing check
    assert "rerun grow.shape[b]" in html and "Traceback: &lt;boom&gt; &amp; co" in html


def test_environment_error_page():
    report = environment_error_report(adapter="reference", stage="install tensorflow-cpu==2.16.*",
                                      message="ERROR: " + EVIL, requested={"tensorflow": "2.16.*"},
                                      versions={}, log_tail="pip says " + EVIL)
    html = render_html(report)
    _self_contained(html)
    assert "Environment error: no case ran" in html and "install tensorflow-cpu==2.16.*" in html


def test_matrix_page_escapes_and_shows_class_by_check_by_version():
    a = make_report([("grow.shape[a]", "grow.shape", "passed", "")], tf="2.19.0")
    b = make_report([("grow.shape[a]", "grow.shape", "failed", EVIL)], tf="2.20.0")
    c = make_report([("grow.shape[a]", "grow.shape", "passed", "")], tf="2.20.0", adapter="x" + EVIL)
    html = render_matrix_html([a, b, c], ["a.json", "b.json", "c.json"])
    _self_contained(html)
    assert "TF 2.19.0" in html and "TF 2.20.0" in html and "fail 1/1" in html
    assert "reference @ TF 2.19.0 &rarr; reference @ TF 2.20.0" in html


def test_run_with_html_writes_report_html(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", "--adapter", "reference", "--select", "noop.none_returns_current",
                     "--report-dir", str(out), "--profile", "dev", "--html", "--quiet"]) == 0
    html = (out / "report.html").read_text()
    _self_contained(html)
    assert "Resize conformance report: <code>reference</code>" in html


def test_aggregate_page_groups_expected_failures_by_manifest_reason_with_true_counts():
    rows = [(f"A::grow.shape[{i}]", "grow.shape", "xfailed", f"expected failure (bug: root cause {EVIL}): seen {i}")
            for i in range(30)]
    rows += [(f"A::rnn.x[{i}]", "rnn.x", "not_applicable", "no RNN cells") for i in range(20)]
    report = make_report(rows)
    assert "Expected failures (xfailed)</h2>" in render_html(report)  # one class: every case, with its message
    report["matrix"] = {"subjects": [], "checks": []}
    html = render_html(report)
    _self_contained(html)
    assert "by manifest reason</h2><ul><li>bug: root cause &lt;script&gt;" in html
    assert html.count("bug: root cause") == 1 and "(30): " in html and "... and 18 more" in html
    assert "no RNN cells (20): " in html  # the real count, not the ids shown
