"""Run the bench: one fresh timing process per shape, one fresh memory process per case.

Timing (``mode=time``): the source matrix is made once; every case is warmed up on a tiny source
(kernels loaded, the ``tf.function`` traced), then rounds run every (case, direction) in turn, so
all cases see the same data and the same machine load and their ratios compare like with like.
A case stops repeating once its samples add up to ``budget_s`` (it always gets one).

Memory (``mode=memory``): a fresh process allocates the source, warms the case up on a tiny
source, prepares it, then measures the peak extra memory of one call (``memory.PeakMeter``). It
runs with ``TF_ENABLE_ONEDNN_OPTS=0``: with oneDNN on, TensorFlow's CPU allocator is a pool
that keeps freed buffers (the source's own temporaries, say) and serves later allocations from
them, so RSS would not show them; without it, large buffers come from and go back to the OS.
The resize ops (slice, concat, sum, RNG; transformers' pad/where/assign) are Eigen kernels
either way. Timing runs with the default (oneDNN on), as users do.

Children are ``python -m harness.bench.measure '<json>'``; they print progress lines starting
with ``bench:`` on stderr and one JSON object as the last line of stdout.
"""

import gc
import json
import os
import subprocess
import sys
import threading
import time

from harness.bench import cases as bc

TINY_ROWS = 16
COLLECT_ABOVE_BYTES = 32 << 20  # gc.collect (0.1-0.3 s with TensorFlow loaded) only where it frees much


def _collect(case, nbytes):
    """Free what the last run left in reference cycles (Keras models) before the next one."""
    if case.transformers or nbytes >= COLLECT_ABOVE_BYTES:
        gc.collect()


