from tests.conversations.driver import has_report, trailing_run


def test_a_loop_is_the_same_bot_text_ending_turns_in_a_row():
    assert trailing_run([]) == 0
    assert trailing_run(["Kapan?"]) == 1
    assert trailing_run(["Di mana?", "Kapan?", "Kapan?", "Kapan?"]) == 3
    assert trailing_run(["Kapan?", "Kapan?", "Di mana?"]) == 1


def test_a_report_is_in_progress_while_any_of_its_facts_is_kept():
    assert has_report({"report_type": "pengaduan", "description": None})
    assert has_report({"location": "kota bandung"})
    assert not has_report({"report_type": None, "description": None, "requested_slot": "tracking_number"})
