"""The adapter that plugs ToyLM into tf-resize-conformance (found via the entry point)."""

import numpy as np

from harness.adapter import Adapter, Capabilities
from toy_model_lib.model import BuggyToyLM, ToyLM


class ToyAdapter(Adapter):
    name = "toy"
    model_class = ToyLM

    def capabilities(self):
        return Capabilities(tie_modes=frozenset({"untied"}), bias_layouts=frozenset({"vector"}),
                            dtypes=frozenset({"float32"}),
                            flags=frozenset({"output_embeddings", "shrink", "graph_forward",
                                             "rejects_out_of_range_ids", "assign_weights"}))

    def build(self, spec):
        return self.model_class(spec.vocab_size, width=spec.width, seed=spec.seed)

    def resize(self, model, n):
        return model.resize_token_embeddings(n)

    def call(self, model, ids):
        return model(ids)

    def handles(self, model):
        return {"input": model.embeddings, "output": model.decoder, "bias:bias": model.bias}

    def read_config_vocab_size(self, model):
        return model.vocab_size

    def variable_shapes(self, model):
        return [(v.name, tuple(int(d) for d in v.numpy().shape)) for v in model.variables]

    def initializer_range(self, model):
        return 0.02

    def assign(self, model, which, values):
        self.handles(model)[which].assign(np.asarray(values, np.float32))


class BuggyToyAdapter(ToyAdapter):
    name = "toy-buggy"
    model_class = BuggyToyLM
