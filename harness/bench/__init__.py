"""``resize-conformance bench``: timing and peak memory of the reference resize vs a plain copy and
transformers (``cases`` what is measured, ``measure`` the child processes, ``memory`` the peak
reading, ``report`` ratios, targets, JSON and Markdown)."""
