from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, StaffSession
from tests.console.support import PASSWORD, Staff, file_report, make_account


def audit_actions(database, actor=None):
    with database.session() as session:
        query = select(AuditEntry.action, AuditEntry.target).order_by(AuditEntry.id)
        if actor:
            query = query.where(AuditEntry.actor == actor)
        return [tuple(row) for row in session.execute(query)]


def test_a_page_asks_who_you_are_before_showing_anything(console):
    staff = Staff(console["url"])
    status, headers, _ = staff.get("/laporan")
    assert status == 303 and headers["Location"] == "/masuk"


def test_the_session_cookie_is_signed_http_only_strict_and_secure(console):
    staff = Staff(console["url"])
    assert staff.login("ani") == 303
    cookie = next(line for line in staff.last_headers.get_all("Set-Cookie") if line.startswith("sapalapor_console="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert staff.get("/laporan")[0] == 200
    forged = Staff(console["url"])
    value = staff.cookies["sapalapor_console"]
    forged.cookies["sapalapor_console"] = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    assert forged.get("/laporan")[0] == 303


def test_only_a_hash_of_the_session_id_is_stored(console):
    staff = Staff(console["url"])
    staff.login("ani")
    session_id = staff.cookies["sapalapor_console"].split(".")[0]
    with console["database"].session() as session:
        digests = list(session.execute(select(StaffSession.digest)).scalars())
    assert digests and all(session_id not in digest for digest in digests)


def test_a_wrong_password_is_refused_audited_and_then_throttled(console):
    make_account(console["database"], "fajar", "facilitator")
    staff = Staff(console["url"])
    for _ in range(5):
        staff.get("/masuk")
        status, _, text = staff.post("/masuk", {"username": "fajar", "password": "salah-sekali-123"})
        assert status == 401 and "Nama pengguna atau kata sandi salah." in text
    staff.get("/masuk")
    status, _, text = staff.post("/masuk", {"username": "fajar", "password": PASSWORD})
    assert status == 429 and "Terlalu banyak percobaan" in text
    assert audit_actions(console["database"]).count(("login_failed", "fajar")) == 5
    assert ("login_throttled", "fajar") in audit_actions(console["database"])


def test_logout_ends_the_session_on_the_server_too(console):
    staff = Staff(console["url"])
    staff.login("ani")
    stolen = dict(staff.cookies)
    staff.get("/laporan")
    assert staff.post("/keluar")[0] == 303
    thief = Staff(console["url"])
    thief.cookies = stolen
    assert thief.get("/laporan")[0] == 303


def test_a_form_posted_without_the_pages_csrf_token_is_refused(console):
    number = file_report(console["database"], "Jalan berlubang besar di depan pasar, sudah dua minggu.")
    staff = Staff(console["url"])
    staff.login("ani")
    staff.get(f"/laporan/{number}")
    status, _, text = staff.post(f"/laporan/{number}/status", {"status": "diverifikasi"}, csrf="forged-token")
    assert status == 403 and "Permintaan ditolak" in text
    other = Staff(console["url"])
    other.login("ani")
    other.get("/laporan")
    status, _, _ = staff.post(f"/laporan/{number}/status", {"status": "diverifikasi"}, csrf=other.csrf)
    assert status == 403
    assert staff.get(f"/laporan/{number}")[2].count("Diterima") >= 1
    assert ("csrf_refused", f"/laporan/{number}/status") in audit_actions(console["database"])


def test_each_role_opens_only_its_own_pages(console):
    allowed = {
        "ani": {"/laporan", "/petugas"},
        "budi": {"/laporan"},
        "dewi": {"/kegiatan"},
        "eko": {"/akun", "/audit"},
    }
    pages = {"/laporan", "/petugas", "/kegiatan", "/akun", "/audit"}
    for username, mine in allowed.items():
        staff = Staff(console["url"])
        staff.login(username)
        for page in pages:
            status = staff.get(page)[0]
            assert status == (200 if page in mine else 403), (username, page, status)
    assert ("refused", "/akun") in audit_actions(console["database"], "ani")


def test_a_wrong_role_cannot_post_either(console):
    number = file_report(console["database"], "Lampu jalan mati di gang sebelah masjid sejak sebulan.")
    facilitator = Staff(console["url"])
    facilitator.login("dewi")
    facilitator.get("/kegiatan")
    assert facilitator.post(f"/laporan/{number}/status", {"status": "diverifikasi"})[0] == 403
    assert facilitator.post("/akun", {"username": "mallory", "display_name": "M", "role": "administrator",
                                      "password": "x" * 16})[0] == 403
    admin = Staff(console["url"])
    admin.login("eko")
    assert "mallory" not in admin.get("/akun")[2]


def test_an_agency_officer_cannot_open_another_agencys_report(console):
    database = console["database"]
    theirs = file_report(database, "Saluran air tersumbat di perumahan, banjir tiap hujan.",
                         agency="Dinas PUPR Kabupaten Bandung")
    other = file_report(database, "Puskesmas tutup pada jam layanan, pasien menunggu lama.",
                        agency="Dinas Kesehatan Kota Bandung")
    officer = Staff(console["url"])
    officer.login("budi")
    queue = officer.get("/laporan")[2]
    assert theirs in queue and other not in queue
    assert officer.get(f"/laporan/{theirs}")[0] == 200
    status, _, text = officer.get(f"/laporan/{other}")
    assert status == 404 and "Puskesmas" not in text
    widened = officer.get("/laporan?instansi=Dinas+Kesehatan+Kota+Bandung")[2]
    assert other not in widened
    officer.get(f"/laporan/{theirs}")
    assert officer.post(f"/laporan/{other}/status", {"status": "ditindaklanjuti"})[0] == 404
    assert ("report_not_shown", other) in audit_actions(database, "budi")


def test_no_page_shows_the_reporters_chat_id_and_anonymous_reports_show_no_channel(console):
    database = console["database"]
    known = file_report(database, "Sampah menumpuk di tepi sungai dekat jembatan desa.", chat_id="987654321")
    hidden = file_report(database, "Pungutan liar saat mengurus surat di kantor kelurahan.", privacy="anonim",
                         chat_id="123456789")
    staff = Staff(console["url"])
    staff.login("ani")
    page = staff.get(f"/laporan/{known}")[2]
    assert "987654321" not in page and "Telegram" in page
    page = staff.get(f"/laporan/{hidden}")[2]
    assert "123456789" not in page and "Telegram" not in page and "Anonim" in page
