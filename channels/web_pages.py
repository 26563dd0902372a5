"""The web chat page: one Jinja2 template, a script and a style sheet, served by the gateway.

Routes: ``/web/`` (the chat anyone can open), ``/web/kiosk/<event code>`` (a shared device at an
outreach event: the event preset, "Mulai baru", and a reset after a quiet period),
``/web/static/<file>``, and ``/web/kiosk-warning.ogg`` (the spoken warning before a kiosk resets,
made by the project's text-to-speech, so it sounds like the assistant's other voice replies).

Why server-rendered: the page works before any script runs (the form and its labels are HTML),
and every word a citizen reads comes from one place (:data:`TEXTS`, Indonesian, simple).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Blueprint, response
from sanic.request import Request

from storage.event_codes import looks_like_code

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).with_name("web_page")
# What the page says to a citizen; read out by screen readers, so short and plain.
KIOSK_WARNING = ("Apakah Anda masih di sini? Jika tidak ada jawaban, percakapan ini kami akhiri. "
                 "Layar lalu dibersihkan untuk orang berikutnya.")
UNKNOWN_EVENT = "Kode acara ini tidak kami kenal. Periksa lagi kodenya, atau tanyakan kepada petugas."

_templates = Environment(loader=FileSystemLoader(str(PAGE_DIR / "templates")),
                         autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def page_context(connector: Any, mode: str, event_code: Optional[str]) -> Dict[str, Any]:
    """What the template needs; pure, so a test can render the page without a server."""
    return {
        "mode": mode,
        "event_code": event_code or "",
        "socket_path": "/webhooks/web/socket",
        "quiet_seconds": int(connector.kiosk_quiet_seconds),
        "warning_seconds": int(connector.kiosk_warning_seconds),
        "kiosk_warning": KIOSK_WARNING,
    }


def render_page(context: Dict[str, Any]) -> str:
    return _templates.get_template("chat.html").render(**context)


def page_blueprint(connector: Any) -> Blueprint:
    blueprint = Blueprint(f"web_page_{id(connector)}", url_prefix="/web")
    blueprint.static("/static", str(PAGE_DIR / "static"), name="web_static")
    warning_voice: Dict[str, bytes] = {}

    def html(body: str, status: int = 200):
        return response.html(body, status=status, headers={
            # The page runs only its own files; nothing is framed or fetched from elsewhere.
            "Content-Security-Policy": ("default-src 'self'; img-src 'self' data: blob: https:; "
                                        "media-src 'self' blob: data:; connect-src 'self' ws: wss:; "
                                        "frame-ancestors 'none'"),
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        })

    @blueprint.route("/", methods=["GET"])
    async def chat(_request: Request):
        return html(render_page(page_context(connector, "chat", None)))

    @blueprint.route("/kiosk/<code>", methods=["GET"])
    async def kiosk(_request: Request, code: str):
        known = await connector._known_event(code) if looks_like_code(code) else None
        if known is None:
            context = page_context(connector, "unknown_event", None)
            context["problem"] = UNKNOWN_EVENT
            return html(render_page(context), status=404)
        return html(render_page(page_context(connector, "kiosk", known)))

    @blueprint.route("/kiosk-warning.ogg", methods=["GET"])
    async def kiosk_warning(_request: Request):
        if "ogg" not in warning_voice:
            try:
                warning_voice["ogg"] = await connector.conversation.layer.text_to_speech().voice_note(KIOSK_WARNING)
            except Exception:  # noqa: BLE001 - the warning is shown in text too
                log.exception("no voice for the kiosk warning")
                return response.empty(status=503)
        return response.raw(warning_voice["ogg"], content_type="audio/ogg",
                            headers={"Cache-Control": "public, max-age=86400"})

    return blueprint
