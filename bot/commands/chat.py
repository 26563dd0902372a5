"""``python -m bot chat``: talk to a running assistant from this terminal.

Uses Rasa's REST channel, so a newcomer needs no Telegram or Twilio account. Buttons are shown
as a numbered list; typing the number sends that choice, as on SMS.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Dict, List, Optional


def register(subparsers) -> None:
    parser = subparsers.add_parser("chat", help="chat with a running assistant in this terminal")
    parser.add_argument("--url", default=None, help="Rasa server URL (default: from config.yml)")
    parser.add_argument("--sender", default=None, help="conversation id (default: a new one)")
    parser.set_defaults(func=run)


def send(url: str, sender: str, text: str) -> List[Dict]:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read().decode("utf-8"))


def show(messages: List[Dict]) -> List[Dict]:
    """Print the bot's messages; return the buttons of the last message that had any."""
    buttons: List[Dict] = []
    for message in messages:
        if message.get("text"):
            print(f"\nSapaLapor: {message['text']}")
        if message.get("image"):
            print(f"  (gambar: {message['image']})")
        if message.get("buttons"):
            buttons = message["buttons"]
            for number, button in enumerate(buttons, start=1):
                print(f"  {number}. {button.get('title')}")
    return buttons


def chat_loop(url: str, sender: Optional[str] = None) -> int:
    sender = sender or f"lokal-{uuid.uuid4().hex[:12]}"
    print("Ketik pesan Anda lalu tekan Enter. Ketik angka untuk memilih tombol. Ctrl+D untuk keluar.")
    buttons = show(send(url, sender, "/greet"))
    while True:
        try:
            text = input("\nAnda: ").strip()
        except EOFError:
            print()
            return 0
        if not text:
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1].get("payload") or buttons[int(text) - 1].get("title")
        try:
            buttons = show(send(url, sender, text)) or []
        except (urllib.error.URLError, ConnectionError) as error:
            print(f"(Server tidak menjawab: {error})")


def run(args) -> int:
    url = args.url
    if url is None:
        from bot.settings import load_settings

        server = load_settings(args.config).section("server")
        url = f"http://127.0.0.1:{server.get('rasa_port', 5006, int)}"  # Rasa is on loopback
    return chat_loop(url, args.sender)
