from tests.conversations.generator import DEV_COUNT, for_channel, generate, with_typos
from tests.conversations.pools import REPORT_TYPES, all_texts, load_pools


def test_the_same_seed_gives_the_same_conversations():
    first = [persona.summary() for persona in generate("dev", 50)]
    again = [persona.summary() for persona in generate("dev", 50)]

    assert first == again


def test_there_are_at_least_300_dev_conversations_and_a_heldout_set():
    assert DEV_COUNT >= 300
    assert len(generate("dev")) >= 300
    assert len(generate("heldout")) >= 100


def test_heldout_conversations_use_only_heldout_phrasing():
    pools = load_pools("heldout")
    places = {place["text"] for place in pools.places}
    descriptions = {text for node in pools.descriptions.values() for kind in REPORT_TYPES for text in node[kind]}
    dev = set(all_texts(load_pools("dev")))
    for persona in generate("heldout"):
        assert persona.place["text"] in places
        assert persona.date in pools.dates
        assert persona.privacy_text in pools.privacy[persona.privacy]
        assert persona.description_source in descriptions
        assert persona.description_source not in dev


def test_the_corpus_mixes_rich_openers_interruptions_slips_and_every_privacy_level():
    personas = generate("dev")

    assert sum(persona.rich for persona in personas) >= 40
    assert sum(bool(persona.interrupts) for persona in personas) >= 100
    assert sum(persona.slip is not None for persona in personas) >= 15
    assert {persona.privacy for persona in personas} == {"biasa", "rahasia", "anonim"}
    assert {persona.report_type for persona in personas} == set(REPORT_TYPES)
    assert {interrupt.kind for persona in personas for interrupt in persona.interrupts} >= {
        "cancel", "help", "repeat", "simple", "status", "voice"}


def test_a_persona_on_another_channel_never_switches_voice_replies_on():
    for persona in generate("dev"):
        moved = for_channel(persona, "telegram")
        assert moved.channel == "telegram" and not moved.raw_numbers
        assert all(interrupt.text != "/suara" for interrupt in moved.interrupts)


def test_typos_never_make_a_control_word():
    import random

    rng = random.Random(3)
    for _ in range(200):
        typed = with_typos("saya tidak jadi lanjut ke petugas yang ada", 0.5, rng)
        assert "batal" not in typed and "bantu" not in typed
