from __future__ import annotations

import json

from storage.identity import identity_hash, sender_id
from storage.repositories.handovers import HandoverRepository
from tests.console.support import Staff

KEY = b"test-identity-key-not-secret-0123456789"


def ask_for_a_person(database, chat_id: str, reason: str = "petugas") -> int:
    sender = sender_id("telegram", identity_hash(KEY, "telegram", chat_id))
    with database.session() as session:
        return HandoverRepository(session).request("telegram", sender, report_in_progress=True, reason=reason).id


def outgoing(database, handover_id):
    with database.session() as session:
        return [(message.kind, message.body, message.author) for message in
                HandoverRepository(session).messages(handover_id) if message.direction == "out"]


def test_an_operator_takes_a_request_answers_and_hands_back_through_storage(console):
    database = console["database"]
    first = ask_for_a_person(database, "3300001", "saya mau bicara dengan orang")
    newest = ask_for_a_person(database, "3300002", "petugas tolong")
    staff = Staff(console["url"])
    staff.login("ani")
    inbox = staff.get("/petugas")[2]
    assert inbox.index(f"Percakapan #{newest}") < inbox.index(f"Percakapan #{first}")
    assert "3300001" not in inbox
    staff.get(f"/petugas/{first}")
    assert staff.post(f"/petugas/{first}/ambil")[0] == 303
    staff.get(f"/petugas/{first}")
    staff.post(f"/petugas/{first}/balas", {"text": "Selamat siang, saya Ani dari Dinas. Ada yang bisa dibantu?"})
    with database.session() as session:
        HandoverRepository(session).keep_inbound(first, "Jalan di depan rumah saya rusak", "telegram:91")
    page = staff.get(f"/petugas/{first}")[2]
    assert "Jalan di depan rumah saya rusak" in page and 'role="log"' in page
    status, _, body = staff.get(f"/petugas/{first}/pesan?setelah=0")
    live = json.loads(body)
    assert status == 200 and [message["direction"] for message in live["messages"]] == ["out", "out", "in"]
    staff.post(f"/petugas/{first}/kembalikan")
    assert outgoing(database, first) == [
        ("taken", None, "Ani"), ("text", "Selamat siang, saya Ani dari Dinas. Ada yang bisa dibantu?", "ani"),
        ("returned", None, "ani")]
    with database.session() as session:
        assert HandoverRepository(session).get(first).state == "done"


def test_a_colleague_cannot_answer_in_a_conversation_someone_else_holds(console):
    database = console["database"]
    handover = ask_for_a_person(database, "3300003")
    ani = Staff(console["url"])
    ani.login("ani")
    ani.get(f"/petugas/{handover}")
    ani.post(f"/petugas/{handover}/ambil")
    with database.session() as session:
        from storage.repositories.accounts import AccountRepository
        AccountRepository(session).create("gita", "Gita", "operator", "kata-sandi-uji-123")
    gita = Staff(console["url"])
    gita.login("gita")
    page = gita.get(f"/petugas/{handover}")[2]
    assert "sedang dilayani ani" in page and "Kirim balasan" not in page
    _, headers, _ = gita.post(f"/petugas/{handover}/balas", {"text": "Halo"})
    assert "Tidak+bisa" in headers["Location"]
    _, headers, _ = gita.post(f"/petugas/{handover}/ambil")
    assert "Tidak+bisa" in headers["Location"]
    assert [kind for kind, _, _ in outgoing(database, handover)] == ["taken"]
