"""``resize-conformance junit REPORT.json -o FILE.xml``: JUnit XML (xunit2) for any CI system."""

import argparse
import dataclasses
import os

from harness.commands._common import EXIT_OK, UsageError, bind, load_reports

EPILOG = """\
exit codes:
  0  the XML was written (whatever the report's gate says: CI reads the failures from the XML)
  2  bad input: the report is missing, not JSON or not a valid report.json; or FILE is unwritable
"""


def register(subparsers, parser_class):
    p = subparsers.add_parser("junit", help="convert a report.json to JUnit XML (xunit2)",
                              description="JUnit XML (xunit2 flavour) derived from a report.json: one testcase "
                                          "per case, suite properties for the adapter, versions and seed.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", metavar="REPORT.json", help="a report.json (or a directory holding one)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.xml", help="where to write the XML")
    p.add_argument("--suite-name", default=None, help="testsuite name (default resize-conformance.<adapter>)")
    bind(p, JunitOptions, cmd_junit)


@dataclasses.dataclass(frozen=True)
class JunitOptions:
    report: str             # a report.json or a directory holding one
    output: str             # the XML file
    suite_name: str | None  # None: resize-conformance.<adapter>

    @classmethod
    def from_args(cls, args, argv):
        return cls(report=args.report, output=args.output, suite_name=args.suite_name)


def cmd_junit(options):
    from harness.report import write_text_atomic
    from harness.report.junit import render_junit

    (report,) = load_reports([options.report])
    try:
        write_text_atomic(options.output, render_junit(report, options.suite_name))
    except OSError as exc:
        raise UsageError(f"cannot write {options.output!r}: {exc.strerror or exc}") from exc
    counts = report["summary"]["counts"]
    print(f"junit: {len(report['cases'])} testcases ({counts['failed']} failed, {counts['error']} errors) "
          f"written to {os.fspath(options.output)}")
    return EXIT_OK
