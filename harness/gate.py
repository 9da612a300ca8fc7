"""Gate semantics shared by the CLI, the pytest plugin and the library API.

Without a baseline the gate fails on any failed or error case, on a strict expected failure
that passed, when fewer cases ran than the adapter's capabilities require, or when the run did
not finish (``harness.report.build.gate``). With a baseline (a committed report.json) it fails
only on *regressions*: a case that fails now (failed, error, strict xpassed) and did not fail
in the baseline (passed there, or is new) - plus the same completeness rules.

Exit codes: 0 pass, 1 gate failed, 2 usage/bad input, 3 internal error, 130 interrupted.
"""

EXIT_OK, EXIT_GATE_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
FAILING_NOW = ("failed", "error")
FAILING_BEFORE = ("failed", "error", "xfailed")


def _failing(case):
    if case["status"] in FAILING_NOW:
        return True
    return case["status"] == "xpassed" and (case.get("details") or {}).get("strict", False)


def regressions(report, baseline):
    """Case ids failing in ``report`` that were not failing in ``baseline``."""
    before = {c["id"]: c["status"] for c in baseline.get("cases", ())}
    return [c["id"] for c in report.get("cases", ())
            if _failing(c) and before.get(c["id"]) not in FAILING_BEFORE]


def apply_baseline(report, baseline, baseline_path=None):
    """Recompute ``report``'s gate against ``baseline`` (in place); returns the report."""
    s = report["summary"]
    regressed = regressions(report, baseline)
    reasons = []
    if regressed:
        shown = ", ".join(regressed[:5]) + (" ..." if len(regressed) > 5 else "")
        reasons.append(f"{len(regressed)} regression(s) against the baseline: {shown}")
    if s["collected"] < s["expected"]:
        reasons.append(f"collected {s['collected']} of {s['expected']} expected cases")
    if report.get("partial"):
        reasons.append("the run did not finish (partial report)")
    s["gate"], s["gate_reasons"] = ("fail" if reasons else "pass"), reasons
    report["run"]["options"]["baseline"] = baseline_path
    report["run"]["options"]["baseline_regressions"] = regressed
    return report


def exit_code(report):
    return EXIT_OK if report["summary"]["gate"] == "pass" else EXIT_GATE_FAILED
