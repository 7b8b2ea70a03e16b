"""imcorr's side-by-side benchmark harness (``make bench`` / ``python -m benchmarks``).

Each ``benchmarks/cases_*.py`` module defines ``CASES``: a list of :class:`Case`.
A case builds its inputs once, runs every available implementation on the same
inputs in this one process (warm-up, then the median of several runs), measures each
output's error against a reference or ground truth, and reports the ratio of each
implementation's median time to the fastest *peer*'s.
"""

from ._harness import Case, Impl, run_cases  # noqa: F401
