import time

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from bot.commands.purge_conversations import purge

HOUR, DAY = 3600.0, 86400.0


async def store_conversation(store, sender, started, privacy):
    events = [
        UserUttered("jalan rusak mau lapor", timestamp=started),
        SlotSet("privacy", privacy, timestamp=started + 60),
        BotUttered("Nomor laporan Anda: 4821-7730.", timestamp=started + 120),
    ]
    await store.save(DialogueStateTracker.from_events(sender, events))


def senders_left(url):
    with create_engine(url, future=True).connect() as connection:
        return {row[0] for row in connection.execute(text("SELECT DISTINCT sender_id FROM events"))}


async def test_quiet_anonymous_and_expired_conversations_are_deleted_and_the_rest_kept(tmp_path):
    database = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(database))
    now = time.time()
    await store_conversation(store, "telegram-anon-quiet", now - 3 * HOUR, "anonim")
    await store_conversation(store, "telegram-anon-still-talking", now - 10 * 60, "anonim")
    await store_conversation(store, "sms-named-recent", now - 2 * DAY, "biasa")
    await store_conversation(store, "whatsapp-named-old", now - 40 * DAY, "rahasia")
    url = f"sqlite:///{database}"

    purged = purge(create_engine(url, future=True), now, anonymous_quiet_seconds=HOUR, retention_seconds=30 * DAY)

    assert (purged.anonymous, purged.expired) == (1, 1)
    assert senders_left(url) == {"telegram-anon-still-talking", "sms-named-recent"}


def test_a_store_without_conversations_is_left_alone(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}", future=True)
    purged = purge(engine, time.time(), anonymous_quiet_seconds=HOUR, retention_seconds=DAY)
    assert (purged.anonymous, purged.expired) == (0, 0)
