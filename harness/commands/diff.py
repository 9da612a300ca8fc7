"""``resize-conformance diff OLD.json NEW.json`` / ``diff --matrix R1.json R2.json ...``."""

import argparse
import os
import sys

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
    p.set_defaults(func=cmd_diff)


def load_reports(paths):
    """Load and validate every report; a bad one raises UsageError naming the file (one line)."""
    from harness.cli import UsageError
    from harness.report.build import load_report

    out = []
    for path in paths:
        try:
            out.append(load_report(path))
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{path}: is a directory without report.json") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
        except ValueError as exc:  # JSONDecodeError is a ValueError; so is a schema error
            raise UsageError(f"{path}: not a valid report.json: {' '.join(str(exc).split())}") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return out


def cmd_diff(args, argv):
    from harness.cli import UsageError
    from harness.report import build, write_text_atomic
    from harness.report.diff import diff_reports, matrix, render_diff_markdown, render_matrix_markdown
    from harness.report.html import render_matrix_html

    paths = [os.fspath(p) for p in args.reports]
    if not args.matrix and len(paths) != 2:
        raise UsageError(f"diff takes OLD.json NEW.json (got {len(paths)} files; use --matrix for more)")
    reports = load_reports(paths)
    mx = matrix(reports, paths)
    if args.matrix:
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
    if args.out:
        try:
            write_text_atomic(os.path.join(args.out, "regressions.md"), markdown)
            write_text_atomic(os.path.join(args.out, "regressions.html"),
                              render_matrix_html(reports, paths, title=title, mx=mx))
            write_text_atomic(os.path.join(args.out, "regressions.json"), build.dumps(data))
        except OSError as exc:
            raise UsageError(f"cannot write to {args.out!r}: {exc.strerror or exc}") from exc
    n = mx["regressions"]
    where = f"; written to {args.out}" if args.out else ""
    try:
        if not args.quiet:
            print(markdown)
        print(f"diff: {n} regression(s) across {len(reports)} run(s){where}")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if n else 0
