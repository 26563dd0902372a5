import asyncio
import datetime as dt

from sqlalchemy import select, update

from channels.intake import Intake
from storage.db import Database
from storage.models import InboundDelivery, utcnow
from storage.repositories import InboundLog


async def test_failed_payloads_are_scrubbed_on_a_schedule_not_only_at_start_up(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'upkeep.db'}")
    database.migrate()
    intake = Intake(database, "telegram", handler=None)
    upkeep = asyncio.get_running_loop().create_task(intake.upkeep(every=0.05))
    with database.session() as session:
        delivery_id, _ = InboundLog(session).record("telegram", "1", "h" * 64, {"text": "Sari, 0812..."})
        InboundLog(session).mark_failed(delivery_id, "gave up")
        session.execute(update(InboundDelivery).values(received_at=utcnow() - dt.timedelta(days=1, hours=1)))
    try:
        for _ in range(100):
            with database.session() as session:
                if session.execute(select(InboundDelivery.payload)).scalar_one() is None:
                    break
            await asyncio.sleep(0.05)
    finally:
        upkeep.cancel()
    with database.session() as session:
        assert session.execute(select(InboundDelivery.payload, InboundDelivery.state)).one() == (None, "failed")
    assert (tmp_path / "upkeep.db-wal").stat().st_size == 0
    database.dispose()
