"""toy-model-lib: a tiny TF language model with its own vocabulary resize."""

from toy_model_lib.model import ToyLM

__all__ = ["ToyLM"]
