"""Run the benchmarks: ``python -m benchmarks [--only PATTERN] [--repeat N] [--out FILE]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from ._harness import run_cases, write_results


def _all_cases():
    here = Path(__file__).parent
    cases = []
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name.startswith("cases_"):
            mod = importlib.import_module(f"benchmarks.{info.name}")
            cases.extend(mod.CASES)
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--only", default=None, help="run the cases whose name contains PATTERN (comma-separated)")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs per implementation (default: per case)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results.json"), help="JSON results file")
    ap.add_argument("--list", action="store_true", help="list the case names and exit")
    args = ap.parse_args(argv)
    cases = _all_cases()
    if args.only:
        pats = [p.strip() for p in args.only.split(",") if p.strip()]
        cases = [c for c in cases if any(p in c.name for p in pats)]
    if args.list:
        for c in cases:
            print(c.name)
        return 0
    if not cases:
        print(f"no benchmark case matches {args.only!r}", file=sys.stderr)
        return 2
    rows = run_cases(cases, repeat=args.repeat)
    write_results(rows, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
