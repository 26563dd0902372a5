import time

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from bot.commands.purge_conversations import purge
from bot.rasa_project import tracker_store_config
from bot.tracker_store import CachedSQLTrackerStore
from bot.cluster.postgres import running_postgres

DOMAIN = Domain.from_dict({
    "intents": ["greet", "file_complaint"],
    "slots": {"privacy": {"type": "text", "mappings": [{"type": "custom"}]}},
    "responses": {"utter_greet": [{"text": "Halo"}]},
})


@pytest.fixture(scope="module")
def postgres_server_url():
    with running_postgres("tracker_store_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    url = request.getfixturevalue("postgres_server_url")
    with create_engine(url, future=True).begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS events"))
    return url


def stores(url, **options):
    config = tracker_store_config(url)
    config.pop("type")
    host = config.pop("url", None)
    return CachedSQLTrackerStore(domain=DOMAIN, host=host, **config, **options), SQLTrackerStore(domain=DOMAIN, host=host, **config)


def as_dicts(tracker):
    return [event.as_dict() for event in tracker.events]


async def one_turn(store, sender, text, started):
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 0.9}, timestamp=started))
    tracker.update(ActionExecuted("utter_greet", timestamp=started + 0.1))
    tracker.update(BotUttered("Halo", timestamp=started + 0.2))
    tracker.update(ActionExecuted("action_listen", timestamp=started + 0.3))
    await store.save(tracker)
    return tracker


async def test_a_conversation_reads_back_exactly_as_rasas_sql_store_reads_it(tracker_url):
    cached, plain = stores(tracker_url)
    now = time.time()
    for turn in range(3):
        await one_turn(cached, "telegram-a", f"halo {turn}", now + turn)
    tracker = await cached.retrieve("telegram-a")
    assert as_dicts(tracker) == as_dicts(await plain.retrieve("telegram-a"))
    assert len([event for event in tracker.events if isinstance(event, UserUttered)]) == 3


async def test_a_new_session_starts_the_conversation_afresh_as_in_rasa(tracker_url):
    cached, plain = stores(tracker_url)
    now = time.time()
    await one_turn(cached, "sms-b", "halo", now)
    tracker = await cached.retrieve("sms-b")
    tracker.update(ActionExecuted("action_session_start", timestamp=now + 10))
    tracker.update(SessionStarted(timestamp=now + 10))
    tracker.update(SlotSet("privacy", "rahasia", timestamp=now + 10))
    tracker.update(ActionExecuted("action_listen", timestamp=now + 10))
    await cached.save(tracker)
    await one_turn(cached, "sms-b", "lapor lagi", now + 11)

    restored = await cached.retrieve("sms-b")
    assert as_dicts(restored) == as_dicts(await plain.retrieve("sms-b"))
    assert [event.type_name for event in list(restored.events)[:2]] == ["action", "session_started"]
    assert restored.get_slot("privacy") == "rahasia"
    assert len((await plain.retrieve_full_tracker("sms-b")).events) == 1 + 4 + 4 + 4


async def test_a_conversation_purged_by_another_process_is_not_served_from_memory(tracker_url):
    cached, _ = stores(tracker_url)
    now = time.time()
    await cached.save(DialogueStateTracker.from_events("telegram-anon", [
        UserUttered("mau lapor", timestamp=now - 7200),
        SlotSet("privacy", "anonim", timestamp=now - 7100),
    ], DOMAIN.slots))
    assert await cached.retrieve("telegram-anon") is not None

    purged = purge(create_engine(tracker_url, future=True), now, anonymous_quiet_seconds=3600, retention_seconds=30 * 86400)

    assert purged.anonymous == 1
    assert await cached.retrieve("telegram-anon") is None


async def test_events_written_by_another_store_are_seen_on_the_next_turn(tracker_url):
    cached, plain = stores(tracker_url)
    now = time.time()
    await one_turn(cached, "whatsapp-c", "halo", now)
    await cached.retrieve("whatsapp-c")
    await one_turn(plain, "whatsapp-c", "ada yang lain", now + 1)

    tracker = await cached.retrieve("whatsapp-c")

    assert as_dicts(tracker) == as_dicts(await plain.retrieve("whatsapp-c"))
    assert tracker.latest_message.text == "ada yang lain"


