"""The benchmark harness's logic on a fake case with fake peers, fake states and a fake clock (fast)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _harness, _states  # noqa: E402
from benchmarks.__main__ import main as bench_main  # noqa: E402

# simulated cost (seconds) of each implementation in each state: the fake clock advances by it
COST = {
    "stock/default": {"ours": 4.0, "peer_a": 10.0, "peer_b": 6.0},
    "stock/pinned": {"ours": 4.0, "peer_a": 9.0, "peer_b": 6.0},
    "tuned/default": {"ours": 3.5, "peer_a": 5.0, "peer_b": 6.0},
    "tuned/pinned": {"ours": 3.0, "peer_a": 5.5, "peer_b": 6.0},
}


class FakeWorld:
    """Fake allocator/thread state switches and a clock that charges each call its COST."""

    def __init__(self):
        self.now = 0.0
        self.alloc = "stock"
        self.threads = "default"
        self.log: list[str] = []

    def clock(self):
        return self.now

    def enter_alloc(self, name):
        def enter():
            if self.alloc == "tuned" and name == "stock":
                raise RuntimeError("one-way")
            self.alloc = name
            self.log.append(name)
        return enter

    def thread_ctx(self, name):
        @contextlib.contextmanager
        def ctx():
            self.threads = name
            yield
            self.threads = "default"
        return ctx

    def impl(self, name, value):
        def fn(inputs):
            self.now += COST[f"{self.alloc}/{self.threads}"][name]
            return value
        return fn


def _case(world, goal=0.5, baseline=None):
    return _harness.Case(
        name="fake",
        setup=lambda: {"truth": 1.0},
        impls=[
            _harness.Impl("ours", world.impl("ours", 1.0), peer=False),
            _harness.Impl("peer_a", world.impl("peer_a", 1.5)),
            _harness.Impl("peer_b", world.impl("peer_b", 1.0)),
            _harness.Impl("peer_missing", lambda d: 0, requires="no_such_module_xyz"),
        ],
        error=lambda out, d: abs(out - d["truth"]),
        goal=goal,
        repeat=3,
        baseline=baseline,
    )


def _measure(world, case, states=_states.ALL_STATES):
    allocs = {"stock": world.enter_alloc("stock"), "tuned": world.enter_alloc("tuned")}
    threads = {"default": world.thread_ctx("default"), "pinned": world.thread_ctx("pinned")}
    return _harness.measure_case(case, states, allocators=allocs, threads=threads, memory=False,
                                 clock=world.clock, collect=lambda: None)


def test_every_state_measured_stock_first():
    world = FakeWorld()
    states = [_states.State("tuned", "pinned"), _states.State("stock", "default"), _states.State("tuned", "default"),
              _states.State("stock", "pinned")]
    recs = _measure(world, _case(world), states)
    assert world.log == ["stock", "stock", "tuned", "tuned"]  # the one-way switch comes last
    got = {(r["impl"], r["state"]): r["ms"] for r in recs if r["ms"] is not None}
    for state, costs in COST.items():
        for name, sec in costs.items():
            assert got[(name, state)] == pytest.approx(sec * 1e3)
    missing = [r for r in recs if r["impl"] == "peer_missing"]
    assert len(missing) == 4 and all("not installed" in r["status"] for r in missing)


def test_judged_against_fastest_peer_state_and_same_state_for_imcorr():
    world = FakeWorld()
    case = _case(world)
    rows = {r["impl"]: r for r in _harness.summarize(case, _measure(world, case))}
    # fastest peer anywhere: peer_a tuned/default, 5 s (peer_b's best is 6 s)
    ours = rows["ours"]
    assert ours["ref_impl"] == "peer_a" and ours["ref_state"] == "tuned/default"
    assert ours["state"] == "tuned/default" and ours["ms"] == pytest.approx(3500)
    assert ours["ratio"] == pytest.approx(3.5 / 5.0)
    assert ours["best_state"] == "tuned/pinned" and ours["ratio_best"] == pytest.approx(3.0 / 5.0)
    assert ours["goal_met"] is False  # 0.7 > 0.5
    assert rows["peer_a"]["state"] == "tuned/default" and rows["peer_a"]["ratio"] == pytest.approx(1.0)
    assert rows["peer_b"]["ratio"] == pytest.approx(6.0 / 5.0)
    assert ours["error"] == 0.0 and rows["peer_a"]["error"] == pytest.approx(0.5)
    assert rows["peer_missing"]["ms"] is None and "not installed" in rows["peer_missing"]["status"]
    lines = _harness.format_rows(case, list(rows.values()))
    assert "[tuned/default]" in lines[0] and "NOT MET" in lines[0]


def test_stock_only_flatters_the_peer_less():
    """With only the stock states the same fake data gives imcorr a better ratio: the harness must see tuned."""
    world = FakeWorld()
    case = _case(world, goal=0.7)
    stock = [s for s in _states.ALL_STATES if s.allocator == "stock"]
    rows = {r["impl"]: r for r in _harness.summarize(case, _measure(world, case, stock))}
    assert rows["ours"]["ratio"] == pytest.approx(4.0 / 6.0)  # against peer_b stock/default
    assert rows["ours"]["goal_met"] is True


def test_baseline_and_failing_peer():
    world = FakeWorld()
    case = _case(world, baseline="peer_b")

    def broken(d):
        raise ValueError("boom")

    case.impls.append(_harness.Impl("peer_broken", broken))
    rows = {r["impl"]: r for r in _harness.summarize(case, _measure(world, case))}
    assert rows["ours"]["ref_impl"] == "peer_b"
    assert rows["peer_broken"]["ms"] is None and "boom" in rows["peer_broken"]["status"]


def test_interleaved_rounds_rotate_order():
    world = FakeWorld()
    order = []

    def rec(name):
        def fn(d):
            order.append(name)
            return 1.0
        return fn

    case = _harness.Case("rot", lambda: {}, [_harness.Impl("x", rec("x"), peer=False), _harness.Impl("y", rec("y"))],
                         error=lambda o, d: 0.0, repeat=2)
    _measure(world, case, [_states.State("stock", "default")])
    assert order == ["x", "y", "x", "y", "y", "x"]  # warm-up, round 0, round 1 (rotated)


def test_memory_run_reports_numpy_peak():
    import numpy as np

    peak, rss = _harness._memory_run(lambda d: np.ones(4 << 20), {})  # 32 MB
    assert 30 < peak < 40
    assert rss is None or rss >= 0


def test_compare_flags_rows_more_than_20_percent_worse(tmp_path, capsys):
    old = {"rows": [
        {"case": "c1", "impl": "imcorr.a", "peer": False, "ratio": 0.50},
        {"case": "c2", "impl": "imcorr.b", "peer": False, "ratio": 0.50},
        {"case": "c2", "impl": "peer", "peer": True, "ratio": 1.0},
    ]}
    new = {"rows": [
        {"case": "c1", "impl": "imcorr.a", "peer": False, "ratio": 0.59},  # 18% worse: not flagged
        {"case": "c2", "impl": "imcorr.b", "peer": False, "ratio": 0.61},  # 22% worse: flagged
        {"case": "c2", "impl": "peer", "peer": True, "ratio": 3.0},  # peers are not compared
        {"case": "c3", "impl": "imcorr.new", "peer": False, "ratio": 9.0},  # not in the old run
    ]}
    items = _harness.compare(old, new)
    assert [(i["case"], i["flag"]) for i in items] == [("c1", False), ("c2", True)]
    po, pn = tmp_path / "old.json", tmp_path / "new.json"
    po.write_text(json.dumps(old))
    pn.write_text(json.dumps(new))
    assert bench_main(["--compare", str(po), "--against", str(pn)]) == 1
    assert "WORSE" in capsys.readouterr().out
    assert bench_main(["--compare", str(po), "--against", str(po)]) == 0


def test_states_parsing_and_order():
    assert _states.parse_states("all") == _states.ALL_STATES
    got = _states.parse_states("tuned/pinned,stock/default")
    assert [s.name for s in _states.order_states(got)] == ["stock/default", "tuned/pinned"]
    with pytest.raises(ValueError, match="unknown state"):
        _states.parse_states("fast/always")


def test_write_results_roundtrip(tmp_path):
    world = FakeWorld()
    case = _case(world)
    rows = _harness.summarize(case, _measure(world, case))
    path = tmp_path / "r.json"
    _harness.write_results(rows, path)
    data = json.loads(path.read_text())
    ours = next(r for r in data["rows"] if r["impl"] == "ours")
    assert ours["state"] == "tuned/default" and set(ours["states"]) == {s.name for s in _states.ALL_STATES}
