"""Run cases in a worker subprocess so a hang, crash or leak cannot take the run down.

``IsolatedRunner`` has the interface the CLI session uses from ``Runner`` (``plan()``,
``run_case()``, ``caps``, ``adapter``, options). Per case the parent enforces the timeout by
killing the worker; a worker that dies (segfault, ``os._exit``) or outgrows its memory limit
is replaced and the run goes on. The worker's output is drained continuously and only its
tail is kept, so huge output cannot fill memory or disk.
"""

import collections
import dataclasses
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import types

from harness import proctree
from harness.adapter import Capabilities
from harness.results import CaseResult

OUTPUT_TAIL_BYTES = 16 * 1024
WORKER_ONEDNN_DEFAULT = "0"  # TF_ENABLE_ONEDNN_OPTS in worker processes (see _Worker.__init__)


class WorkerError(RuntimeError):
    """The worker could not start (bad adapter, import error). ``unsupported`` is the adapter's
    reason when it declared the subject unsupported (an ``Unsupported`` exception at start-up)."""

    def __init__(self, message, unsupported=None):
        super().__init__(message)
        self.unsupported = unsupported


class _OutputTail:
    """Drain a pipe in a thread; keep the last bytes and count the rest."""

    def __init__(self, pipe):
        self.buffer = collections.deque()
        self.size = 0
        self.total = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, args=(pipe,), daemon=True)
        self.thread.start()

    def _drain(self, pipe):
        for chunk in iter(lambda: pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536), b""):
            with self.lock:
                self.buffer.append(chunk)
                self.size += len(chunk)
                self.total += len(chunk)
                while self.size - len(self.buffer[0]) >= OUTPUT_TAIL_BYTES:
                    self.size -= len(self.buffer.popleft())

    def mark(self):
        with self.lock:
            return self.total

    def since(self, mark):
        with self.lock:
            data = b"".join(self.buffer)
            produced = self.total - mark
        text = data[-min(produced, OUTPUT_TAIL_BYTES):].decode("utf-8", "replace") if produced else ""
        return produced, text


