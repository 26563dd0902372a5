from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEntry, OutreachEvent, StaffAccount
from tests.console.support import ROOT, Staff, console_environ, file_report


def test_a_facilitator_creates_an_event_and_downloads_its_poster_and_figures(console):
    staff = Staff(console["url"])
    staff.login("dewi")
    staff.get("/kegiatan")
    status, headers, _ = staff.post("/kegiatan", {"name": "Sosialisasi LAPOR! Tunanetra", "place": "Aula Desa Sukamaju",
                                                  "date": "2026-12-20", "target": "penyandang disabilitas netra",
                                                  "code": "SUKA26"})
    assert status == 303 and headers["Location"].startswith("/kegiatan/SUKA26")
    file_report(console["database"], "Jalan desa menuju aula rusak berat, kursi roda tidak bisa lewat.",
                event_code="SUKA26")
    status, _, page = staff.get("/kegiatan/SUKA26")
    assert status == 200 and "Angka per saluran" in page and "&lt; 5" in page
    status, headers, body = staff.get("/kegiatan/SUKA26/poster/pdf")
    assert status == 200 and body.startswith("%PDF")
    status, headers, _ = staff.get("/kegiatan/SUKA26/poster/png")
    assert status == 200 and headers["Content-Type"] == "image/png"
    status, headers, body = staff.get("/kegiatan/SUKA26/csv")
    assert status == 200 and body.splitlines()[0].startswith("ukuran,keterangan,semua")
    status, headers, _ = staff.get("/kegiatan/SUKA26/grafik/corong")
    assert status == 200 and headers["Content-Type"] == "image/png"
    with console["database"].session() as session:
        assert session.execute(select(OutreachEvent.name).where(OutreachEvent.code == "SUKA26")).scalar_one()
        assert ("dewi", "event_created", "SUKA26") in [tuple(row) for row in session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target))]


def test_an_event_with_a_bad_date_is_explained_not_created(console):
    staff = Staff(console["url"])
    staff.login("dewi")
    staff.get("/kegiatan")
    status, _, page = staff.post("/kegiatan", {"name": "Sosialisasi", "place": "Balai", "date": "besok",
                                               "target": "warga"})
    assert status == 400 and "Tanggal kegiatan belum benar" in page


def test_an_administrator_creates_an_agency_officer_and_deactivating_ends_their_session(console):
    admin = Staff(console["url"])
    admin.login("eko")
    admin.get("/akun")
    status, _, _ = admin.post("/akun", {"username": "hana", "display_name": "Hana", "role": "agency_officer",
                                        "agency": "Dinas Sosial Kota Bandung", "password": "kata-sandi-hana-01"})
    assert status == 303
    hana = Staff(console["url"])
    assert hana.login("hana", "kata-sandi-hana-01") == 303
    assert hana.get("/laporan")[0] == 200
    with console["database"].session() as session:
        account = session.execute(select(StaffAccount).where(StaffAccount.username == "hana")).scalar_one()
        assert account.password_hash.startswith("$argon2id$") and "kata-sandi" not in account.password_hash
        account_id = account.id
    admin.get("/akun")
    admin.post(f"/akun/{account_id}/nonaktifkan")
    assert hana.get("/laporan")[0] == 303
    page = admin.get("/audit")[2]
    assert "account_created" in page and "account_disabled" in page and "kata-sandi-hana-01" not in page


def test_an_agency_officer_account_needs_an_agency_and_a_long_password(console):
    admin = Staff(console["url"])
    admin.login("eko")
    admin.get("/akun")
    _, _, page = admin.post("/akun", {"username": "indra", "display_name": "Indra", "role": "agency_officer",
                                      "password": "kata-sandi-indra"})
    assert "Akun belum dibuat" in page and "agency" in page
    admin.get("/akun")
    _, _, page = admin.post("/akun", {"username": "indra", "display_name": "Indra", "role": "operator",
                                      "password": "pendek"})
    assert "at least 12" in page


def test_the_first_administrator_is_made_by_a_command_reading_the_password_from_stdin(tmp_path):
    env = console_environ(tmp_path)
    env.pop("SAPALAPOR_CONSOLE_PASSWORD", None)
    done = subprocess.run([sys.executable, "-m", "bot", "console-admin", "admin", "--name", "Admin Pusat"],
                          input="rahasia-panjang-sekali\n", capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rahasia-panjang-sekali" not in done.stdout + done.stderr
    database = Database(env["SAPALAPOR_DATABASE_URL"])
    with database.session() as session:
        account = session.execute(select(StaffAccount)).scalar_one()
        assert (account.username, account.role, account.display_name) == ("admin", "administrator", "Admin Pusat")
    database.dispose()
