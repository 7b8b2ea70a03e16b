"""Run the benchmarks: ``python -m benchmarks [--only PATTERN] [--repeat N] [--states S] [--out FILE]``.

Every case runs in its own subprocess (so that each starts with glibc's stock allocator:
the tuned state is one-way) in every state; see ``benchmarks/_harness.py``.
``--compare FILE`` compares the imcorr rows' ratios with a committed results file and
flags those more than 20% worse (``--against NEW`` compares two files without running).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import _states
from ._harness import compare, measure_case, print_compare, run_cases, write_results


def _all_cases():
    here = Path(__file__).parent
    cases = []
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name.startswith("cases_"):
            mod = importlib.import_module(f"benchmarks.{info.name}")
            cases.extend(mod.CASES)
    return cases


def _subprocess_measure(states_text: str, repeat: int | None):
    def measure(case):
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.json"
            cmd = [sys.executable, "-m", "benchmarks", "--one-case", case.name, "--raw-out", str(raw),
                   "--states", states_text]
            if repeat:
                cmd += ["--repeat", str(repeat)]
            proc = subprocess.run(cmd, cwd=Path(__file__).parent.parent, capture_output=True, text=True)
            if proc.returncode != 0 or not raw.exists():
                msg = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                return [dict(case=case.name, impl=i.name, peer=i.peer, state="-", ms=None, error=None,
                             status=f"failed: case subprocess: {msg}"[:160]) for i in case.impls]
            return json.loads(raw.read_text())

    return measure


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--only", default=None, help="run the cases whose name contains PATTERN (comma-separated)")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs per implementation and state")
    ap.add_argument("--states", default="all",
                    help="comma-separated allocator/threads states, e.g. stock/default,tuned/pinned (default: all 4)")
    ap.add_argument("--out", default=None,
                    help="JSON results file (default benchmarks/results.json; with --compare a temporary file)")
    ap.add_argument("--compare", default=None, metavar="FILE",
                    help="flag imcorr rows whose ratio is more than 20%% worse than in FILE")
    ap.add_argument("--against", default=None, metavar="NEW",
                    help="with --compare: compare this results file instead of running")
    ap.add_argument("--in-process", action="store_true",
                    help="no subprocess per case (then only stock states, or tuned states only)")
    ap.add_argument("--list", action="store_true", help="list the case names and exit")
    ap.add_argument("--one-case", default=None, help=argparse.SUPPRESS)  # the per-case subprocess
    ap.add_argument("--raw-out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    states = _states.parse_states(args.states)

    old = None
    if args.compare:
        old = json.loads(Path(args.compare).read_text())
        if args.against:
            return 1 if print_compare(compare(old, json.loads(Path(args.against).read_text()))) else 0

    cases = _all_cases()
    if args.one_case:
        case = next(c for c in cases if c.name == args.one_case)
        Path(args.raw_out).write_text(json.dumps(measure_case(case, states, args.repeat)))
        return 0
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
    measure = None if args.in_process else _subprocess_measure(args.states, args.repeat)
    out = args.out
    if out is None:
        out = (os.path.join(tempfile.gettempdir(), "imcorr-bench-results.json") if args.compare
               else str(Path(__file__).parent / "results.json"))
    partial = out + ".partial"

    def save_partial(rows):
        write_results(rows, partial, {"states": [s.name for s in states], "complete": False}, quiet=True)

    rows = run_cases(cases, repeat=args.repeat, states=states, measure=measure, after_case=save_partial)
    write_results(rows, out, {"states": [s.name for s in states], "loadavg_end": _states.loadavg()})
    Path(partial).unlink(missing_ok=True)
    if old is not None:
        return 1 if print_compare(compare(old, json.loads(Path(out).read_text()))) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
