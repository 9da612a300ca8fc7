"""``resize-conformance bench``: time and measure the reference resize against the floor (a plain
copy of the same bytes) and transformers' TF resize, per shape, growing and shrinking by ``--delta``.

Light at import (no TensorFlow): the work happens in fresh child processes (``harness.bench``).
"""

import argparse
import dataclasses
import os
import re

from harness.commands._common import EXIT_OK, UsageError, bind, command_line

DEFAULT_SHAPES = "30522x768,50257x768,250002x1024,128256x4096"
QUICK_SHAPES = "96x16,160x32"
EPILOG = """\
Medians over --repeats rounds in one fresh process per shape; peak extra memory of one call per
case in a fresh process. transformers' whole-model cases are optional above a 1.5 GB matrix
(--transformers-models all includes them; each redraws the whole matrix: slow and ~6x memory).

exit codes:
  0  the bench ran (whether or not the targets are met: read the report)
  2  bad option
"""


def register(subparsers, parser_class):
    p = subparsers.add_parser("bench", help="benchmark the reference resize against a plain copy and transformers",
                              description="Time and measure the reference resize against the floor (a plain copy of the "
                                          "same bytes) and transformers' TF resize, growing and shrinking each "
                                          "shape by --delta rows.", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default=None, metavar="VxH[,VxH...]",
                   help=f"matrix shapes (default {DEFAULT_SHAPES}; --quick: {QUICK_SHAPES})")
    p.add_argument("--delta", type=int, default=None, help="rows added / removed (default 1024; --quick: 8)")
    p.add_argument("--repeats", type=int, default=None, metavar="N", help="timing rounds (default 5; --quick: 3)")
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="a case stops repeating once its runs add up to this (default 60; it always runs once)")
    p.add_argument("--quick", action="store_true", help="tiny shapes: a smoke test, not a measurement")
    p.add_argument("--case", action="append", default=[], metavar="GLOB",
                   help="only cases matching a name glob or group (floor, alias, reference, part, transformers); "
                        "repeatable; floors are always added")
    p.add_argument("--transformers-models", choices=("auto", "all", "none"), default="auto",
                   help="transformers' whole-model cases: auto skips them above a 1.5 GB matrix (default auto)")
    p.add_argument("--no-memory", action="store_true", help="skip the per-case peak-memory processes")
    p.add_argument("--in-process", action="store_true",
                   help="no child processes (debugging, smoke tests): memory is then not from a fresh process")
    p.add_argument("--timeout", type=float, default=7200.0, metavar="SECONDS",
                   help="limit per child process (default 7200)")
    p.add_argument("--out", default="bench.json", metavar="FILE.json", help="results (default ./bench.json)")
    p.add_argument("--markdown", default=None, metavar="FILE.md", help="Markdown table (default: --out with .md)")
    p.add_argument("--suite", action="store_true",
                   help="instead: time the suite's own commands (start-up, one check, the reference suite "
                        "in-process and in a worker, one transformers class); medians of --repeats (default 3)")
    p.add_argument("--suite-matrix", choices=("none", "sample", "all"), default="none",
                   help="with --suite: also certify transformers with -j 2 (sample: 4 classes, extrapolated)")
    bind(p, BenchOptions, cmd_bench)


@dataclasses.dataclass(frozen=True)
class BenchOptions:
    """The options of ``bench`` as given (None: the default of --quick or of a full bench)."""

    shapes: str | None
    delta: int | None
    repeats: int | None
    budget_s: float
    quick: bool
    cases: tuple  # name globs or groups
    transformers_models: str
    memory: bool
    in_process: bool
    timeout_s: float
    out: str
    markdown: str | None
    suite: bool
    suite_matrix: str
    command: str

    @classmethod
    def from_args(cls, args, argv):
        return cls(shapes=args.shapes, delta=args.delta, repeats=args.repeats, budget_s=args.budget,
                   quick=args.quick, cases=tuple(args.case), transformers_models=args.transformers_models,
                   memory=not args.no_memory, in_process=args.in_process, timeout_s=args.timeout, out=args.out,
                   markdown=args.markdown, suite=args.suite, suite_matrix=args.suite_matrix,
                   command=command_line(argv))


def parse_shapes(text):
    shapes = []
    for part in filter(None, (s.strip() for s in text.split(","))):
        m = re.fullmatch(r"(\d+)[xX](\d+)", part)
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
            raise UsageError(f"bad shape {part!r}: expected ROWSxWIDTH, e.g. 30522x768")
        shapes.append((int(m.group(1)), int(m.group(2))))
    if not shapes:
        raise UsageError("--shapes is empty")
    return shapes


def measure_options(options):
    """The options dict of ``harness.bench.measure.run_bench``, defaults filled in and checked."""
    from harness.bench import cases as bc

    shapes = parse_shapes(options.shapes or (QUICK_SHAPES if options.quick else DEFAULT_SHAPES))
    delta = options.delta if options.delta is not None else (8 if options.quick else 1024)
    repeats = options.repeats if options.repeats is not None else (3 if options.quick else 5)
    if delta < 1 or repeats < 1 or not options.budget_s > 0 or not options.timeout_s > 0:
        raise UsageError("--delta and --repeats must be >= 1, --budget and --timeout > 0")
    too_small = [f"{r}x{w}" for r, w in shapes if r - delta < 1]
    if too_small:
        raise UsageError(f"--delta {delta} leaves no row to keep when shrinking {', '.join(too_small)}")
    globs = list(options.cases)
    chosen = bc.select(globs)
    if globs and not chosen:
        raise UsageError(f"no bench case matches {globs}; cases: {', '.join(c.name for c in bc.CASES)}")
    names = {c.name for c in chosen} | set(bc.FLOORS)
    return {"shapes": shapes, "delta": delta, "repeats": repeats, "budget_s": options.budget_s,
            "quick": options.quick, "models": options.transformers_models, "memory": options.memory,
            "in_process": options.in_process,
            "timeout_s": options.timeout_s, "cases": [c for c in bc.CASES if c.name in names],
            "command": options.command}


def cmd_suite(options):
    """``bench --suite``: wall time of the suite's own commands (``harness.bench.suite``)."""
    from harness.bench import report, suite

    out = options.out if options.out != "bench.json" else "suite-timing.json"
    result = suite.run_suite_timing(repeats=options.repeats or 3, matrix=options.suite_matrix,
                                    timeout_s=options.timeout_s, log=lambda line: print(line, flush=True))
    result["command"] = options.command
    md_path = options.markdown or (os.path.splitext(out)[0] + ".md")
    report.write_json(result, out)
    with open(md_path, "w", encoding="utf-8") as fh:
        fh.write(suite.render_markdown(result))
    print(suite.render_markdown(result))
    print(f"bench: wrote {out} and {md_path}")
    return EXIT_OK


def cmd_bench(options):
    from harness.bench import measure, report

    if options.suite:
        return cmd_suite(options)
    raw = report.summarise(measure.run_bench(measure_options(options)))
    md_path = options.markdown or (os.path.splitext(options.out)[0] + ".md")
    report.write_json(raw, options.out)
    report.write_markdown(raw, md_path)
    print(report.render_markdown(raw))
    print(f"bench: wrote {options.out} and {md_path}")
    return EXIT_OK
