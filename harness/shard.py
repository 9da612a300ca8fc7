"""Deterministic sharding of a plan, and merging shard reports back into one.

A case belongs to shard ``i`` of ``n`` (1-based) when ``crc32(case id) % n == i - 1``: stable
across machines and Python versions, and independent of the other cases. Each shard report
records the full plan order, so ``merge`` rebuilds a report equal to the unsharded run
(apart from timings and the command).
"""

import zlib

from harness.results import RAN, STATUSES


class ShardError(ValueError):
    pass


def parse(spec):
    """``"2/4"`` -> ``(2, 4)``; a one-line ShardError otherwise."""
    try:
        i, n = (int(x) for x in str(spec).split("/"))
    except ValueError:
        raise ShardError(f"--shard must look like I/N (e.g. 2/4), not {spec!r}") from None
    if not 1 <= i <= n:
        raise ShardError(f"--shard {spec}: need 1 <= I <= N")
    return i, n


def owner(case_id, n):
    return zlib.crc32(case_id.encode()) % n + 1


def select(plan, i, n):
    return [c for c in plan if owner(c.id, n) == i]


def annotate(report, i, n, plan_ids):
    report["run"]["options"]["shard"] = {"index": i, "count": n, "plan": list(plan_ids)}
    return report


_SAME = (("run", "adapter", "spec"), ("run", "seed"), ("run", "options", "profile"),
         ("run", "options", "select"), ("run", "versions"), ("run", "adapter", "capabilities"))


def _get(report, path):
    for key in path:
        report = report.get(key) if isinstance(report, dict) else None
    return report


def _merge_run(merged, reports):
    """The merged run metadata: the first shard's options without ``shard``, the earliest start,
    the latest finish (None if any shard did not finish), the longest duration, partial if any is."""
    merged["run"] = dict(reports[0]["run"])
    merged["run"]["options"] = {k: v for k, v in reports[0]["run"]["options"].items() if k != "shard"}
    merged["run"]["started_at"] = min(r["run"]["started_at"] for r in reports)
    ends = [r["run"]["finished_at"] for r in reports]
    merged["run"]["finished_at"] = None if None in ends else max(ends)
    merged["run"]["duration_s"] = round(max(r["run"]["duration_s"] for r in reports), 3)
    merged["partial"] = any(r.get("partial") for r in reports)


def merge(reports):
    """One report from shard reports of the same run configuration (a ShardError if not)."""
    from harness.report import build

    if not reports:
        raise ShardError("merge needs at least one shard report")
    shards = [_get(r, ("run", "options", "shard")) for r in reports]
    if any(s is None for s in shards):
        raise ShardError("every report given to merge must come from a run with --shard")
    n = shards[0]["count"]
    plan = shards[0]["plan"]
    for path in _SAME:
        values = {repr(_get(r, path)) for r in reports}
        if len(values) > 1:
            raise ShardError(f"shard reports differ in {'.'.join(path)}; they are not from the same run")
    if any(s["count"] != n or s["plan"] != plan for s in shards):
        raise ShardError("shard reports were planned differently (shard count or plan differ)")
    indices = sorted(s["index"] for s in shards)
    if indices != list(range(1, n + 1)):
        raise ShardError(f"need each of shards 1..{n} exactly once, got {indices}")
    by_id = {}
    for r in reports:
        for c in r["cases"]:
            if c["id"] in by_id:
                raise ShardError(f"case {c['id']} appears in two shard reports")
            by_id[c["id"]] = c
    missing = [cid for cid in plan if cid not in by_id]
    if missing:
        raise ShardError(f"{len(missing)} planned cases are in no shard report, e.g. {missing[0]}")
    cases = [by_id[cid] for cid in plan]
    checks = {c["id"]: c for r in reports for c in r.get("checks", ())}
    merged = {k: v for k, v in reports[0].items() if k not in ("cases", "checks", "summary")}
    _merge_run(merged, reports)
    counts = {s: sum(1 for c in cases if c["status"] == s) for s in STATUSES}
    merged["summary"] = {"counts": counts, "expected": len(cases) - counts["not_applicable"],
                         "collected": sum(counts[s] for s in RAN), "total": len(cases),
                         "gate": "pass", "gate_reasons": []}
    merged["checks"] = [checks[k] for k in sorted(checks)]
    merged["cases"] = cases
    verdict, reasons = build.gate(merged)
    merged["summary"]["gate"], merged["summary"]["gate_reasons"] = verdict, reasons
    return merged


# -- certify: shards by class ---------------------------------------------------------------
def owns_subject(name, i, n):
    """A certify subject (class) belongs to shard ``i`` of ``n`` by ``crc32(name) % n``."""
    return owner(name, n) == i


def merge_certify(reports):
    """One certify report from the reports of ``certify --shard I/N`` (each 1..N exactly once):
    subjects in the unsharded order, their cases and matrix rows, the summed totals, the gate
    recomputed. Equal to the unsharded report apart from timings and the command."""
    from harness.report import build

    shards = [_get(r, ("run", "options", "shard")) for r in reports]
    if any(s is None or "subjects" not in s for s in shards):
        raise ShardError("every certify report given to merge must come from 'certify --shard I/N'")
    n, order = shards[0]["count"], shards[0]["subjects"]
    for path in _SAME:
        if len({repr(_get(r, path)) for r in reports}) > 1:
            raise ShardError(f"shard reports differ in {'.'.join(path)}; they are not from the same run")
    if any(s["count"] != n or s["subjects"] != order for s in shards):
        raise ShardError("shard reports were planned differently (shard count or class list differ)")
    indices = sorted(s["index"] for s in shards)
    if indices != list(range(1, n + 1)):
        raise ShardError(f"need each of shards 1..{n} exactly once, got {indices}")
    rows, cases_of = {}, {}
    for r in reports:
        for row in r["matrix"]["subjects"]:
            if row["name"] in rows:
                raise ShardError(f"class {row['name']} appears in two shard reports")
            rows[row["name"]] = row
        for c in r["cases"]:
            cases_of.setdefault(c.get("subject") or c["id"].split("::", 1)[0], []).append(c)
    missing = [name for name in order if name not in rows]
    if missing:
        raise ShardError(f"{len(missing)} classes are in no shard report, e.g. {missing[0]}")
    checks = {c["id"]: c for r in reports for c in r.get("checks", ())}
    out_rows = []
    for name in order:
        row = dict(rows[name])
        if "report" not in row:  # did not run: one cell per check of the whole run
            row["cells"] = {chk: row["status"] for chk in sorted(checks)}
        out_rows.append(row)
    cases = [c for name in order for c in cases_of.get(name, ())]
    merged = {k: v for k, v in reports[0].items() if k not in ("cases", "checks", "summary", "matrix")}
    _merge_run(merged, reports)
    counts = {s: sum(1 for c in cases if c["status"] == s) for s in STATUSES}
    totals = {k: sum(r["summary"][k] for r in reports) for k in ("expected", "collected", "total")}
    merged["summary"] = {"counts": counts, **totals, "gate": "pass", "gate_reasons": []}
    merged["checks"] = [checks[k] for k in sorted(checks)]
    merged["cases"] = cases
    merged["matrix"] = {"subjects": out_rows, "checks": sorted(checks)}
    verdict, reasons = build.gate(merged)
    merged["summary"]["gate"], merged["summary"]["gate_reasons"] = verdict, reasons
    return merged
