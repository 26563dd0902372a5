"""Talking to a running Rasa server through its REST channel, as a chat client would."""
from __future__ import annotations

import json
import urllib.request
from typing import Any, Dict, List, Optional


def say(rasa_url: str, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None,
        timeout: float = 60.0) -> List[Dict[str, Any]]:
    """Send one user message; return the bot messages (text, buttons, ...) it answered with."""
    body: Dict[str, Any] = {"sender": sender, "message": text}
    if metadata:
        body["metadata"] = metadata
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(message.get("text", "") for message in messages if message.get("text"))


def tracker(rasa_url: str, sender: str) -> Dict[str, Any]:
    with urllib.request.urlopen(f"{rasa_url}/conversations/{sender}/tracker", timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))
