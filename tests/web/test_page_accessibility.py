from __future__ import annotations

import json

from tests.support.browser import axe_violations, tab_order
from tests.web.chat_page import INPUT, LOG, focused_id, open_chat, say_and_wait, texts, wait_bot_messages
from tests.support.browser import opened_page
from tests.web.conftest import EVENT


def test_every_state_of_the_page_has_no_serious_or_critical_axe_violation(page, recording_site):
    open_chat(page, recording_site.base_url)
    assert axe_violations(page) == [], "empty page"

    page.click("#tombol-kirim")  # nothing typed
    assert page.is_visible("#galat") and page.get_attribute(INPUT, "aria-invalid") == "true"
    assert axe_violations(page) == [], "error shown"

    say_and_wait(page, "menu")
    assert page.eval_on_selector_all(f"{LOG} .choices button", "b => b.map(x => x.innerText)") == [
        "1. Pengaduan", "2. Aspirasi", "3. Minta informasi"]
    assert axe_violations(page) == [], "choices shown"

    page.click("#huruf-besar")
    page.click("#kontras")
    assert axe_violations(page) == [], "large text and high contrast"
    # axe leaves text next to generated content (the check mark) to a person: look at it here.
    pressed = page.eval_on_selector_all("button[aria-pressed=true]", "bs => bs.map(b => [b.id, "
                                        "getComputedStyle(b).color, getComputedStyle(b).backgroundColor])")
    assert [name for name, *_ in pressed] == ["huruf-besar", "kontras"]
    assert all(color != background for _, color, background in pressed), pressed


def test_the_kiosk_warning_has_no_serious_or_critical_axe_violation(page, recording_site):
    open_chat(page, recording_site.base_url, f"/web/kiosk/{EVENT}")
    say_and_wait(page, "halo")
    page.wait_for_selector("#peringatan", state="visible", timeout=15_000)
    assert focused_id(page) == "masih-di-sini"
    assert axe_violations(page) == [], "kiosk warning"


def test_the_transcript_is_a_polite_log_that_only_grows_and_focus_stays_in_the_text_box(page, recording_site):
    open_chat(page, recording_site.base_url)
    log = page.eval_on_selector(LOG, "n => [n.getAttribute('role'), n.getAttribute('aria-live'), "
                                     "n.getAttribute('aria-relevant'), n.getAttribute('aria-atomic')]")
    assert log == ["log", "polite", "additions", None]
    assert focused_id(page) == "pesan"
    page.evaluate("""() => { window.changes = [];
        new MutationObserver(list => list.forEach(m => window.changes.push(
            [m.type, m.target.id, m.addedNodes.length, m.removedNodes.length])))
        .observe(document.getElementById('percakapan'), {childList: true, characterData: true, subtree: true}); }""")
    say_and_wait(page, "jalan rusak")
    say_and_wait(page, "menu")

    assert focused_id(page) == "pesan"
    changes = page.evaluate("() => window.changes")
    # Four messages (two of the citizen, two replies), each appended once and whole; nothing removed.
    assert changes == [["childList", "percakapan", 1, 0]] * 4
    assert texts(page, "bot") == ["SapaLapor: Pesan diterima: jalan rusak",
                                  "SapaLapor: Halo! Apa yang ingin Anda sampaikan? 1. Pengaduan 2. Aspirasi "
                                  "3. Minta informasi"]

    page.click(f"{LOG} .choices button >> nth=1")
    assert focused_id(page) == "pesan"  # back in the text box after a choice
    wait_bot_messages(page, 3)
    # The page sends the number; the accessibility layer makes it the choice's payload.
    assert recording_site.on_new_message.texts()[-1] == "/file_aspiration"
    assert texts(page, "me")[-1] == "Anda: Aspirasi"


def test_a_keyboard_user_meets_the_controls_in_reading_order(page, recording_site):
    open_chat(page, recording_site.base_url)
    page.mouse.click(2, 2)  # Tab starts from the top of the page, as for someone who just arrived
    assert tab_order(page, 11) == [
        "a Langsung ke kotak pesan", "button Huruf besar", "button Kontras tinggi", "button Bahasa sederhana",
        "button Jawaban bersuara", "button Bantuan", "button Mulai baru", "textarea Tulis pesan Anda",
        "button Kirim", "button Tahan untuk bicara", "button Rekam suara"]


def test_the_page_fits_a_320_pixel_screen_with_44_pixel_buttons_and_no_motion_when_asked(browser, recording_site):
    # 320 CSS px is also what a 1280 px wide window shows at 400 % zoom (WCAG 1.4.10).
    with opened_page(browser, viewport={"width": 320, "height": 640}, reduced_motion="reduce") as page:
        open_chat(page, recording_site.base_url)
        say_and_wait(page, "menu")
        page.click("#huruf-besar")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
        sizes = page.eval_on_selector_all("button:not([hidden])", "bs => bs.filter(b => b.offsetParent)"
                                          ".map(b => [b.innerText, b.getBoundingClientRect().width, "
                                          "b.getBoundingClientRect().height])")
        assert sizes and all(width >= 44 and height >= 44 for _, width, height in sizes), sizes
        # prefers-reduced-motion: new messages appear without moving.
        assert page.eval_on_selector_all(".msg", "ms => ms.map(m => getComputedStyle(m).animationName)") == [
            "none", "none"]


def test_a_kiosk_reset_leaves_no_text_of_the_last_conversation_in_the_page_or_its_storage(page, recording_site):
    open_chat(page, recording_site.base_url, f"/web/kiosk/{EVENT}")
    old_device = page.evaluate("() => window.sapalapor.device()")
    say_and_wait(page, "lampu di gang mawar mati")
    page.wait_for_selector("#peringatan", state="visible", timeout=15_000)
    page.click("#masih-di-sini")  # the citizen is still there: nothing is lost
    assert page.is_hidden("#peringatan") and focused_id(page) == "pesan"
    assert "lampu di gang mawar mati" in page.inner_text(LOG)

    page.wait_for_selector("#peringatan", state="visible", timeout=15_000)
    page.wait_for_function("() => document.getElementById('percakapan').children.length === 0", timeout=15_000)

    new_device = page.evaluate("() => window.sapalapor.device()")
    storage = page.evaluate("() => JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])")
    assert new_device != old_device
    for left in (page.content(), storage):
        assert "mawar" not in left and "Pesan diterima" not in left and old_device not in left
    assert json.loads(storage)[1] == []  # a kiosk keeps nothing in localStorage
    assert page.is_hidden("#peringatan") and focused_id(page) == "pesan"
    # Server side: the old conversation was ended in Rasa, under the old device's hashed id.
    page.wait_for_function("() => true")
    rasa = recording_site.on_new_message
    page.wait_for_timeout(1000)
    assert rasa.texts()[-1] == "/restart"
    assert rasa.messages[-1].sender_id == rasa.messages[0].sender_id
    assert rasa.messages[0].metadata.get("event_code") == EVENT
