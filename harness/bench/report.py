"""Summaries of a bench run: medians, ratios, target verdicts, JSON and Markdown.

Ratios are of medians from the same timing process (same data, same load): ``x_floor`` against
the faster floor case of that shape and direction, ``x_transformers`` against the faster of
transformers' two bare-matrix helpers. Memory multiples are peak extra bytes over the bytes of
the new ``[n, H]`` matrix (per matrix for cases that produce two).
"""

import json
import os
import statistics

from harness.bench import cases as bc

TIME_TARGET = 1.2
MEMORY_TARGET = 1.1
TARGET_CASES = ("reference.eager", "reference.graph", "reference.variable")


def _median(samples):
    return statistics.median(samples) if samples else None


def summarise(raw):
    """Add ``median_s``, ``x_floor``, ``x_transformers`` to every case and the target verdicts."""
    for shape in raw["shapes"]:
        by_dir = {}
        for entry in shape["cases"]:
            entry["median_s"] = _median(entry.get("samples_s") or [])
            entry["runs"] = len(entry.get("samples_s") or [])
            by_dir.setdefault(entry["direction"], []).append(entry)
        for direction, entries in by_dir.items():
            def best(names, entries=entries):
                vals = [e["median_s"] for e in entries if e["case"] in names and e["median_s"]]
                return min(vals) if vals else None

            floor, hf = best(bc.FLOORS), best(bc.TRANSFORMERS_HELPERS)
            shape.setdefault("floor_s", {})[direction] = floor
            shape.setdefault("transformers_helper_s", {})[direction] = hf
            for e in entries:
                m = e["median_s"]
                e["x_floor"] = round(m / floor, 3) if m is not None and floor else None
                e["x_transformers"] = round(m / hf, 3) if m is not None and hf else None
    raw["targets"] = targets(raw)
    return raw


def targets(raw):
    """Verdicts at the two largest shapes of the run for the reference cases."""
    shapes = sorted(raw["shapes"], key=lambda s: s["matrix_bytes"])[-2:]
    rows = []
    for shape in shapes:
        for e in shape["cases"]:
            if e["case"] not in TARGET_CASES or e["status"] != "ok":
                continue
            mem = (e.get("memory") or {}).get("multiple")
            rows.append({
                "shape": shape["shape"], "case": e["case"], "direction": e["direction"],
                "x_floor": e["x_floor"], "time_ok": e["x_floor"] is not None and e["x_floor"] <= TIME_TARGET,
                "memory_multiple": mem, "memory_ok": None if mem is None else mem <= MEMORY_TARGET,
            })
    return {"time_target_x_floor": TIME_TARGET, "memory_target_x_new_matrix": MEMORY_TARGET,
            "shapes": [s["shape"] for s in shapes], "rows": rows,
            "all_met": bool(rows) and all(r["time_ok"] and r["memory_ok"] is not False for r in rows)}


def write_json(raw, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(raw, fh, indent=1, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)


def _ms(value):
    if value is None:
        return "-"
    return f"{value * 1e3:,.1f}" if value < 100 else f"{value * 1e3:,.0f}"


def _x(value):
    return "-" if value is None else f"{value:.2f}x"


def _mem(entry):
    mem = entry.get("memory")
    if not mem:
        return "-"
    if "error" in mem:
        return "error"
    return f"{mem['multiple']:.2f}x"


def shape_table(shape):
    lines = [f"### {shape['shape']} float32 ({shape['matrix_bytes'] / 1e6:,.0f} MB), delta {shape['delta']}", "",
             f"Floor (fastest plain copy): grow {_ms(shape.get('floor_s', {}).get('grow'))} ms, "
             f"shrink {_ms(shape.get('floor_s', {}).get('shrink'))} ms. Load average before/after: "
             f"{', '.join(f'{x:.1f}' for x in shape.get('load_before', []))} / "
             f"{', '.join(f'{x:.1f}' for x in shape.get('load_after', []))}.", "",
             "| case | dir | runs | median ms | x floor | x transformers | peak extra (x new matrix) | note |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for e in shape["cases"]:
        note = e.get("reason", "") if e["status"] != "ok" else ""
        if e["status"] == "ok" and e.get("warmup_s") is not None and e["case"] == "reference.graph":
            note = f"first call on a tiny input (trace) {e['warmup_s'] * 1e3:.0f} ms"
        if e.get("matrices", 1) > 1 and e["status"] == "ok":
            note = (note + "; " if note else "") + f"memory per matrix ({e['matrices']} resized)"
        lines.append(f"| {e['case']} | {e['direction']} | {e.get('runs', 0)} | {_ms(e.get('median_s'))} | "
                     f"{_x(e.get('x_floor'))} | {_x(e.get('x_transformers'))} | {_mem(e)} | {note} |")
    return "\n".join(lines)


def targets_table(t):
    lines = [f"Targets at {', '.join(t['shapes'])}: time <= {t['time_target_x_floor']}x floor, "
             f"peak extra memory <= {t['memory_target_x_new_matrix']}x the new matrix.", "",
             "| shape | case | dir | x floor | time | memory | memory target |", "| --- | --- | --- | ---: | --- | ---: | --- |"]
    for r in t["rows"]:
        mem = "-" if r["memory_multiple"] is None else f"{r['memory_multiple']:.2f}x"
        mem_ok = "-" if r["memory_ok"] is None else ("met" if r["memory_ok"] else "NOT met")
        lines.append(f"| {r['shape']} | {r['case']} | {r['direction']} | {_x(r['x_floor'])} | "
                     f"{'met' if r['time_ok'] else 'NOT met'} | {mem} | {mem_ok} |")
    return "\n".join(lines)


def render_markdown(raw):
    v = raw.get("versions", {})
    head = [
        "# Resize benchmark", "",
        f"`{raw['options'].get('command', 'resize-conformance bench')}` on {raw.get('cpu_count')} CPU(s), "
        f"Python {raw.get('python')}, " + ", ".join(f"{k} {val}" for k, val in sorted(v.items())) +
        f"; started {raw.get('started_at')}, took {raw.get('duration_s')} s.", "",
        "Medians of repeated runs in one fresh process per shape (cases interleaved round by round, same "
        "source data); peak extra memory from one call per case in a fresh process (VmHWM reset after the "
        "source is allocated; memory processes run with `TF_ENABLE_ONEDNN_OPTS=0` so TensorFlow's allocator "
        "does not pool freed buffers). Ratios compare medians of the same run. `alias.*` cases share the source "
        "buffer (no copy) and are not floors; `part.*` cases are pieces of the reference's cost.", "",
        "## Targets", "", targets_table(raw["targets"]), "", "## Results", "",
    ]
    return "\n".join(head + [shape_table(s) + "\n" for s in raw["shapes"]])


def write_markdown(raw, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render_markdown(raw))
