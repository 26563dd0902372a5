from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from console.transcript import TranscriptReader, mask_numbers


def test_tracking_numbers_pins_and_phone_numbers_are_masked_but_short_numbers_stay():
    said = "Nomor laporan Anda: 1437-1325, PIN 4821. Hubungi 0812 3456 7890. RT 03 RW 05, 2 minggu."
    assert mask_numbers(said) == "Nomor laporan Anda: •••, PIN •••. Hubungi •••. RT 03 RW 05, 2 minggu."


def test_the_transcript_is_read_from_rasas_store_oldest_first_for_that_conversation_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, "
                                "timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"))
        rows = [("telegram-a", "user", {"text": "mau lapor jalan rusak"}),
                ("telegram-a", "action", {"name": "action_listen"}),
                ("telegram-b", "user", {"text": "percakapan orang lain"}),
                ("telegram-a", "bot", {"text": "Nomor laporan Anda: 1437-1325."}),
                ("telegram-a", "user", {"text": "petugas"})]
        for sender, kind, data in rows:
            connection.execute(text("INSERT INTO events (sender_id, type_name, data) VALUES (:s, :k, :d)"),
                               {"s": sender, "k": kind, "d": json.dumps(data)})
    engine.dispose()
    reader = TranscriptReader(url)
    assert [(line.speaker, line.text) for line in reader.lines("telegram-a")] == [
        ("warga", "mau lapor jalan rusak"), ("asisten", "Nomor laporan Anda: •••."), ("warga", "petugas")]
    assert TranscriptReader(f"sqlite:///{tmp_path / 'none.db'}").lines("telegram-a") == []
    reader.dispose()
