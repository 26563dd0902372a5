"""The handover inbox: citizens who asked for a person, and the conversation with them.

Taking a request pauses the assistant for that conversation (the gateway keeps the citizen's
messages here instead of relaying them to Rasa) and tells the citizen a person answers now;
what the officer writes is queued in storage and sent by the gateway on the citizen's channel;
"Kembalikan ke asisten" hands the conversation back with any report in progress where it was.
The page works without JavaScript (every action is a form, the page can be reloaded);
``static/live.js`` fetches new messages every few seconds and announces them (``role="log"``).
"""
from __future__ import annotations

from pathlib import Path

from sanic import Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request

from console.page_kit import Console, flash_redirect, form_value
from console.report_pages import CHANNEL_LABELS
from storage.models import HandoverMessage
from storage.repositories.audit import AuditLog
from storage.repositories.handovers import HandoverError, HandoverRepository

STATE_LABELS = {"open": "Menunggu petugas", "taken": "Sedang dilayani", "done": "Dikembalikan ke asisten"}


def _message(message: HandoverMessage) -> dict:
    if message.kind == "taken":
        text = f"{message.author} mulai melayani. Warga diberi tahu bahwa petugas yang membalas."
    elif message.kind == "returned":
        text = f"{message.author} mengembalikan percakapan ke asisten."
    else:
        text = message.body or ("(pesan suara tanpa teks)" if message.kind == "voice" else "")
    return {"id": message.id, "direction": message.direction, "kind": message.kind, "text": text,
            "author": message.author, "at": message.created_at.strftime("%H.%M"),
            "audio": message.audio_path is not None,
            "delivered": message.delivered_at is not None, "outcome": message.outcome}


def _handover(handover) -> dict:
    return {"id": handover.id, "state": handover.state, "state_label": STATE_LABELS.get(handover.state, handover.state),
            "channel": CHANNEL_LABELS.get(handover.channel, handover.channel), "reason": handover.reason,
            "taken_by": handover.taken_by, "created_at": handover.created_at,
            "report_in_progress": handover.report_in_progress, "sender_ref": handover.sender_ref}


def register(app: Sanic, console: Console) -> None:

    @app.get("/petugas")
    async def inbox(request: Request):
        await console.require(request, "handovers")
        show_done = request.args.get("semua") == "1"
        items = await console.read(lambda session: [
            _handover(handover) for handover in HandoverRepository(session).inbox(include_done=show_done)])
        for item in items:
            item.pop("sender_ref")
        return console.render(request, "handovers.html", title="Permintaan bicara dengan petugas", items=items,
                              show_done=show_done, service_hours=console.config.service_hours)

    @app.get("/petugas/<handover_id:int>")
    async def conversation(request: Request, handover_id: int):
        account = await console.require(request, "handovers")

        def load(session):
            repository = HandoverRepository(session)
            handover = repository.get(handover_id)
            if handover is None:
                return None
            return _handover(handover), [_message(message) for message in repository.messages(handover_id)]
        found = await console.read(load)
        if found is None:
            raise NotFound("no such handover")
        handover, messages = found
        # Before the handover: what the citizen and the assistant said (numbers masked).
        earlier = await _to_thread(console.transcripts.lines, handover.pop("sender_ref"))
        await console.audit(request, "handover_opened", str(handover_id))
        return console.render(request, "handover.html", title=f"Percakapan #{handover_id}", handover=handover,
                              messages=messages, earlier=earlier, mine=handover["taken_by"] == account.username,
                              last_id=messages[-1]["id"] if messages else 0)

    @app.get("/petugas/<handover_id:int>/pesan")
    async def new_messages(request: Request, handover_id: int):
        """New messages after ``setelah`` as JSON, for live.js (texts are escaped on the page)."""
        await console.require(request, "handovers")
        after = request.args.get("setelah", "0")
        after_id = int(after) if after.isdigit() else 0

        def load(session):
            repository = HandoverRepository(session)
            handover = repository.get(handover_id)
            if handover is None:
                return None
            return handover.state, [_message(message) for message in repository.messages(handover_id, after_id)]
        found = await console.read(load)
        if found is None:
            raise NotFound("no such handover")
        state, messages = found
        return response.json({"state": state, "messages": messages})

    async def act(request: Request, handover_id: int, action: str, work, done: str):
        account = await console.require(request, "handovers")

        def run(session):
            work(HandoverRepository(session), account)
            AuditLog(session).record(account.username, action, f"handover {handover_id}")
        try:
            await console.write(run)
        except HandoverError as error:
            return flash_redirect(f"/petugas/{handover_id}", f"Tidak bisa: {error}")
        return flash_redirect(f"/petugas/{handover_id}", done)

    @app.post("/petugas/<handover_id:int>/ambil")
    async def take(request: Request, handover_id: int):
        return await act(request, handover_id, "handover_taken",
                         lambda repository, staff: repository.take(handover_id, staff.username, staff.display_name),
                         "Anda melayani percakapan ini. Asisten berhenti menjawab warga ini.")

    @app.post("/petugas/<handover_id:int>/balas")
    async def reply(request: Request, handover_id: int):
        text = form_value(request, "text", 4000)
        return await act(request, handover_id, "handover_replied",
                         lambda repository, staff: repository.say(handover_id, staff.username, text),
                         "Pesan dikirim ke warga.")

    @app.post("/petugas/<handover_id:int>/kembalikan")
    async def hand_back(request: Request, handover_id: int):
        return await act(request, handover_id, "handover_returned",
                         lambda repository, staff: repository.hand_back(handover_id, staff.username),
                         "Percakapan dikembalikan ke asisten.")

    @app.get("/petugas/<handover_id:int>/suara/<message_id:int>")
    async def voice(request: Request, handover_id: int, message_id: int):
        await console.require(request, "handovers")

        def load(session):
            message = session.get(HandoverMessage, message_id)
            if message is None or message.handover_id != handover_id or not message.audio_path:
                return None
            return message.audio_path
        path = await console.read(load)
        if path is None or not Path(path).is_file():
            raise NotFound("no such voice note")
        return await response.file(path, mime_type="audio/ogg")


async def _to_thread(function, *args):
    import asyncio

    return await asyncio.to_thread(function, *args)
