"""``resize-conformance diff OLD.json NEW.json`` / ``diff --matrix R1.json R2.json ...``."""

import argparse
import dataclasses
import os
import sys

from harness.commands._common import EXIT_GATE_FAILED, EXIT_OK, UsageError, bind, load_reports

EPILOG = """\
Writes regressions.md, regressions.html and regressions.json to --out (if given) and prints the
Markdown. With --matrix, runs are grouped by adapter and sorted by TensorFlow version; consecutive
runs of each adapter are compared.

exit codes:
  0  no regression (no case that passed before fails or errors now)
  1  at least one regression
  2  bad input: a file is missing, not JSON, or not a valid report.json
"""


def register(subparsers, parser_class):
    p = subparsers.add_parser("diff", help="compare report.json files: regressions, fixes, new/removed cases",
                              description="Regression report between two runs, or a check x version matrix "
                                          "over several runs.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reports", nargs="+", metavar="REPORT.json",
                   help="OLD.json NEW.json, or with --matrix any number of reports (a directory means its report.json)")
    p.add_argument("--matrix", action="store_true", help="compare several runs as a matrix")
    p.add_argument("--out", default=None, metavar="DIR", help="write regressions.md/.html/.json here")
    p.add_argument("--quiet", action="store_true", help="print only the one-line summary")
    bind(p, DiffOptions, cmd_diff)


@dataclasses.dataclass(frozen=True)
class DiffOptions:
    reports: tuple  # paths (a directory means its report.json)
    matrix: bool
    out: str | None
    quiet: bool

    @classmethod
    def from_args(cls, args, argv):
        return cls(reports=tuple(os.fspath(p) for p in args.reports), matrix=args.matrix, out=args.out,
                   quiet=args.quiet)


def cmd_diff(options):
    from harness.report import build, write_text_atomic
    from harness.report.diff import diff_reports, matrix, render_diff_markdown, render_matrix_markdown
    from harness.report.html import render_matrix_html

    paths = list(options.reports)
    if not options.matrix and len(paths) != 2:
        raise UsageError(f"diff takes OLD.json NEW.json (got {len(paths)} files; use --matrix for more)")
    reports = load_reports(paths)
    mx = matrix(reports, paths)
    if options.matrix:
        markdown = render_matrix_markdown(mx)
        title = "Regression report: version matrix"
        data = {"runs": mx["runs"], "matrix": mx["rows"], "diffs": mx["diffs"]}
    else:
        diff = diff_reports(reports[0], reports[1], paths[0], paths[1])
        mx["diffs"] = [diff]
        mx["regressions"] = diff["regressions"]
        markdown = render_diff_markdown(diff)
        title = f"Regression report: {diff['old']['label']} \u2192 {diff['new']['label']}"
        data = diff
    out = options.out
    if out:
        try:
            write_text_atomic(os.path.join(out, "regressions.md"), markdown)
            write_text_atomic(os.path.join(out, "regressions.html"),
                              render_matrix_html(reports, paths, title=title, mx=mx))
            write_text_atomic(os.path.join(out, "regressions.json"), build.dumps(data))
        except OSError as exc:
            raise UsageError(f"cannot write to {out!r}: {exc.strerror or exc}") from exc
    n = mx["regressions"]
    where = f"; written to {out}" if out else ""
    try:
        if not options.quiet:
            print(markdown)
        print(f"diff: {n} regression(s) across {len(reports)} run(s){where}")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_GATE_FAILED if n else EXIT_OK
