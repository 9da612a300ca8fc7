"""``resize-conformance golden regen|check``: rewrite or verify the golden files."""

import argparse
import dataclasses
import os
import sys

from harness.commands._common import EXIT_GATE_FAILED, EXIT_OK, UsageError, bind

HELP_EPILOG = """\
exit codes:
  0  every stored case matches a fresh generation (check) / the cases were written (regen)
  1  check: a mismatch (a value beyond the stricter of the stored and the defined tolerance,
     a parameter, or a stored tolerance that differs from the definition's), or an added,
     removed or orphaned case
  2  bad input: the golden directory is missing, or a case.json / arrays.npz cannot be read
"""


def register(subparsers, parser_class):
    golden = subparsers.add_parser("golden", help="regenerate or check the golden files",
                                   description="Golden cases: inputs, parameters and results of the reference "
                                               "under fixed seeds (golden/<case>/case.json + arrays.npz).",
                                   epilog=HELP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = golden.add_subparsers(dest="golden_command", metavar="ACTION", parser_class=parser_class)
    for name, text in (("regen", "regenerate the golden cases from the reference and write them"),
                       ("check", "regenerate into a temporary folder and compare with the stored cases")):
        p = sub.add_parser(name, help=text, description=text, epilog=HELP_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--dir", default=None, metavar="DIR",
                       help="golden directory (default: golden/ at the top of the checkout)")
        p.add_argument("-k", dest="pattern", default=None, metavar="PATTERN",
                       help="only cases whose name contains PATTERN (or matches it as a glob)")
        if name == "regen":
            p.add_argument("--prune", action="store_true",
                           help="also delete cases no longer defined and orphaned entries")
        bind(p, GoldenOptions, cmd_regen if name == "regen" else cmd_check)
    bind(golden, GoldenOptions, None)  # no action: GoldenOptions.from_args raises the usage error


@dataclasses.dataclass(frozen=True)
class GoldenOptions:
    dir: str | None      # the golden directory (None: golden/ of the checkout)
    pattern: str | None  # -k: a substring or glob of case names
    prune: bool          # regen only

    @classmethod
    def from_args(cls, args, argv):
        if args.golden_command is None:
            raise UsageError("golden needs an action: regen or check")
        return cls(dir=args.dir, pattern=args.pattern, prune=getattr(args, "prune", False))


def _directory(options, must_exist):
    from harness.golden.generate import default_dir

    directory = options.dir or default_dir()
    if must_exist and not os.path.isdir(directory):
        raise UsageError(f"golden directory {directory!r} does not exist")
    return directory


def cmd_regen(options):
    from harness.golden.generate import regen

    directory = _directory(options, must_exist=False)
    written, pruned = regen(directory, options.pattern, prune=options.prune)
    if not written and options.pattern:
        raise UsageError(f"no golden case matches -k {options.pattern!r}")
    for name in written:
        print(f"wrote {os.path.join(directory, name)}")
    for path in pruned:
        print(f"pruned {path}")
    print(f"golden regen: {len(written)} case(s) written to {directory}")
    return EXIT_OK


def cmd_check(options):
    from harness.golden import GoldenFormatError
    from harness.golden.generate import check

    directory = _directory(options, must_exist=True)
    try:
        result = check(directory, options.pattern)
    except GoldenFormatError as exc:
        raise UsageError(f"bad golden file: {exc}") from exc
    for m in result.mismatches:
        print(m.line())
    for name in result.added:
        print(f"ADDED {name}: defined but not stored (run 'resize-conformance golden regen -k {name}')")
    for name in result.removed:
        print(f"REMOVED {name}: stored but no longer defined (delete it, or 'golden regen --prune')")
    for path, reason in result.orphaned:
        print(f"ORPHANED {path}: {reason}")
    failing = sorted({m.case for m in result.mismatches})
    verdict = "PASS" if result.ok else "FAIL"
    print(f"golden check: {verdict}: {len(result.matched)} matched, {len(failing)} mismatched"
          + (f" ({', '.join(failing)})" if failing else "")
          + f", {len(result.added)} added, {len(result.removed)} removed, {len(result.orphaned)} orphaned"
          + f" [{directory}]")
    sys.stdout.flush()
    return EXIT_OK if result.ok else EXIT_GATE_FAILED
