from __future__ import annotations

from tests.web.chat_page import focused_id, open_chat, say_and_wait, texts, wait_bot_messages
from tests.web.filing import MAX_TURNS, STORY, answer_for, filed_number, report


def test_a_complaint_is_filed_in_the_browser_by_typing_only(page, web_stack):
    open_chat(page, web_stack["url"])
    reply = say_and_wait(page, STORY)
    for _ in range(MAX_TURNS):
        if filed_number(page):
            break
        reply = say_and_wait(page, answer_for(reply))
    number = filed_number(page)

    assert number, texts(page)
    filed = report(web_stack, number)
    assert filed.channel == "web" and filed.privacy == "biasa" and "sukamaju" in filed.description.lower()
    assert len(texts(page, "bot")) == len(texts(page, "me"))  # one answer per message, none twice


def choose_by_keyboard(page, number: int) -> None:
    """From the text box, Shift+Tab back to the newest choice with that number, then Enter."""
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        label = page.evaluate("() => document.activeElement.innerText || ''")
        if label.startswith(f"{number}. "):
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"choice {number} not reached by keyboard")


def test_a_complaint_is_filed_in_the_browser_with_the_keyboard_alone(page, web_stack):
    open_chat(page, web_stack["url"])
    assert focused_id(page) == "pesan"  # the text box has focus from the start: type at once
    replies = len(texts(page, "bot"))
    page.keyboard.type(STORY)
    page.keyboard.press("Enter")
    reply = wait_bot_messages(page, replies + 1)[-1]
    for _ in range(MAX_TURNS):
        if filed_number(page):
            break
        replies = len(texts(page, "bot"))
        answer = answer_for(reply)
        if answer.isdigit():
            choose_by_keyboard(page, int(answer))
            assert focused_id(page) == "pesan"
        else:
            page.keyboard.type(answer)
            page.keyboard.press("Enter")
        reply = wait_bot_messages(page, replies + 1)[-1]

    number = filed_number(page)
    assert number, texts(page)
    assert report(web_stack, number).channel == "web"


def test_a_conversation_continues_where_it_was_after_the_gateway_restarts(page, web_stack):
    open_chat(page, web_stack["url"])
    reply = say_and_wait(page, STORY)
    assert "Siapa yang boleh melihat" in reply
    before = texts(page)

    web_stack["servers"].restart(2, ready_url=f"{web_stack['url']}/")  # killed and started again
    page.wait_for_function("() => window.sapalapor.connections() >= 2", timeout=60_000)  # it reconnected
    for _ in range(MAX_TURNS):
        if filed_number(page):
            break
        reply = say_and_wait(page, answer_for(texts(page, "bot")[-1]))

    assert texts(page)[:len(before)] == before
    assert filed_number(page), texts(page)
    bot = texts(page, "bot")
    assert len(bot) == len(set(bot)) == len(texts(page, "me"))  # nothing lost, nothing twice
