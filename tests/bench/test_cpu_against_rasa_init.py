import argparse

from bench import run


def bench_with_rows():
    return run.Bench(args=argparse.Namespace(reps=2), workdir=None, env={})


def test_a_turn_costs_the_sum_of_our_processes_or_nothing_when_one_is_missing():
    assert run.turn_cpu({"cpu_ms_per_turn": {"rasa": 20.0, "actions": 5.0, "gateway": 10.0}}, run.OURS_PROCESSES) == 35.0
    assert run.turn_cpu({"cpu_ms_per_turn": {"rasa": 20.0, "actions": None, "gateway": 10.0}}, run.OURS_PROCESSES) is None


def test_the_channel_turn_is_compared_with_rasa_init_inside_each_repetition():
    bench = bench_with_rows()
    raw = {
        "default_rest": {50: [{"cpu_ms_per_turn": {"rasa init": 60.0}}, {"cpu_ms_per_turn": {"rasa init": 30.0}}]},
        "rest": {50: [{"cpu_ms_per_turn": {"rasa": 1.0, "actions": 1.0, "gateway": 0.0}}] * 2},
        "telegram": {50: [{"cpu_ms_per_turn": {"rasa": 20.0, "actions": 4.0, "gateway": 6.0}},
                          {"cpu_ms_per_turn": {"rasa": 20.0, "actions": 4.0, "gateway": 6.0}}]},
    }
    run.ours_vs_default(bench, raw, 50)
    (row,) = bench.rows
    assert "telegram" in row.figure
    assert row.value == "0.75x"  # median of 30/60 and 30/30
    assert row.verdict == "MISSES"
