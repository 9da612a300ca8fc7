"""JUnit XML (xunit2 flavour, as pytest writes it) derived from a report.json.

One ``<testsuite>`` per report whose ``<properties>`` carry the adapter, the versions, the
seed and the options (never per testcase, as xunit2 requires); one ``<testcase>`` per case
(classname = check id, name = case id). ``failed`` -> ``<failure>`` with the message and the
expected/observed text; ``error`` -> ``<error>``; ``skipped`` and ``not_applicable`` ->
``<skipped>`` with the reason; ``xfailed`` -> ``<skipped>`` whose message starts "xfail";
``xpassed`` -> ``<failure>`` when strict, else a pass with a note in ``<system-out>``.
An environment-error report becomes one errored testcase ``environment``.
"""

import json
import re
import socket
import xml.etree.ElementTree as ET

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_TEXT = 20000


def _clean(value, limit=MAX_TEXT):
    """Text safe for XML 1.0 (control characters dropped), cut at ``limit``."""
    s = _INVALID_XML.sub("", str("" if value is None else value))
    return s if len(s) <= limit else s[:limit - 3] + "..."


def _json(value):
    return value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)


def _failure_text(case):
    parts = []
    if "expected" in case:
        parts.append(f"expected: {_json(case['expected'])}")
    if "observed" in case:
        parts.append(f"observed: {_json(case['observed'])}")
    details = {k: v for k, v in (case.get("details") or {}).items() if k != "traceback"}
    if details:
        parts.append(f"details: {_json(details)}")
    if case.get("params") is not None:
        parts.append(f"params: {_json(case['params'])}")
    if case.get("seed") is not None:
        parts.append(f"seed: {case['seed']}")
    if case.get("reproduce"):
        parts.append(f"reproduce: {case['reproduce']}")
    return "\n".join(parts)


def _properties(report):
    run = report["run"]
    props = [("adapter", run["adapter"].get("name")), ("adapter.spec", run["adapter"].get("spec")),
             ("adapter.class", run["adapter"].get("class")), ("seed", run.get("seed"))]
    props += [(f"versions.{k}", v) for k, v in sorted((run.get("versions") or {}).items())]
    props += [(f"options.{k}", _json(v) if not isinstance(v, (str, int, float)) else v)
              for k, v in sorted((run.get("options") or {}).items())]
    props += [("gate", report["summary"]["gate"]), ("partial", report.get("partial"))]
    env = report.get("environment_error")
    if env:
        props += [("environment_error.stage", env.get("stage")), ("environment_error.message", env.get("message"))]
    return [(k, "" if v is None else str(v)) for k, v in props]


def _testcase(parent, case):
    tc = ET.SubElement(parent, "testcase", classname=_clean(case["check"], 500), name=_clean(case["id"], 1000),
                       time=f"{float(case.get('duration_s') or 0):.3f}")
    status, message = case["status"], _clean(case.get("message") or "", 2000)
    if status == "failed":
        ET.SubElement(tc, "failure", message=message, type="failed").text = _clean(_failure_text(case))
    elif status == "error":
        tb = (case.get("details") or {}).get("traceback") or ""
        body = "\n".join(x for x in (_failure_text(case), tb) if x)
        ET.SubElement(tc, "error", message=message, type="error").text = _clean(body)
    elif status in ("skipped", "not_applicable"):
        label = "not applicable" if status == "not_applicable" else "skipped"
        ET.SubElement(tc, "skipped", message=_clean(f"{label}: {case.get('message') or ''}", 2000),
                      type=status)
    elif status == "xfailed":
        ET.SubElement(tc, "skipped", message=_clean(f"xfail: {case.get('message') or ''}", 2000), type="xfail")
    elif status == "xpassed":
        if (case.get("details") or {}).get("strict"):
            ET.SubElement(tc, "failure", message=_clean(f"xpass (strict): {message}", 2000),
                          type="xpass").text = "a case marked as a strict expected failure passed"
        else:
            ET.SubElement(tc, "system-out").text = _clean(f"XPASS (not strict): {message}")
    return status


def to_junit_element(report, name=None):
    """The ``<testsuites>`` element of ``report``."""
    run = report["run"]
    suite_name = name or f"resize-conformance.{run['adapter'].get('name')}"
    suites = ET.Element("testsuites", name="resize-conformance")
    suite = ET.SubElement(suites, "testsuite", name=_clean(suite_name, 500), hostname=_clean(socket.gethostname(), 200),
                          timestamp=_clean(run.get("started_at") or ""), time=f"{float(run.get('duration_s') or 0):.3f}")
    props = ET.SubElement(suite, "properties")
    for key, value in _properties(report):
        ET.SubElement(props, "property", name=_clean(key, 200), value=_clean(value, 2000))
    tally = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    env = report.get("environment_error")
    if env:
        tc = ET.SubElement(suite, "testcase", classname="environment", name="environment", time="0.000")
        ET.SubElement(tc, "error", message=_clean(f"environment error ({env.get('stage')}): {env.get('message')}", 2000),
                      type="environment_error").text = _clean(env.get("log_tail") or "")
        tally["tests"], tally["errors"] = 1, 1
    for case in report.get("cases", []):
        status = _testcase(suite, case)
        tally["tests"] += 1
        strict_xpass = status == "xpassed" and (case.get("details") or {}).get("strict")
        tally["failures"] += status == "failed" or bool(strict_xpass)
        tally["errors"] += status == "error"
        tally["skipped"] += status in ("skipped", "not_applicable", "xfailed")
    for key, value in tally.items():
        suite.set(key, str(value))
        suites.set(key, str(value))
    suites.set("time", suite.get("time"))
    return suites


def render_junit(report, name=None):
    """JUnit XML text (UTF-8, with an XML declaration) of ``report``."""
    root = to_junit_element(report, name)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
