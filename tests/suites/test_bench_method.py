"""The timing method of every benchmark, on fake clocks and fake work: known answers, no timed assertions."""
import pytest

from rather.suites.bench_method import (Side, Spread, interleave, machine_at_end, machine_at_start,
                                        machine_lines)


class FakeMachine:
    """A clock that moves only when fake work runs; every call is logged in order."""

    def __init__(self):
        self.now = 0.0
        self.calls = []

    def clock(self) -> float:
        return self.now

    def work(self, name: str, seconds):
        """Work called ``name`` that takes ``seconds`` (a number, or a list consumed call by call)."""
        def run():
            self.calls.append(name)
            self.now += seconds.pop(0) if isinstance(seconds, list) else seconds
        return run


def test_a_side_twice_as_slow_gives_ratio_two_with_no_spread():
    machine = FakeMachine()
    sides = {"a": Side(machine.work("a", 0.1)), "b": Side(machine.work("b", 0.2))}
    ratio = interleave(sides, clock=machine.clock).ratio("b", "a")
    assert ratio == Spread(median=pytest.approx(2.0), min=pytest.approx(2.0), max=pytest.approx(2.0), pairs=5)


def test_sides_alternate_and_the_warm_up_round_runs_both_sides_once_untimed():
    machine = FakeMachine()
    timings = interleave({"a": Side(machine.work("a", 0.1)), "b": Side(machine.work("b", 0.3))},
                         clock=machine.clock)
    assert machine.calls == ["a", "b"] * 6  # one warm-up pair + 5 timed pairs
    assert timings.pairs == 5 and len(timings.seconds["a"]) == len(timings.seconds["b"]) == 5


def test_warm_up_times_are_discarded_for_every_side():
    machine = FakeMachine()
    slow_first = [9.0] + [0.1] * 5  # the first call of each side is slow: compilation, caches, allocations
    timings = interleave({"a": Side(machine.work("a", list(slow_first))),
                          "b": Side(machine.work("b", [9.0] + [0.2] * 5))}, clock=machine.clock)
    assert timings.time("a").max == pytest.approx(0.1) and timings.time("b").max == pytest.approx(0.2)


def test_three_sides_run_in_the_same_order_every_round():
    machine = FakeMachine()
    interleave({name: Side(machine.work(name, 0.05)) for name in "xyz"}, clock=machine.clock)
    assert machine.calls == list("xyz") * 6


@pytest.mark.parametrize("round_seconds, asked, pairs", [
    ((0.3, 0.6), 3, 5),   # a round under a second: at least 5 pairs
    ((0.5, 0.5), 3, 3),   # a round of a second or more: at least 3
    ((2.0, 4.0), 3, 3),
    ((0.1, 0.1), 8, 8),   # more when asked, never fewer than the rule
    ((2.0, 4.0), 7, 7),
])
def test_the_number_of_pairs_follows_the_length_of_a_round(round_seconds, asked, pairs):
    machine = FakeMachine()
    sides = {"a": Side(machine.work("a", round_seconds[0])), "b": Side(machine.work("b", round_seconds[1]))}
    assert interleave(sides, pairs=asked, clock=machine.clock).pairs == pairs
    assert len(machine.calls) == 2 * (pairs + 1)


def test_a_scaled_subset_is_timed_in_every_pair_and_scaled_there():
    machine = FakeMachine()
    loop = Side(machine.work("loop", 0.4), scale=200 / 4, subset="4 of 200 contrasts timed in every pair")
    timings = interleave({"ours": Side(machine.work("ours", 0.5)), "loop": loop}, clock=machine.clock)
    assert machine.calls == ["ours", "loop"] * 6  # a 0.9 s round (what runs, not the 20.5 s it stands for): 5 pairs
    assert timings.time("loop").median == pytest.approx(20.0)
    assert timings.ratio("loop", "ours") == Spread(pytest.approx(40.0), pytest.approx(40.0), pytest.approx(40.0), 5)
    assert timings.subsets == {"loop": "4 of 200 contrasts timed in every pair"}


def test_the_ratio_is_taken_inside_each_round_and_reported_as_median_min_max():
    machine = FakeMachine()
    # the machine slows down 3x in the third round: both sides see it, so the ratio holds
    sides = {"a": Side(machine.work("a", [1.0, 1.0, 1.0, 3.0, 1.0, 1.0])),
             "b": Side(machine.work("b", [2.0, 2.0, 4.0, 6.0, 3.0, 2.0]))}
    ratio = interleave(sides, clock=machine.clock).ratio("b", "a")
    assert ratio.pairs == 3 and ratio.median == pytest.approx(2.0)
    assert (ratio.min, ratio.max) == (pytest.approx(2.0), pytest.approx(4.0))
    assert ratio.as_json() == {"median": ratio.median, "min": ratio.min, "max": ratio.max, "pairs": 3}
    assert ratio.text(1) == "2.0 (2.0-4.0)"


def test_ratio_times_scales_the_numerator():
    machine = FakeMachine()
    per_contrast = interleave({"loop": Side(machine.work("loop", 0.1)), "all": Side(machine.work("all", 0.2))},
                              clock=machine.clock)
    assert per_contrast.ratio("loop", "all", times=1000).median == pytest.approx(500.0)


def fixed_load(value):
    return lambda: (value, value, value)


@pytest.mark.parametrize("start, end, overloaded", [(0.5, 1.9, False), (2.5, 1.0, True), (1.0, 2.01, True)])
def test_a_load_average_above_the_core_count_is_said_on_the_first_line(start, end, overloaded, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    machine = machine_at_end(machine_at_start(load=fixed_load(start)), load=fixed_load(end))
    assert (machine["load_start"], machine["load_end"], machine["overloaded"]) == (start, end, overloaded)
    lines = machine_lines(machine)
    assert lines[0].startswith("WARNING: the load average") == overloaded
    assert "exceeded the 2 cores" in lines[0] or not overloaded
    assert lines[-1].startswith("machine: ") and "device cpu" in lines[-1] and "torch " in lines[-1]
    assert f"load average {start} at the start, {end} at the end" in lines[-1]
