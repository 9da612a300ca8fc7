"""``resize-conformance list-checks``: every check and the property it tests; with ``--mutants``,
the mutants that must make each check fail (the reverse index of the mutant catalogue)."""

import dataclasses
import json

from harness.commands._common import EXIT_OK, UsageError, bind


def register(sub, parser_class):
    lc = sub.add_parser("list-checks", help="list every check and the property it tests")
    lc.add_argument("--json", action="store_true", help="print the checks as JSON")
    lc.add_argument("--mutants", action="store_true",
                    help="under each check, the mutants (tests/mutants*.py, tests/real_mutants.py) that must "
                         "make it fail, and the failure message each must trigger (from a checkout)")
    lc.add_argument("--cases", action="store_true",
                    help="print every example case id, one per line (what a manifest's 'cases' can list; "
                         "property cases are CHECK[property])")
    bind(lc, ListChecksOptions, cmd_list_checks)


@dataclasses.dataclass(frozen=True)
class ListChecksOptions:
    json: bool
    mutants: bool
    cases: bool = False

    @classmethod
    def from_args(cls, args, argv):
        if args.cases and (args.json or args.mutants):
            raise UsageError("--cases prints case ids only: leave out --json and --mutants")
        return cls(json=args.json, mutants=args.mutants, cases=args.cases)


def cmd_list_checks(options):
    from harness.checks import all_checks

    checks = all_checks()
    if options.cases:
        from harness.runner import case_id

        for c in checks:
            for params in c.cases:
                print(case_id(c.id, params))
        return EXIT_OK
    index = _mutant_index() if options.mutants else None
    if options.json:
        rows = [c.to_dict() for c in checks]
        for row in rows if index is not None else ():
            row["mutants"] = [{"mutant": m.qualname, "message": m.message_for(row["id"]),
                               "description": m.description} for m in index.get(row["id"], [])]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max((len(c.id) for c in checks), default=0)
    for c in checks:
        print(f"{c.id:<{width}}  {c.property}")
        for m in index.get(c.id, []) if index is not None else ():
            message = m.message_for(c.id)
            print(f"    {m.qualname}" + (f"  (message: {message!r})" if message else "")
                  + (f"  -- {m.description}" if m.description else ""))
    return EXIT_OK


def _mutant_index():
    """``{check id: [mutant_index.Mutant]}`` read from the checkout's tests/ (nothing is imported)."""
    from harness import mutant_index

    try:
        return mutant_index.by_check(mutant_index.catalogue())
    except FileNotFoundError as exc:
        raise UsageError(f"--mutants needs a checkout with the mutant catalogue: {exc}") from exc
