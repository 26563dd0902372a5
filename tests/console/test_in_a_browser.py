"""The console in a real Chromium: accessibility (axe-core), keyboard-only paths, screenshots.

Set ``SAPALAPOR_CONSOLE_SCREENSHOTS=docs/console`` to write the screenshots of docs/console.md.
"""
from __future__ import annotations

import os
from pathlib import Path

from storage.identity import identity_hash, sender_id
from storage.lifecycle import pending_notifications
from storage.repositories.handovers import HandoverRepository
from tests.console.support import PASSWORD, file_report
from tests.support.browser import axe_violations, tab_order

SCREENSHOTS = os.environ.get("SAPALAPOR_CONSOLE_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.wait_for_load_state("load", timeout=120_000)  # the charts are images
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def sign_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state()


def sign_out(page) -> None:
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url("**/masuk")


def check(page, name: str) -> None:
    assert axe_violations(page) == [], name
    shot(page, name)


def test_every_console_page_has_no_serious_or_critical_accessibility_violation(console, console_page):
    page = console_page
    url, database = console["url"], console["database"]
    number = file_report(database, "Jalan di depan pasar Cicalengka berlubang besar, kemarin ada motor jatuh.",
                         agency="Dinas PUPR Kabupaten Bandung", region_code="32.04.19")
    file_report(database, "Pungutan liar di kantor kelurahan saat mengurus surat pindah.", privacy="anonim")
    sender = sender_id("telegram", identity_hash(os.environ["SAPALAPOR_IDENTITY_KEY"].encode(), "telegram", "77001"))
    with database.session() as session:
        repository = HandoverRepository(session)
        handover = repository.request("telegram", sender, report_in_progress=True, reason="mau bicara dengan petugas")
        repository.take(handover.id, "ani", "Ani")
        repository.say(handover.id, "ani", "Selamat siang, saya Ani. Ada yang bisa saya bantu?")
        repository.keep_inbound(handover.id, "Laporan saya belum ada kabar, mohon dibantu.", "telegram:b1")
        handover_id = handover.id

    page.goto(f"{url}/masuk")
    check(page, "masuk")
    sign_in(page, url, "ani")
    page.wait_for_url("**/laporan")
    check(page, "antrean-laporan")
    page.goto(f"{url}/laporan/{number}")
    check(page, "laporan")
    page.goto(f"{url}/petugas")
    check(page, "permintaan-petugas")
    page.goto(f"{url}/petugas/{handover_id}")
    check(page, "percakapan-petugas")
    page.goto(f"{url}/akun")
    assert page.get_by_role("heading", name="Akses ditolak").is_visible()
    check(page, "akses-ditolak")
    sign_out(page)

    sign_in(page, url, "dewi")
    page.get_by_label("Nama kegiatan").fill("Sosialisasi LAPOR! Tunanetra")
    page.get_by_label("Tempat").fill("Aula Desa Sukamaju")
    page.get_by_label("Tanggal").fill("2026-12-20")
    page.get_by_label("Sasaran (mis. penyandang disabilitas netra)").fill("penyandang disabilitas netra")
    page.get_by_label("Kode (boleh dikosongkan: dibuat otomatis)").fill("TUNA26")
    page.get_by_role("button", name="Buat kegiatan").click()
    page.wait_for_url("**/kegiatan/TUNA26**", wait_until="domcontentloaded")
    check(page, "kegiatan")
    page.goto(f"{url}/kegiatan")
    check(page, "daftar-kegiatan")
    sign_out(page)

    sign_in(page, url, "eko")
    check(page, "akun-petugas")
    page.goto(f"{url}/audit")
    check(page, "catatan-audit")


def test_a_verifier_moves_a_report_along_by_keyboard_alone(console, console_page):
    page = console_page
    url, database = console["url"], console["database"]
    number = file_report(database, "Lampu jalan di gang Mawar mati sejak dua minggu, rawan kejahatan.",
                         chat_id="6600001")
    page.goto(f"{url}/masuk")
    assert tab_order(page, 4)[1:] == ["input Nama pengguna", "input Kata sandi", "button Masuk"]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("ani")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/laporan")
    # Skip link first, then the menu: the queue is reached without a mouse.
    assert tab_order(page, 1) == ["a Langsung ke isi halaman"]
    link = page.get_by_role("link", name=number)
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/laporan/{number}")
    page.get_by_label("Verifikasi").focus()
    assert page.get_by_label("Verifikasi").is_checked()
    page.get_by_label("Catatan (untuk riwayat; pada tunda, bukan wewenang, arsip dan selesai juga dibacakan ke pelapor)").focus()
    page.keyboard.type("Data lengkap.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Simpan status"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/laporan/{number}?pesan=*")
    assert page.get_by_role("status").inner_text().startswith("Status diubah menjadi diverifikasi")
    with database.session() as session:
        assert [item.status for item in pending_notifications(session, "telegram")
                if item.tracking_number == number] == ["diverifikasi"]
