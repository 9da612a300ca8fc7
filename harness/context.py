"""What a check gets: the adapter, its capabilities, seeded ids, builds, temp dirs."""

import collections
import os
import tempfile
import zlib

import numpy as np

from harness import conditioning
from harness.adapter import ModelSpec

DEFAULT_WIDTH = 8
CONDITION_SALT = 0xC0DE


SCENARIOS_KEPT = 64  # shared scenarios a runner keeps (tiny models: a few MB each)


class Scenarios:
    """Resize once, observe many: results of scenarios (build, resize, save, load ...) shared by
    the cases (fixed examples and drawn ones) of checks that only observe them. A scenario's seed depends on its name,
    parameters and the run's seed, never on the case, so a case run alone gets the same result."""

    def __init__(self, run_seed, keep=SCENARIOS_KEPT):
        self.run_seed = int(run_seed)
        self.keep = keep
        self._done = collections.OrderedDict()

    def get(self, ctx, name, params, make):
        key = (name, repr(sorted(params.items())))
        if key in self._done:
            self._done.move_to_end(key)
            return self._done[key][0]
        seed = zlib.crc32(f"{self.run_seed}:{key}".encode())
        own = CheckContext(ctx.adapter, ctx.caps, seed, workdir=ctx._workdir)
        own.begin_example(params)
        try:
            result = make(own)
        except BaseException:
            own.release()  # nothing is kept: the next case recomputes it
            raise
        self._done[key] = (result, own)  # its models stay out of the adapter's pool while kept
        while len(self._done) > self.keep:
            _, (_, evicted) = self._done.popitem(last=False)
            evicted.release()  # back to the adapter's pool (restored before any reuse)
        return result


class CheckContext:
    def __init__(self, adapter, caps, seed, workdir=None, scenarios=None):
        self.adapter = adapter
        self.caps = caps
        self.seed = int(seed)
        self._workdir = workdir
        self._params_key = 0
        self._built = []
        self._scenarios = scenarios

    def scenario(self, name, params, make):
        """``make(ctx)`` for a scenario that observers share: ``make`` gets its own context,
        seeded by (run seed, ``name``, ``params``); the caller must not change what it returns.
        Drawn examples share them too: checks with equal strategies draw the same examples."""
        if self._scenarios is None:
            self._scenarios = Scenarios(self.seed)
        return self._scenarios.get(self, name, params, make)

    def begin_example(self, params):
        """Called before each parameter set so ids are a pure function of (seed, params)."""
        self.release()
        self._params_key = zlib.crc32(repr(sorted((params or {}).items())).encode())

    def release(self):
        """The example is over: hand the models it built back to the adapter (``recycle``)."""
        built, self._built = self._built, []
        recycle = getattr(self.adapter, "recycle", None)
        if recycle is not None:
            for model in built:
                recycle(model)

    def spec(self, params, vocab_size=None):
        return ModelSpec(
            vocab_size=int(vocab_size if vocab_size is not None else params["old"]),
            tie=params.get("tie", "tied"),
            bias=params.get("bias", "none"),
            dtype=params.get("dtype", "float32"),
            width=int(params.get("width", DEFAULT_WIDTH)),
            seed=self.seed,
            min_vocab_size=int(params.get("min_vocab", 1)),
        )

    def build(self, params, vocab_size=None, condition=True):
        """Build from ``params``. ``condition`` (default) then puts the model in a state where
        defects are observable (``harness.conditioning``: non-zero biases, distinct rows, an
        untied head unlike the input matrix) or raises ``PreconditionError``; ``condition=False``
        gives the library's own fresh build (the independent reference for "as built")."""
        model = self.adapter.build(self.spec(params, vocab_size))
        self._built.append(model)
        if condition:
            conditioning.condition(self.adapter, model, self.rng(salt=CONDITION_SALT),
                                   self.caps.has("assign_weights"))
        return model

    def rng(self, salt=0):
        return np.random.default_rng([self.seed, self._params_key, salt])

    def ids(self, vocab, *, batch=2, length=6, low=0, salt=0):
        """Deterministic int32 ids in ``[low, vocab)`` of shape ``[batch, length]``."""
        return self.rng(salt).integers(low, vocab, size=(batch, length)).astype(np.int32)

    def ids_covering(self, low, high, *, length=6, salt=0):
        """Ids that contain every value of ``[low, high)`` at least once (rows padded randomly)."""
        values = np.arange(low, high, dtype=np.int32)
        n = max(1, -(-len(values) // length))
        fill = self.rng(salt).integers(low, high, size=n * length - len(values)).astype(np.int32)
        return np.concatenate([values, fill]).reshape(n, length)

    def tmpdir(self):
        base = self._workdir or tempfile.gettempdir()
        os.makedirs(base, exist_ok=True)
        return tempfile.mkdtemp(prefix="case-", dir=base)
