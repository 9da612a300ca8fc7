"""``resize-conformance merge``: join shard reports into the report of the whole run."""

import dataclasses

from harness.commands._common import UsageError, bind, one_line, prepare_report_dir, write_report_and_html


def register(sub, parser_class):
    p = sub.add_parser("merge", help="join the reports of 'run --shard I/N' or 'certify --shard I/N' into one report")
    p.add_argument("reports", nargs="+", metavar="REPORT", help="shard report.json files (or their folders)")
    p.add_argument("--report-dir", required=True, metavar="DIR", help="where the merged report goes")
    bind(p, MergeOptions, cmd_merge)


@dataclasses.dataclass(frozen=True)
class MergeOptions:
    reports: tuple   # shard report.json files or their folders
    report_dir: str

    @classmethod
    def from_args(cls, args, argv):
        return cls(reports=tuple(args.reports), report_dir=args.report_dir)


def cmd_merge(options):
    from harness import gate, shard
    from harness.report import load_report, write_report

    reports = []
    for path in options.reports:
        try:
            reports.append(load_report(path))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot merge {path!r}: {one_line(exc)}") from exc
    is_certify = all("matrix" in r for r in reports)
    try:
        merged = shard.merge_certify(reports) if is_certify else shard.merge(reports)
    except shard.ShardError as exc:
        raise UsageError(str(exc)) from exc
    prepare_report_dir(options.report_dir)
    if is_certify:  # report.json, .md and the self-contained .html, as certify writes them
        from harness import certify

        merged["run"]["timing"] = certify.timing(merged)
        write_report_and_html(merged, options.report_dir)
    else:
        write_report(merged, options.report_dir)
    s = merged["summary"]
    print(f"merged {len(reports)} shards: {s['total']} cases, collected {s['collected']} of "
          f"{s['expected']} expected; gate: {s['gate'].upper()}")
    for reason in s["gate_reasons"]:
        print(f"  - {reason}")
    return gate.exit_code(merged)
