"""The check suites: one module per property family. Importing registers every check."""

from suites import (  # noqa: F401
    bad_input,
    bias,
    config,
    dynamic,
    function,
    grow,
    ids,
    matrix,
    noop,
    saveload,
    shrink,
    stale,
    tied,
    train,
    twice,
    untied,
)
