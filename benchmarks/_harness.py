"""Case/Impl definitions, timing in every process state, the markdown table, results.json, --compare.

Timing protocol (one case, one process):

* the case's inputs are built once;
* for every state (:mod:`benchmarks._states`: allocator stock/tuned x threads
  default/pinned; stock states first, the allocator switch being one-way) every
  implementation is warmed up, then timed ``repeat`` times *interleaved* (round ``r`` runs
  every implementation once, starting at a rotating index) so that the load of the other
  sessions on the machine falls on all of them alike; the figure is the median;
* one more untimed run per implementation, in the first state measured (stock/default in a
  full run: the tuned allocator re-uses kept pages, so RSS growth would hide what a run maps),
  measures memory: the tracemalloc peak (every numpy allocation, not OpenCV's internal
  buffers) and the growth of the process's peak RSS (``/proc/self/clear_refs`` resets the
  mark before the run);
* the load average is recorded beside every state.

Judging (:func:`summarize`): the reference time is the fastest peer (or ``baseline``) in
its fastest state. imcorr's judged figure is its time *in that same state* (``ratio``);
its own fastest state is reported too (``ratio_best``).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import _states

WORSE = 1.2  # --compare flags a ratio more than 20% above the committed one


@dataclasses.dataclass
class Impl:
    """One implementation of a case.

    ``fn(inputs)`` returns the output; ``peer`` is False for imcorr itself.
    ``requires`` names a module that must import (else the row says 'not installed').
    """

    name: str
    fn: Callable[[dict], Any]
    peer: bool = True
    requires: str | None = None
    goal: bool = True  # False: an extra imcorr variant shown for context, not judged against the goal


@dataclasses.dataclass
class Case:
    """A benchmark case: shared inputs, implementations, an error measure and a goal.

    ``error(output, inputs) -> float`` measures accuracy against ground truth or a
    float64 reference (smaller is better). ``goal`` is the target ratio of imcorr's
    median time to the fastest peer's (None = report only).
    """

    name: str
    setup: Callable[[], dict]
    impls: list[Impl]
    error: Callable[[Any, dict], float]
    goal: float | None = None
    goal_text: str = ""
    repeat: int = 7
    accuracy_label: str = "max abs err"
    baseline: str | None = None  # ratio against this impl instead of the fastest peer
    memory: bool = True  # the untimed memory run (off for cases too long to run once more)


def _available(impl: Impl) -> bool:
    if impl.requires is None:
        return True
    try:
        __import__(impl.requires)
        return True
    except Exception:
        return False


def _failed(exc: Exception) -> str:
    return f"failed: {type(exc).__name__}: {exc}"[:120]


def _memory_run(fn: Callable, inputs: dict) -> tuple[float | None, float | None]:
    """(tracemalloc peak MB, peak-RSS growth MB) of one run."""
    gc.collect()
    rss0 = _states.rss_reset_peak()
    tracemalloc.start()
    try:
        fn(inputs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss1 = _states.rss_peak()
    rss = None if rss0 is None or rss1 is None else max(rss1 - rss0, 0) / 2**20
    return peak / 2**20, rss


def measure_case(case: Case, states=None, repeat: int | None = None, *, allocators=None, threads=None,
                 memory: bool = True, clock: Callable[[], float] = time.perf_counter,
                 collect: Callable[[], Any] = gc.collect) -> list[dict]:
    """Time every available implementation of ``case`` in every state; one raw record per (impl, state).

    ``allocators``/``threads`` map state names to the functions that enter them (tests
    pass fakes); the defaults are :data:`benchmarks._states.ALLOCATORS` / ``THREADS``.
    """
    allocators = _states.ALLOCATORS if allocators is None else allocators
    threads = _states.THREADS if threads is None else threads
    states = _states.ALL_STATES if states is None else states
    repeat = repeat or case.repeat
    inputs = case.setup()
    records: list[dict] = []
    live = []
    for impl in case.impls:
        if _available(impl):
            live.append(impl)
        else:
            for st in states:
                records.append(dict(case=case.name, impl=impl.name, peer=impl.peer, state=st.name, ms=None,
                                    error=None, status=f"{impl.requires} not installed"))
    measured_memory: set[str] = set()  # memory is measured once per impl, in the first (stock) state
    for st in _states.order_states(states, allocators):
        allocators[st.allocator]()
        with threads[st.threads]():
            load = _states.loadavg()
            status = {impl.name: "ok" for impl in live}
            outs: dict[str, Any] = {}
            for impl in live:  # warm-up: page faults, plan caches, imports
                try:
                    outs[impl.name] = impl.fn(inputs)
                except Exception as exc:  # a peer failing is a result, not a crash
                    status[impl.name] = _failed(exc)
            running = [impl for impl in live if status[impl.name] == "ok"]
            times: dict[str, list[float]] = {impl.name: [] for impl in running}
            for r in range(repeat):
                for j in range(len(running)):
                    impl = running[(r + j) % len(running)]
                    collect()
                    t0 = clock()
                    outs[impl.name] = impl.fn(inputs)
                    times[impl.name].append(clock() - t0)
            load_after = _states.loadavg()
            for impl in live:
                rec = dict(case=case.name, impl=impl.name, peer=impl.peer, state=st.name, ms=None, error=None,
                           status=status[impl.name], load=f"{load} -> {load_after}")
                if rec["status"] == "ok":
                    rec["ms"] = statistics.median(times[impl.name]) * 1e3
                    try:
                        rec["error"] = float(case.error(outs[impl.name], inputs))
                    except Exception as exc:
                        rec["status"] = _failed(exc)
                    if memory and case.memory and impl.name not in measured_memory:
                        rec["peak_mb"], rec["rss_mb"] = _memory_run(impl.fn, inputs)
                        measured_memory.add(impl.name)
                records.append(rec)
            outs.clear()
    del inputs
    gc.collect()
    return records


def summarize(case: Case, records: list[dict]) -> list[dict]:
    """One row per implementation from the raw (impl, state) records: best state, judged ratio, goal."""
    by_impl: dict[str, list[dict]] = {}
    for rec in records:
        by_impl.setdefault(rec["impl"], []).append(rec)
    impl_goal = {impl.name: impl.goal for impl in case.impls}

    def best(recs):
        ok = [r for r in recs if r.get("ms")]
        return min(ok, key=lambda r: r["ms"]) if ok else None

    ref_pool = [r for r in records if r["peer"] and r.get("ms")]
    if case.baseline:
        ref_pool = [r for r in records if r["impl"] == case.baseline and r.get("ms")]
    ref = min(ref_pool, key=lambda r: r["ms"]) if ref_pool else None
    rows = []
    for impl in case.impls:
        recs = by_impl.get(impl.name, [])
        b = best(recs)
        row: dict[str, Any] = dict(case=case.name, impl=impl.name, peer=impl.peer)
        row["states"] = {r["state"]: {k: r.get(k) for k in ("ms", "peak_mb", "rss_mb", "load", "status")}
                         for r in recs}
        if b is None:
            row.update(ms=None, error=None, ratio=None, state=None,
                       status=next((r["status"] for r in recs if r["status"] != "ok"), "no result"))
            rows.append(row)
            continue
        # the judged figure: a peer in its fastest state; imcorr in the reference peer's fastest state
        fig = b
        if not impl.peer and ref is not None:
            fig = next((r for r in recs if r["state"] == ref["state"] and r.get("ms")), b)
        # memory: measured once per impl (first state); max() picks that one
        peaks = [r["peak_mb"] for r in recs if r.get("peak_mb") is not None]
        rsses = [r["rss_mb"] for r in recs if r.get("rss_mb") is not None]
        row.update(ms=fig["ms"], state=fig["state"], error=fig["error"], status="ok",
                   peak_mb=max(peaks, default=None), rss_mb=max(rsses, default=None), load=fig.get("load"),
                   best_ms=b["ms"], best_state=b["state"])
        if ref is not None:
            row["ratio"] = fig["ms"] / ref["ms"]
            row["ratio_best"] = b["ms"] / ref["ms"]
            row["ref_impl"], row["ref_state"], row["ref_ms"] = ref["impl"], ref["state"], ref["ms"]
        else:
            row["ratio"] = None
        if not impl.peer and case.goal is not None and row["ratio"] is not None and impl_goal[impl.name]:
            row["goal"] = case.goal
            row["goal_met"] = row["ratio"] <= case.goal
        rows.append(row)
    return rows


def _fmt(v, spec=".2f") -> str:
    return "-" if v is None else format(v, spec)


TABLE_HEAD = ("| case | implementation | median ms [state] | ratio to best peer | imcorr best [state] | "
              "peak MB (tracemalloc / RSS growth, first state) | accuracy | goal | load (1/5/15 min) |\n"
              "|---|---|---:|---:|---:|---:|---|---|---|")


def format_rows(case: Case, rows: list[dict]) -> list[str]:
    lines = []
    for r in rows:
        name = r["impl"] + ("" if r.get("status") == "ok" else f" ({r.get('status')})")
        ms = "-" if r.get("ms") is None else f"{r['ms']:.2f} [{r['state']}]"
        best = ""
        if not r["peer"] and r.get("best_ms") is not None:
            best = f"{r['best_ms']:.2f} [{r['best_state']}] = {_fmt(r.get('ratio_best'))}x"
        mem = f"{_fmt(r.get('peak_mb'), '.0f')} / {_fmt(r.get('rss_mb'), '.0f')}"
        acc = "-" if r.get("error") is None else f"{case.accuracy_label} {r['error']:.3g}"
        goal = case.goal_text
        if "goal_met" in r:
            goal = f"<= {r['goal']:g}x {'MET' if r['goal_met'] else 'NOT MET'}"
        lines.append(f"| {case.name} | {name} | {ms} | {_fmt(r.get('ratio'))} | {best} | {mem} | {acc} | "
                     f"{goal} | {r.get('load') or ''} |")
    return lines


def run_cases(cases: list[Case], repeat: int | None = None, states=None, measure=None,
              after_case: Callable[[list[dict]], Any] | None = None) -> list[dict]:
    """Measure and print every case; ``measure(case)`` returns its raw records (default: in this process).

    In this process the allocator switch is one-way: pass only stock states, or run every
    case through ``measure`` in its own subprocess (what ``python -m benchmarks`` does).
    """
    if measure is None:
        def measure(case):
            return measure_case(case, states, repeat)
    print(f"# imcorr benchmarks ({platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"{_states.cores()} cores)\n")
    print(TABLE_HEAD, flush=True)
    rows: list[dict] = []
    for case in cases:
        case_rows = summarize(case, measure(case))
        for line in format_rows(case, case_rows):
            print(line, flush=True)
        rows.extend(case_rows)
        if after_case is not None:  # e.g. write the results so far (a long run stopped midway keeps them)
            after_case(rows)
    return rows


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def write_results(rows: list[dict], path: str | Path, extra: dict | None = None, quiet: bool = False) -> None:
    payload = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
                    **_states.thread_report()},
        "protocol": "every impl in every state (allocator stock/tuned x threads default/pinned), interleaved "
                    "repeats, median; imcorr judged in the fastest peer's fastest state",
        **(extra or {}),
        "rows": [{k: _clean(v) for k, v in r.items()} for r in rows],
    }
    Path(path).write_text(json.dumps(payload, indent=1))
    if not quiet:
        print(f"\nwrote {path}")


# ------------------------------------------------------------------------ compare
def compare(old: dict, new: dict, worse: float = WORSE) -> list[dict]:
    """imcorr rows present in both result files, with ``flag`` True when the ratio grew by more than ``worse``x."""
    old_rows = {(r["case"], r["impl"]): r for r in old.get("rows", [])}
    out = []
    for r in new.get("rows", []):
        if r.get("peer"):
            continue
        o = old_rows.get((r["case"], r["impl"]))
        if o is None or o.get("ratio") is None or r.get("ratio") is None:
            continue
        change = r["ratio"] / o["ratio"]
        out.append(dict(case=r["case"], impl=r["impl"], old_ratio=o["ratio"], new_ratio=r["ratio"],
                        change=change, flag=change > worse))
    return out


def print_compare(items: list[dict], worse: float = WORSE) -> int:
    """Print the comparison; the number of flagged rows."""
    print(f"\n## ratio against the committed run (flag: more than {100 * (worse - 1):.0f}% worse)\n")
    print("| case | implementation | committed ratio | this run | change | |\n|---|---|---:|---:|---:|---|")
    for it in items:
        mark = "WORSE" if it["flag"] else ""
        print(f"| {it['case']} | {it['impl']} | {it['old_ratio']:.3f} | {it['new_ratio']:.3f} | "
              f"{it['change']:.2f}x | {mark} |")
    n = sum(it["flag"] for it in items)
    print(f"\n{n} row(s) more than {100 * (worse - 1):.0f}% worse" if n else "\nno row got worse beyond the margin")
    return n
