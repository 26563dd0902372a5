import re
import uuid

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import HandoverRequest, Report
from tests.support.rasa_client import say, texts

NUMBER = re.compile(r"Nomor laporan Anda: (\d{4}-\d{4})")
PIN = re.compile(r"PIN ini: (\d{4})")
DESCRIPTION = "Lampu penerangan jalan mati total di sepanjang gang sejak seminggu, warga takut lewat."


@pytest.fixture(scope="module")
def chat(rasa_servers):
    def send(sender, *messages, metadata=None):
        return [texts(say(rasa_servers["rasa_url"], sender, message, metadata=metadata)) for message in messages]

    return send


@pytest.fixture(scope="module")
def database(rasa_servers):
    return Database.shared(rasa_servers["database_url"])


def new_sender() -> str:
    return f"dialogue-{uuid.uuid4().hex[:12]}"


def file_report(chat, sender, privacy="biasa"):
    replies = chat(sender, "/file_complaint", DESCRIPTION, "Gang Mawar, Kota Bandung", "kemarin", privacy, "/affirm")
    number = NUMBER.search(replies[-1]).group(1)
    pin = PIN.search(replies[-1])
    chat(sender, "lewati")
    return number, pin.group(1) if pin else None


def reports_of(database, description):
    with database.session() as session:
        return session.execute(select(Report).where(Report.description == description)).scalars().all()


def test_the_owner_sees_the_status_of_their_report_in_plain_words(chat):
    owner = new_sender()
    number, _ = file_report(chat, owner)
    [reply] = chat(owner, f"status {number}")
    assert f"Status laporan {number}: sudah diterima" in reply


def test_someone_elses_report_is_not_shown(chat):
    number, _ = file_report(chat, new_sender())
    replies = chat(new_sender(), "cek status laporan saya", number, "lewati")
    assert "PIN" in replies[1]
    assert "tidak ditemukan" in replies[2]
    assert number not in replies[2]


def test_a_number_with_a_wrong_check_digit_is_called_invalid(chat):
    number, _ = file_report(chat, new_sender())
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    [reply] = chat(new_sender(), f"cek status {wrong}")
    assert "Nomor itu tidak valid, periksa lagi" in reply


def test_an_anonymous_report_is_found_only_with_its_pin(chat, database):
    number, pin = file_report(chat, new_sender(), privacy="anonim")
    assert pin is not None
    wrong_pin = f"{(int(pin) + 1) % 10000:04d}"
    replies = chat(new_sender(), "cek status", number, wrong_pin)
    assert "tidak ditemukan" in replies[-1]
    replies = chat(new_sender(), "cek status", number, pin)
    assert f"Status laporan {number}" in replies[-1]
    with database.session() as session:
        report = session.execute(select(Report).where(Report.tracking_number == number)).scalar_one()
        assert report.reporter_id is None


def test_a_confirmed_cancel_files_nothing(chat, database):
    description = f"Sampah menumpuk di pinggir sungai {uuid.uuid4().hex[:6]} sudah sebulan tidak diangkut."
    replies = chat(new_sender(), "/file_complaint", description, "batal", "ya")
    assert "Yakin ingin membatalkan" in replies[2]
    assert "dibatalkan" in replies[3]
    assert reports_of(database, description) == []


def test_a_withdrawn_cancel_continues_where_the_form_was(chat):
    replies = chat(new_sender(), "/file_complaint", DESCRIPTION, "batal", "tidak")
    assert "kita lanjutkan" in replies[3]
    assert "Di mana tempatnya" in replies[3]


def test_a_correction_changes_only_the_chosen_field(chat, database):
    description = f"Jalan desa rusak parah sejak musim hujan {uuid.uuid4().hex[:6]}, banyak lubang."
    sender = new_sender()
    replies = chat(sender, "/file_complaint", description, "Desa Cibiru", "2 hari lalu", "rahasia", "tidak, ubah", "3",
                   "Desa Cibiru Wetan, Kecamatan Cileunyi")
    assert "Bagian mana" in replies[5]
    assert "Lokasi: Desa Cibiru Wetan, Kecamatan Cileunyi" in replies[7]
    chat(sender, "ya")
    [report] = reports_of(database, description)
    assert (report.location_text, report.privacy) == ("Desa Cibiru Wetan, Kecamatan Cileunyi", "rahasia")


def test_a_handover_is_recorded_and_the_report_continues(chat, database):
    sender = new_sender()
    replies = chat(sender, "/file_complaint", DESCRIPTION, "saya mau bicara dengan petugas")
    assert "Senin-Jumat, 08.00-16.00 WIB" in replies[2]
    assert "Di mana tempatnya" in replies[2]
    with database.session() as session:
        count = session.execute(
            select(func.count()).select_from(HandoverRequest).where(HandoverRequest.report_in_progress.is_(True))
        ).scalar_one()
    assert count >= 1


def test_a_spoken_location_is_kept_only_after_a_yes(chat):
    sender = new_sender()
    chat(sender, "/file_complaint", DESCRIPTION)
    voice = {"input_mode": "voice", "stt_confidence": 0.9}
    [heard] = chat(sender, "depan sd negeri tiga", metadata=voice)
    assert "Saya mendengar: «depan sd negeri tiga». Benar?" in heard
    [again] = chat(sender, "bukan", metadata=voice)
    assert "Di mana tempatnya" in again
    chat(sender, "depan sd negeri tiga cibiru", metadata=voice)
    [kept] = chat(sender, "iya benar", metadata=voice)
    assert "Kapan kejadiannya" in kept
