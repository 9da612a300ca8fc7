"""Quiet defaults for the tool's own processes: TensorFlow's C++ start-up and rendezvous logs
(``TF_CPP_MIN_LOG_LEVEL=2``) and transformers' warnings such as its TF deprecation banner
(``TRANSFORMERS_VERBOSITY=error``). Only defaults: a variable the user set is kept. Nothing
is lost from the report, which records results, not logs."""

import os

DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "2", "TRANSFORMERS_VERBOSITY": "error"}


def apply_defaults(environ=os.environ):
    """Set each default the user did not set; call before TensorFlow or transformers is imported.
    Unless the user asked for TF's logs (TF_CPP_MIN_LOG_LEVEL 0 or 1), its Python logger (e.g.
    retracing warnings) is set to errors only."""
    import logging

    for key, value in DEFAULTS.items():
        environ.setdefault(key, value)
    if environ["TF_CPP_MIN_LOG_LEVEL"] not in ("0", "1"):
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return environ
