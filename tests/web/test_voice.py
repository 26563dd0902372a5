from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import fake_microphone_browser, opened_page
from tests.web.chat_page import LOG, open_chat, texts, wait_bot_messages
from tests.web.filing import STORY, answer_for, filed_number, report
from tests.web.voice_clips import silence_into, speak_into

# Choices are said by number, as docs/accessibility.md tells voice users; a date in plain words.
SPOKEN = {"1": "Nomor satu.", "2 minggu lalu": "Kemarin.",
          # Places Whisper base hears well in espeak-ng's voice through the browser's webm/opus.
          "Kabupaten Cianjur, Jawa Barat": "Kota Bandung.",
          "Desa Sukamaju, Kecamatan Cibeber, Kabupaten Cianjur": "Kota Bandung."}
VOICE_STORY = "Jalan di depan pasar di Kota Bandung rusak parah dan berlubang sejak dua minggu lalu."


@pytest.fixture(scope="module")
def microphone(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("microphone") / "mic.wav"
    silence_into(path)
    return path


@pytest.fixture(scope="module")
def voice_browser(browser, microphone):
    with fake_microphone_browser(browser, Path(f"{microphone}%noloop")) as launched:
        yield launched


@pytest.fixture
def voice_page(voice_browser):
    with opened_page(voice_browser) as opened:
        yield opened


def heard(page) -> list:
    return [text for text in texts(page, "me") if text.startswith("Anda (suara):")]


def hold_and_speak(page, microphone: Path, text: str) -> None:
    """Space held on "Tahan untuk bicara" for as long as the clip plays (a keyboard user's hold)."""
    seconds = speak_into(microphone, text)
    page.focus("#tahan-bicara")
    page.keyboard.down(" ")
    page.wait_for_timeout(int(seconds * 1000) + 400)
    page.keyboard.up(" ")


def tap_and_speak(page, microphone: Path, text: str) -> None:
    """"Rekam suara" pressed once to start and once to stop (for someone who cannot hold)."""
    seconds = speak_into(microphone, text)
    page.click("#rekam")
    page.wait_for_selector("#rekam[aria-pressed=true]")
    page.wait_for_timeout(int(seconds * 1000) + 400)
    page.click("#rekam")


def test_a_held_voice_button_sends_the_recording_and_shows_what_was_heard(voice_page, microphone, recording_site):
    open_chat(voice_page, recording_site.base_url)
    hold_and_speak(voice_page, microphone, "Lampu jalan di Kecamatan Coblong mati sudah dua minggu.")
    voice_page.wait_for_function(f"() => document.querySelectorAll('{LOG} .msg.me').length >= 1", timeout=180_000)
    wait_bot_messages(voice_page, 1, timeout=60_000)

    [transcript] = heard(voice_page)
    assert "lampu" in transcript.lower() and "minggu" in transcript.lower()
    message = recording_site.on_new_message.messages[-1]
    assert message.metadata["input_mode"] == "voice" and message.text.lower() in transcript.lower()
    # The reply comes with its voice; it waits for the citizen, who did not switch voice replies on.
    assert voice_page.eval_on_selector_all(f"{LOG} .voice", "bs => bs.map(b => b.audio.paused)") == [True]
    voice_page.click(f"{LOG} .voice button:text('Dengarkan pelan')")
    assert voice_page.eval_on_selector(f"{LOG} .voice", "b => b.audio.playbackRate") == 0.75


def test_a_complaint_is_filed_in_the_browser_by_voice(voice_page, microphone, web_stack):
    open_chat(voice_page, web_stack["url"])
    tap_and_speak(voice_page, microphone, VOICE_STORY)
    reply = wait_bot_messages(voice_page, 1, timeout=180_000)[-1]
    # A misheard answer costs a turn: the question is asked again, and after a third miss the form
    # offers its way on (bot/actions/report_form.py, WAY_ON_AFTER), so filing ends within three
    # tries of each of the six questions and the read-back, whatever speech-to-text hears.
    for _ in range(3 * 7 + 6):
        if filed_number(voice_page):
            break
        replies = len(texts(voice_page, "bot"))
        answer = answer_for(reply)
        answer = VOICE_STORY if answer == STORY else answer
        tap_and_speak(voice_page, microphone, SPOKEN.get(answer, answer))
        reply = wait_bot_messages(voice_page, replies + 1, timeout=180_000)[-1]

    number = filed_number(voice_page)
    assert number, "\n".join(texts(voice_page))
    assert report(web_stack, number).channel == "web"
    assert len(heard(voice_page)) >= 3  # every answer was spoken, and shown as heard
