"""Outreach events for facilitators: create one, print its poster, watch its figures.

The figures are the outreach report's (storage.outreach, the same as ``python -m bot
outreach-report --event CODE``): groups under five people show as "< 5", so the page, the CSV and
the charts never single anyone out. Posters and charts are written under
``<data_dir>/console/outreach/<code>/`` when asked for and served from there.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from sanic import Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request
from sqlalchemy import select

from bot.outreach.charts import write_charts
from bot.outreach.entry_points import entry_points
from bot.outreach.poster import EventDetails, write_poster
from bot.outreach.report import file_stem, write_csv
from console.page_kit import Console, flash_redirect, form_value
from storage.models import OutreachEvent, utcnow
from storage.outreach import EventError, create_event, get_event, outreach_figures
from storage.repositories.audit import AuditLog

CHART_TITLES = {
    "corong": "Corong: berapa orang sampai ke tiap langkah",
    "saluran": "Percakapan dan laporan per saluran",
    "aksesibilitas": "Pemakaian suara dan bahasa sederhana",
    "kepuasan": "Kepuasan warga",
}

# Charts are redrawn at most this often (live enough for an event; matplotlib costs about a second).
CHART_SECONDS = 30


def _event(event: OutreachEvent) -> dict:
    return {"code": event.code, "name": event.name, "place": event.place, "date": event.event_date,
            "target": event.target_group}


def _period(event: OutreachEvent) -> tuple:
    start = min(event.event_date, event.created_at.date())
    return start, max(start, utcnow().date())


def register(app: Sanic, console: Console) -> None:
    out_root = console.config.data_dir / "console" / "outreach"
    chart_locks: dict = {}

    def figures_of(code: str):
        # A committing session, not reading(): its rollback would expire figures.event for the caller.
        with console.database.session() as session:
            event = get_event(session, code)
            if event is None or event.code != code:
                return None, None
            start, end = _period(event)
            return _event(event), outreach_figures(session, start=start, end=end, event_code=event.code)

    @app.get("/kegiatan")
    async def events(request: Request):
        await console.require(request, "outreach")
        items = await console.read(lambda session: [_event(event) for event in session.execute(
            select(OutreachEvent).order_by(OutreachEvent.event_date.desc(), OutreachEvent.id.desc())).scalars()])
        return console.render(request, "events.html", title="Kegiatan sosialisasi", items=items,
                              today=utcnow().date().isoformat(), error=None, form={})

    @app.post("/kegiatan")
    async def create(request: Request):
        account = await console.require(request, "outreach")
        form = {name: form_value(request, name, 200) for name in ("name", "place", "date", "target", "code")}
        try:
            day = dt.date.fromisoformat(form["date"])
        except ValueError:
            day = None

        def work(session):
            event = create_event(session, form["name"], form["place"], day, form["target"], code=form["code"] or None)
            AuditLog(session).record(account.username, "event_created", event.code)
            return event.code
        error = None
        if day is None:
            error = "Tanggal kegiatan belum benar. Tulis seperti 2026-12-20."
        elif not all(form[name] for name in ("name", "place", "target")):
            error = "Nama kegiatan, tempat dan sasaran wajib diisi."
        else:
            try:
                code = await console.write(work)
            except EventError as problem:
                error = f"Kegiatan belum dibuat: {problem}"
        if error:
            items = await console.read(lambda session: [_event(event) for event in session.execute(
                select(OutreachEvent).order_by(OutreachEvent.event_date.desc())).scalars()])
            return console.render(request, "events.html", status=400, title="Kegiatan sosialisasi", items=items,
                                  today=utcnow().date().isoformat(), error=error, form=form)
        return flash_redirect(f"/kegiatan/{code}", "Kegiatan dibuat. Unduh posternya di bawah.")

    @app.get("/kegiatan/<code>")
    async def event_page(request: Request, code: str):
        await console.require(request, "outreach")
        event, figures = await asyncio.to_thread(figures_of, code)
        if event is None:
            raise NotFound("no such event")
        entry = entry_points(console.settings.channel_addresses, code)
        return console.render(request, "event.html", title=f"Kegiatan {event['name']}", event=event,
                              entry=entry, rows=figures.rows(), columns=list(figures.columns),
                              start=figures.start, end=figures.end, charts=CHART_TITLES)

    @app.get("/kegiatan/<code>/poster/<kind>")
    async def poster(request: Request, code: str, kind: str):
        await console.require(request, "outreach")
        if kind not in ("pdf", "png"):
            raise NotFound("posters are pdf or png")

        def make():
            with console.database.reading() as session:
                event = get_event(session, code)
                if event is None or event.code != code:
                    return None
                details = EventDetails(event.name, event.place, event.event_date, event.code)
            pdf, png = write_poster(details, entry_points(console.settings.channel_addresses, code), out_root / code)
            return pdf if kind == "pdf" else png
        path = await asyncio.to_thread(make)
        if path is None:
            raise NotFound("no such event")
        return await response.file(path, mime_type="application/pdf" if kind == "pdf" else "image/png",
                                   headers={"Content-Disposition": f'attachment; filename="poster-{code}.{kind}"'})

    @app.get("/kegiatan/<code>/csv")
    async def csv_file(request: Request, code: str):
        await console.require(request, "outreach")

        def make():
            event, figures = figures_of(code)
            return None if figures is None else write_csv(figures, out_root / code / f"{file_stem(figures)}.csv")
        path = await asyncio.to_thread(make)
        if path is None:
            raise NotFound("no such event")
        return await response.file(path, mime_type="text/csv; charset=utf-8",
                                   headers={"Content-Disposition": f'attachment; filename="{Path(path).name}"'})

    @app.get("/kegiatan/<code>/grafik/<name>")
    async def chart(request: Request, code: str, name: str):
        await console.require(request, "outreach")
        if name not in CHART_TITLES:
            raise NotFound("no such chart")

        def make():
            # The page asks for four charts at once and write_charts draws all four: draw them once
            # per CHART_SECONDS, whichever request comes first, and serve the others from disk.
            fresh = [path for path in (out_root / code).glob(f"*-{name}.png")
                     if time.time() - path.stat().st_mtime < CHART_SECONDS]
            if fresh:
                return fresh[0]
            event, figures = figures_of(code)
            if figures is None:
                return None
            for path in write_charts(figures, out_root / code, file_stem(figures)):
                if path.stem.endswith(f"-{name}"):
                    return path
            return None
        async with chart_locks.setdefault(code, asyncio.Lock()):
            path = await asyncio.to_thread(make)
        if path is None:
            raise NotFound("no such chart")
        return await response.file(path, mime_type="image/png")