def _log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _versions():
    import importlib.metadata as md

    out = {}
    for pkg in ("tensorflow-cpu", "tensorflow", "tf-keras", "transformers", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


# -- child side ------------------------------------------------------------------------------
def _warm_up(case, width, direction):
    """Prepare and run the case once on a tiny source; returns the seconds of that first run."""
    tiny = bc.Source(TINY_ROWS, width, seed=1)
    run = case.prepare(tiny, bc.new_rows(TINY_ROWS, 4, direction))
    start = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - start
    del result, run, tiny
    _collect(case, 0)
    return elapsed


def _time_child(cfg):
    rows, width, delta = cfg["rows"], cfg["width"], cfg["delta"]
    plan = [(bc.BY_NAME[name], direction) for name, direction in cfg["plan"]]
    start = time.perf_counter()
    src = bc.Source(rows, width, seed=cfg.get("seed", 0))
    if any(c.needs_source_numpy for c, _ in plan):
        src.array()
    setup_s = time.perf_counter() - start
    out = {"source_setup_s": round(setup_s, 3), "cases": {}}
    for case, direction in plan:
        key = f"{case.name}/{direction}"
        out["cases"][key] = {"samples_s": [], "prepare_s": [], "warmup_s": None, "error": None}
        try:
            out["cases"][key]["warmup_s"] = round(_warm_up(case, width, direction), 4)
        except Exception as exc:  # noqa: BLE001 - reported per case
            out["cases"][key]["error"] = f"warm-up: {type(exc).__name__}: {exc}"[:500]
    for round_no in range(cfg["repeats"]):
        for case, direction in plan:
            entry = out["cases"][f"{case.name}/{direction}"]
            if entry["error"] or (round_no and sum(entry["samples_s"]) >= cfg["budget_s"]):
                continue
            n = bc.new_rows(rows, delta, direction)
            try:
                t0 = time.perf_counter()
                run = case.prepare(src, n)
                _collect(case, src.nbytes)
                t1 = time.perf_counter()
                result = run()
                t2 = time.perf_counter()
                del result, run
                _collect(case, src.nbytes)
            except Exception as exc:  # noqa: BLE001
                entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
                continue
            entry["samples_s"].append(t2 - t1)
            entry["prepare_s"].append(round(t1 - t0, 3))
            _log(f"{rows}x{width} round {round_no + 1}: {case.name} {direction} {t2 - t1:.4f}s")
    return out


def _memory_child(cfg):
    from harness.bench.memory import PeakMeter

    case, direction = bc.BY_NAME[cfg["case"]], cfg["direction"]
    rows, width = cfg["rows"], cfg["width"]
    n = bc.new_rows(rows, cfg["delta"], direction)
    src = bc.Source(rows, width, seed=cfg.get("seed", 0), variable=not case.needs_source_numpy)
    _warm_up(case, width, direction)
    run = case.prepare(src, n)
    _collect(case, src.nbytes)
    with PeakMeter() as meter:
        result = run()
    del result
    new_bytes = bc.matrix_bytes(n, width) * case.matrices
    return {"extra_bytes": meter.extra, "baseline_bytes": meter.baseline, "method": meter.method,
            "new_bytes": new_bytes, "multiple": round(meter.extra / new_bytes, 4)}


def child_main(argv):
    cfg = json.loads(argv[0])
    t0 = time.perf_counter()
    import tensorflow as tf  # noqa: F401

    out = {"import_tensorflow_s": round(time.perf_counter() - t0, 3)}
    if any(bc.BY_NAME[name].transformers for name in cfg.get("names", [])):
        t1 = time.perf_counter()
        import transformers  # noqa: F401

        out["import_transformers_s"] = round(time.perf_counter() - t1, 3)
    out.update(_time_child(cfg) if cfg["mode"] == "time" else _memory_child(cfg))
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


# -- parent side ----------------------------------------------------------------------------
def mem_available_bytes():
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def run_in_process(cfg):
    """The child's work in this process (``--in-process``: debugging and smoke tests; the memory
    figures are then not from a fresh process)."""
    try:
        result = _time_child(cfg) if cfg["mode"] == "time" else _memory_child(cfg)
    except Exception as exc:  # noqa: BLE001 - reported like a failed child
        return None, f"{type(exc).__name__}: {exc}", ""
    return dict(result, in_process=True), "", ""


def run_child(cfg, timeout_s, echo=True, in_process=False):
    """Run a child; returns (result dict or None, error message, stderr tail)."""
    if in_process:
        return run_in_process(cfg)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1", PYTHONUNBUFFERED="1")
    if cfg["mode"] == "memory":
        env["TF_ENABLE_ONEDNN_OPTS"] = "0"  # no pooling allocator: RSS shows every large buffer
    proc = subprocess.Popen([sys.executable, "-m", "harness.bench.measure", json.dumps(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    tail = []

    def drain():
        for line in proc.stderr:
            tail.append(line)
            del tail[:-40]
            if echo and line.startswith("bench:"):
                print(line.rstrip(), file=sys.stderr, flush=True)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        stdout, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, f"timed out after {timeout_s:g}s", "".join(tail)
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        raise
    reader.join(timeout=5)
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        why = f"exited with code {proc.returncode}" if proc.returncode >= 0 else f"killed by signal {-proc.returncode}"
        return None, why, "".join(tail)
    return json.loads(lines[-1]), "", "".join(tail)


def bench_shape(rows, width, options):
    """Time and measure every selected case at one shape; returns the shape's result dict."""
    delta = options["delta"]
    avail = mem_available_bytes()
    shape = {"shape": f"{rows}x{width}", "rows": rows, "width": width, "delta": delta,
             "matrix_bytes": bc.matrix_bytes(rows, width), "mem_available_bytes": avail,
             "load_before": list(os.getloadavg()), "cases": []}
    entries, plan = {}, []
    for case in options["cases"]:
        for direction in bc.DIRECTIONS:
            reason = bc.skip_reason(case, rows, width, direction, models=options["models"], mem_available=avail)
            if case.grow_only and direction != bc.GROW:
                continue
            entry = {"case": case.name, "group": case.group, "direction": direction,
                     "new_rows": bc.new_rows(rows, delta, direction), "matrices": case.matrices,
                     "status": "skipped" if reason else "ok", "reason": reason}
            entries[(case.name, direction)] = entry
            shape["cases"].append(entry)
            if not reason:
                plan.append((case.name, direction))
    names = sorted({name for name, _ in plan})
    base = {"rows": rows, "width": width, "delta": delta, "seed": options.get("seed", 0), "names": names}
    _log(f"{rows}x{width}: timing {len(plan)} case(s), {options['repeats']} round(s), fresh process")
    inproc = options.get("in_process", False)
    result, error, tail = run_child(dict(base, mode="time", plan=plan, repeats=options["repeats"],
                                         budget_s=options["budget_s"]), options["timeout_s"], in_process=inproc)
    if result is None:
        for key in plan:
            entries[key].update(status="error", reason=f"timing process {error}: {tail[-600:]}")
        return shape
    shape.update({k: result[k] for k in result if k != "cases"})
    for key in plan:
        got = result["cases"][f"{key[0]}/{key[1]}"]
        entries[key].update(samples_s=[round(s, 5) for s in got["samples_s"]], prepare_s=got["prepare_s"],
                            warmup_s=got["warmup_s"])
        if got["error"]:
            entries[key].update(status="error", reason=got["error"])
    if options["memory"]:
        for key in plan:
            case = bc.BY_NAME[key[0]]
            if case.timing_only or entries[key]["status"] != "ok":
                continue
            _log(f"{rows}x{width}: memory of {key[0]} {key[1]} (fresh process)")
            mem, error, tail = run_child(dict(base, names=[key[0]], mode="memory", case=key[0], direction=key[1]),
                                         options["timeout_s"], echo=False, in_process=inproc)
            entries[key]["memory"] = mem if mem is not None else {"error": f"{error}: {tail[-600:]}"}
    shape["load_after"] = list(os.getloadavg())
    return shape


def run_bench(options):
    """Every shape in turn; returns the raw results (see ``report.summarise``)."""
    started = time.time()
    out = {"schema": "tf-resize-conformance/bench/1", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "versions": _versions(), "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
           "options": {k: v for k, v in options.items() if k != "cases"},
           "cases": [c.to_dict() for c in options["cases"]], "shapes": []}
    for rows, width in options["shapes"]:
        out["shapes"].append(bench_shape(rows, width, options))
    out["duration_s"] = round(time.time() - started, 1)
    return out


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