class _Worker:
    def __init__(self, config, startup_timeout_s, on_spawn=None):
        """Start a worker and wait for its ``hello``; ``on_spawn(self)`` runs once the process exists,
        before the wait (so another thread can kill a worker that is still starting)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # oneDNN's CPU allocator retries a failed allocation for 10 s before raising OOM, so
        # every rejected oversized resize (bad_input's 2**31 rows) cost 10 s a class. Workers run
        # TensorFlow's own kernels unless the user exports TF_ENABLE_ONEDNN_OPTS=1.
        env.setdefault("TF_ENABLE_ONEDNN_OPTS", WORKER_ONEDNN_DEFAULT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env, start_new_session=True)
        self.output = _OutputTail(self.proc.stderr)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.pending = b""
        self.send(config)
        if on_spawn is not None:
            on_spawn(self)
        self.hello = self.receive(startup_timeout_s)

    def reconfigure(self, config, timeout_s):
        """Warm reuse: the next class's config; returns its ``plan`` (or ``fatal``/``polluted``) or None."""
        self.send(config)
        self.hello = self.receive(timeout_s)
        return self.hello

    def send(self, message):
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def receive(self, timeout_s):
        """The next message, ``None`` on timeout; raises EOFError if the worker is gone."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not self.selector.select(left):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise EOFError("worker closed its channel")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def rss_mb(self):
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def death(self):
        code = self.proc.wait(timeout=10)
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with code {code}"

    def kill(self, tree=None):
        """Kill the worker and every process it started (``harness.proctree``): its group and
        its descendants, detached ones included (the worker is their subreaper)."""
        if self.proc.poll() is None:
            tree = (tree or []) + proctree.kill_tree(self.proc.pid, pgid=self.proc.pid)
        for pid in tree or ():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait()
        self.selector.close()

    def close(self):
        tree = proctree.descendants(self.proc.pid) if self.proc.poll() is None else []
        if self.proc.poll() is None:
            try:
                self.send({"type": "exit"})
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill(tree)


class WorkerPool:
    """Idle warm workers, per adapter family (``family``), shared by the
    threads of a certify run. A worker goes back only if it is alive and under ``max_rss_mb``;
    one that answers ``polluted`` to its next class is killed (``harness.warm``)."""

    def __init__(self, max_rss_mb=4096):
        self.max_rss_mb = max_rss_mb
        self._idle = {}
        self._lock = threading.Lock()
        self.stats = {"started": 0, "reused": 0, "polluted": 0}

    @staticmethod
    def family(spec):
        """``transformers`` for ``transformers/TFBertModel``, ``pkg.mod`` for ``pkg.mod:Class``."""
        return spec.split("/", 1)[0].split(":", 1)[0]

    def take(self, spec):
        with self._lock:
            idle = self._idle.get(self.family(spec)) or []
            return idle.pop() if idle else None

    def give(self, spec, worker):
        rss = worker.rss_mb()
        if worker.proc.poll() is not None or (rss is not None and rss > self.max_rss_mb):
            worker.close()
            return
        with self._lock:
            self._idle.setdefault(self.family(spec), []).append(worker)

    def close(self):
        with self._lock:
            workers = [w for ws in self._idle.values() for w in ws]
            self._idle.clear()
        for w in workers:
            w.close()


class IsolatedRunner:
    """A ``Runner`` look-alike whose cases run in a replaceable worker process."""

    def __init__(self, adapter_spec, *, seed=0, profile="ci", timeout_s=300.0, select=(),
                 shrink=True, expected_failures=(), startup_timeout_s=180.0, max_rss_mb=8192, pool=None):
        self.adapter_spec = adapter_spec
        self.seed = int(seed)
        self.profile_name = profile
        self.timeout_s = float(timeout_s)
        self.select = tuple(select or ())
        self.shrink = shrink
        self.expected_failures = tuple(expected_failures)
        self.startup_timeout_s = startup_timeout_s
        self.max_rss_mb = max_rss_mb
        self.pool = pool  # a WorkerPool: start from a warm worker, give it back on close()
        self.stop_requested = False
        self._starting = None  # a worker between spawn (or reuse) and its hello: abort() kills it too
        self.restarts = 0
        self.profile = None
        self._worker = None
        self._plan = None
        self.caps = None
        self.adapter = None

    # -- worker lifecycle ---------------------------------------------------------
    def _config(self, tmp_root=None):
        return {"type": "config", "adapter_spec": self.adapter_spec, "seed": self.seed,
                "profile": self.profile_name, "timeout_s": self.timeout_s, "select": list(self.select),
                "shrink": self.shrink, "tmp_root": tmp_root,
                "expected_failures": [dataclasses.asdict(x) for x in self.expected_failures]}

    def _warm(self, tmp_root):
        """A pooled worker given this subject's config (its answer in ``hello``: ``plan`` or
        ``fatal``), or None: none idle, or the one taken was polluted or died (then killed)."""
        worker = self.pool.take(self.adapter_spec) if self.pool and self._plan is None else None
        if worker is None:
            return None
        self._spawned(worker)
        try:
            hello = worker.reconfigure(self._config(tmp_root), self.startup_timeout_s)
        except (EOFError, OSError):
            hello = None
        finally:
            self._starting = None
        if hello is not None and hello.get("type") in ("plan", "fatal"):
            self.pool.stats["reused"] += 1
            return worker
        if hello is not None and hello.get("type") == "polluted":
            self.pool.stats["polluted"] += 1
        worker.kill()
        return None

    def _spawned(self, worker):
        self._starting = worker
        if self.stop_requested:  # abort() came first: it may have found no worker to kill
            worker.proc.kill()

    def abort(self):
        """From another thread: no further case; the worker running a case or starting is killed
        (the thread waiting on it sees EOF and cleans up)."""
        self.stop_requested = True
        for worker in (self._worker, self._starting):
            if worker is not None and worker.proc.poll() is None:
                try:
                    os.kill(worker.proc.pid, signal.SIGKILL)
                except OSError:
                    pass

    def _start(self, tmp_root=None):
        worker = self._warm(tmp_root)
        if worker is None:
            if self.stop_requested:
                raise WorkerError(f"worker for adapter {self.adapter_spec!r} not started: the run was stopped")
            starting = []
            try:
                worker = _Worker(self._config(tmp_root), self.startup_timeout_s,
                                 on_spawn=lambda w: (starting.append(w), self._spawned(w)))
            except EOFError:
                for w in starting:  # killed while starting (abort) or died: reap it and its tree
                    w.kill()
                raise
            finally:
                self._starting = None
            if self.pool:
                self.pool.stats["started"] += 1
        hello = worker.hello
        if hello is None or hello.get("type") != "plan":
            _, tail = worker.output.since(0)
            worker.kill()
            why = hello["message"] if hello else f"no answer within {self.startup_timeout_s:g}s"
            unsupported = why[len("Unsupported: "):] if hello and why.startswith("Unsupported: ") else None
            raise WorkerError(f"worker for adapter {self.adapter_spec!r} failed to start: {why}"
                              + (f"\n{tail[-2000:]}" if tail and not hello else ""), unsupported=unsupported)
        self._worker = worker
        return hello

    def plan(self):
        if self._plan is None:
            try:
                hello = self._start()
            except EOFError as exc:
                raise WorkerError(f"worker for adapter {self.adapter_spec!r} died at start-up") from exc
            self.caps = Capabilities(**{k: frozenset(v) for k, v in hello["capabilities"].items()})
            info = hello.get("adapter") or {}
            self.adapter = types.SimpleNamespace(describe=lambda: dict(info), name=info.get("name"))
            self._plan = [types.SimpleNamespace(
                id=c["id"], kind=c["kind"], params=c["params"], na_reason=c["na_reason"],
                check=types.SimpleNamespace(id=c["check"], family=c["check"].split(".")[0]))
                for c in hello["cases"]]
        return self._plan

    def close(self):
        if self._worker is not None:
            if self.pool is not None and not self.stop_requested:
                self.pool.give(self.adapter_spec, self._worker)
            else:
                self._worker.close()
            self._worker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- running --------------------------------------------------------------------
    def run_case(self, case, tmp_root=None):
        if case.na_reason:
            return CaseResult(case.id, case.check.id, case.kind, case.params, "not_applicable", case.na_reason)
        if self._worker is None:
            try:
                self._start(tmp_root)
            except (WorkerError, EOFError) as exc:
                return self._error(case, f"could not restart the worker: {exc}", 0.0)
        worker = self._worker
        mark = worker.output.mark()
        start = time.perf_counter()
        try:
            worker.send({"type": "run", "id": case.id})
            message = worker.receive(self.timeout_s)
        except (EOFError, BrokenPipeError, OSError):
            why = worker.death()
            return self._replace(case, f"the worker process died while running this case ({why})", start, mark)
        if message is None:
            return self._replace(case, f"timed out after {self.timeout_s:g}s; the worker process was killed",
                                 start, mark)
        result = CaseResult(**{"params": None, **message["result"]})
        produced, tail = worker.output.since(mark)
        if produced > OUTPUT_TAIL_BYTES:
            result.details["output_bytes"] = produced
        rss = worker.rss_mb()
        if rss is not None and self.max_rss_mb and rss > self.max_rss_mb:
            result.details["status_before_memory_limit"] = result.status
            result.status = "error"
            result.message = (f"memory: the worker's RSS reached {rss:.0f} MB (limit {self.max_rss_mb} MB) "
                              "during this case; the worker was restarted for the next cases")
            result.reproduce = result.reproduce or self.reproduce_command(case)
            self._drop_worker()
        return result

    def _drop_worker(self):
        self.restarts += 1
        self._worker.kill()
        self._worker = None

    def _replace(self, case, message, start, mark):
        produced, tail = self._worker.output.since(mark)
        self._drop_worker()
        result = self._error(case, message, time.perf_counter() - start)
        if tail:
            result.details["output_tail"] = tail[-4000:]
            result.details["output_bytes"] = produced
        return result

    def _error(self, case, message, duration):
        return CaseResult(case.id, case.check.id, case.kind, case.params, "error", message,
                          round(duration, 4), reproduce=self.reproduce_command(case), seed=None)

    def reproduce_command(self, case):
        import shlex

        return (f"resize-conformance run --adapter {shlex.quote(self.adapter_spec)} "
                f"--select {shlex.quote(case.id)} --seed {self.seed} --profile {self.profile_name}")
