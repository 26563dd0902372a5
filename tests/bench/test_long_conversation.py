from bench import long_conversation as long


def test_the_conversation_starts_a_complaint_then_alternates_help_and_repeat():
    assert [long.message(turn) for turn in range(1, 6)] == [
        "saya mau mengadu", "bantuan", "ulangi", "bantuan", "ulangi"]


def test_each_measured_turn_is_a_block_of_ten_around_it_after_the_first_message():
    assert list(long.block_of(5)) == list(range(2, 12))
    assert list(long.block_of(150)) == list(range(145, 155))
    assert long.block_of(150)[-1] <= long.TURNS


def test_a_block_reports_the_median_latency_and_cpu_per_turn_of_each_process():
    block = long.summarise(50, [0.010, 0.030, 0.020], {"rasa": 1.0, "actions": 2.0, "gateway": None},
                           {"rasa": 1.3, "actions": 2.03, "gateway": 5.0})
    assert block.latency_ms == 20.0
    assert round(block.cpu_ms["rasa"], 6) == 100.0 and round(block.cpu_ms["actions"], 6) == 10.0
    assert block.cpu_ms["gateway"] is None


def test_a_run_measures_the_blocks_that_fit_and_counts_cpu_only_inside_them():
    sent, clock = [], {"cpu": 0.0}

    def send(text):
        sent.append(text)
        clock["cpu"] += 0.001 * len(sent)  # each turn costs one more millisecond than the last
        return [{"text": "ok"}]

    blocks = long.run(send, lambda: {"rasa": clock["cpu"]}, turns=60)
    assert len(sent) == 60
    assert [block.turn for block in blocks] == [5, 50]
    assert round(blocks[0].cpu_ms["rasa"], 6) == 6.5  # turns 2-11: (2 + ... + 11) / 10
    assert round(blocks[1].cpu_ms["rasa"], 6) == 49.5  # turns 45-54


def test_a_turn_without_a_reply_stops_the_run():
    import pytest

    with pytest.raises(RuntimeError, match="turn 1"):
        long.run(lambda text: [], lambda: {}, turns=3)


def _blocks(latency_5, latency_150, rasa_5, rasa_150):
    return [long.Block(5, latency_5, {"rasa": rasa_5, "gateway": 0.0}),
            long.Block(150, latency_150, {"rasa": rasa_150, "gateway": 0.0})]


def test_several_conversations_give_the_median_of_each_block_and_of_each_conversations_ratio():
    runs = [_blocks(40, 44, 30, 33), _blocks(30, 60, 20, 40), _blocks(50, 50, 40, 40)]
    combined = long.combine(runs)
    assert [(block.turn, block.latency_ms, block.cpu_ms["rasa"]) for block in combined] == [(5, 40, 30), (150, 50, 40)]
    assert [round(cpu, 2) for cpu, _ in map(long.ratios, runs)] == [1.1, 2.0, 1.0]
    assert long.ratios(runs[0])[1] == 1.1


def test_a_conversation_without_both_ends_has_no_ratio():
    assert long.ratios([long.Block(5, 40, {"rasa": 30})]) is None
