"""``resize-conformance merge``: join shard reports into the report of the whole run."""


def register(sub, parser_class):
    p = sub.add_parser("merge", help="join the reports of 'run --shard I/N' or 'certify --shard I/N' into one report")
    p.add_argument("reports", nargs="+", metavar="REPORT", help="shard report.json files (or their folders)")
    p.add_argument("--report-dir", required=True, metavar="DIR", help="where the merged report goes")
    p.set_defaults(func=cmd_merge)


def cmd_merge(args, argv):
    from harness import gate, shard
    from harness.cli import UsageError, _prepare_report_dir
    from harness.report import load_report, write_report

    reports = []
    for path in args.reports:
        try:
            reports.append(load_report(path))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot merge {path!r}: {' '.join(str(exc).split())}") from exc
    is_certify = all("matrix" in r for r in reports)
    try:
        merged = shard.merge_certify(reports) if is_certify else shard.merge(reports)
    except shard.ShardError as exc:
        raise UsageError(str(exc)) from exc
    _prepare_report_dir(args.report_dir)
    if is_certify:  # report.json, .md and the self-contained .html, as certify writes them
        from harness import certify
        from harness.commands.certify import _write

        merged["run"]["timing"] = certify.timing(merged)
        _write(merged, args.report_dir)
    else:
        write_report(merged, args.report_dir)
    s = merged["summary"]
    print(f"merged {len(reports)} shards: {s['total']} cases, collected {s['collected']} of "
          f"{s['expected']} expected; gate: {s['gate'].upper()}")
    for reason in s["gate_reasons"]:
        print(f"  - {reason}")
    return gate.exit_code(merged)