async def test_a_restarted_server_continues_the_conversation_from_the_database(tracker_url):
    cached, plain = stores(tracker_url)
    now = time.time()
    await one_turn(cached, "telegram-d", "halo", now)
    restarted, _ = stores(tracker_url)
    await one_turn(restarted, "telegram-d", "saya mau mengadu", now + 1)

    assert len((await plain.retrieve("telegram-d")).events) == 1 + 4 + 4
    assert as_dicts(await restarted.retrieve("telegram-d")) == as_dicts(await plain.retrieve("telegram-d"))


async def test_a_save_appends_only_the_new_events(tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    cached, _ = stores(url)
    now = time.time()
    for turn in range(4):
        await one_turn(cached, "telegram-e", f"pesan {turn}", now + turn)
    with create_engine(url, future=True).connect() as connection:
        rows = connection.execute(text("SELECT type_name, intent_name, action_name FROM events ORDER BY id")).all()
    assert len(rows) == 1 + 4 * 4
    assert rows[1:5] == [("user", "greet", None), ("action", None, "utter_greet"), ("bot", None, None), ("action", None, "action_listen")]


async def test_memory_keeps_at_most_the_configured_number_of_conversations(tmp_path):
    cached, _ = stores(f"sqlite:///{tmp_path / 'tracker.db'}", cache_size=2)
    now = time.time()
    for sender in ("a", "b", "c"):
        await one_turn(cached, sender, "halo", now)
    assert list(cached._cache) == ["b", "c"]
    assert (await cached.retrieve("a")).latest_message.text == "halo"
    assert list(cached._cache) == ["c", "a"]


async def test_a_quiet_conversation_leaves_memory_but_not_the_database(tmp_path):
    cached, _ = stores(f"sqlite:///{tmp_path / 'tracker.db'}", cache_idle_seconds=0)
    now = time.time()
    await one_turn(cached, "quiet", "halo", now)
    await one_turn(cached, "busy", "halo", now)
    assert "quiet" not in cached._cache
    assert (await cached.retrieve("quiet")).latest_message.text == "halo"


async def test_an_unknown_conversation_is_none_and_is_not_remembered(tmp_path):
    cached, _ = stores(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert await cached.retrieve("nobody") is None
    assert "nobody" not in cached._cache


async def test_a_conversation_in_memory_costs_one_small_query_to_read_and_three_to_save(tmp_path):
    from sqlalchemy import event

    cached, _ = stores(f"sqlite:///{tmp_path / 'tracker.db'}")
    await one_turn(cached, "telegram-f", "halo", time.time())
    statements = []
    event.listen(cached.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    tracker = await cached.retrieve("telegram-f")
    reads = len(statements)
    tracker.update(UserUttered("lagi", timestamp=time.time()))
    await cached.save(tracker)

    assert reads == 1
    assert len(statements) - reads == 3  # check, insert the new event, read back the new count


async def test_a_save_late_in_a_long_conversation_looks_only_at_its_new_events(tmp_path, monkeypatch):
    """Issue 18: the cached session is continued; scanning all of it on every save grew per turn."""
    import bot.tracker_store as module

    cached, plain = stores(f"sqlite:///{tmp_path / 'tracker.db'}")
    scanned = []
    for name in ("latest_session_start", "events_since"):
        original = getattr(module, name)

        def counting(events, *rest, _original=original):
            events = list(events)
            scanned.append(len(events))
            return _original(events, *rest)

        monkeypatch.setattr(module, name, counting)
    now = time.time()
    for turn in range(40):
        scanned.clear()
        await one_turn(cached, "telegram-long", f"halo {turn}", now + turn)
    assert max(scanned) <= 4  # the four events of the last turn, not the 160 of the conversation
    assert as_dicts(await cached.retrieve("telegram-long")) == as_dicts(await plain.retrieve("telegram-long"))
