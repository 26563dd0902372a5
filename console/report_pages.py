"""The report queue and a report's page: history, routing, attachments, ratings, and actions.

Each status change goes through ``storage.lifecycle.change_status`` exactly as the
``report-status`` command does, so the citizen is told by their channel's notification loop in
the gateway; a changed category or agency is stored as a routing correction
(``storage.routing.corrections``) that ``retrain-categories`` learns from. A report an agency
officer may not see answers 404, the same as one that does not exist: the URL reveals nothing.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Optional

from sanic import Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request
from sqlalchemy import select

from console.page_kit import Console, Refused, flash_redirect, form_value
from console.deadlines import deadline_view
from console.report_queue import PAGE_SIZE, agencies_in_use, find_reports, parse_filters
from console.roles import ACTION_LABELS, may_correct_routing, next_statuses, sees_report
from storage.lifecycle import LifecycleError, change_status, deadlines
from storage.models import REPORT_STATUSES, SatisfactionRating
from storage.repositories import AttachmentRepository, ReportRepository
from storage.repositories.audit import AuditLog
from storage.routing.categories import CATEGORIES
from storage.routing.corrections import record_correction

PRIVACY_LABELS = {
    "biasa": "Biasa: isi laporan terbuka untuk umum",
    "rahasia": "Rahasia: isi laporan hanya untuk petugas",
    "anonim": "Anonim: identitas pelapor tidak disimpan",
}
TYPE_LABELS = {"pengaduan": "Pengaduan", "aspirasi": "Aspirasi", "permintaan_informasi": "Permintaan informasi"}
CHANNEL_LABELS = {"telegram": "Telegram", "sms": "SMS", "whatsapp": "WhatsApp", "rest": "Obrolan lokal",
                  "web": "Obrolan web"}


def _row(report) -> dict:
    deadline = deadline_view(report)
    return {"tracking_number": report.tracking_number, "title": report.title, "status": report.status,
            "category": CATEGORIES.get(report.category_code or "", "-"), "region": report.region_name or "-",
            "agency": report.agency or "-", "created_at": report.created_at, "deadline": deadline,
            "type": TYPE_LABELS.get(report.report_type, report.report_type)}


def _detail(session, report, account) -> dict:
    due = deadlines(report)
    ratings = session.execute(select(SatisfactionRating).where(SatisfactionRating.report_id == report.id)
                              .order_by(SatisfactionRating.id)).scalars()
    routing = report.routing
    anonymous = report.privacy == "anonim"
    return {
        "report": {
            "tracking_number": report.tracking_number, "title": report.title, "description": report.description,
            "type": TYPE_LABELS.get(report.report_type, report.report_type), "status": report.status,
            "location": report.location_text, "region": report.region_name, "region_code": report.region_code,
            "incident_date": report.incident_date, "approximate": report.incident_date_approximate,
            "privacy": report.privacy, "privacy_label": PRIVACY_LABELS.get(report.privacy, report.privacy),
            "anonymous": anonymous,
            # The channel says how the citizen will be told; never who they are or their number.
            "channel": None if anonymous else CHANNEL_LABELS.get(report.channel, report.channel),
            "event_code": report.event_code, "category_code": report.category_code,
            "category": CATEGORIES.get(report.category_code or "", "belum ada"), "agency": report.agency,
            "created_at": report.created_at,
        },
        "history": [{"status": change.status, "note": change.note, "agency": change.agency,
                     "by": change.changed_by, "at": change.changed_at, "notified_at": change.notified_at}
                    for change in sorted(report.history, key=lambda change: change.id)],
        "routing": None if routing is None else {
            "category": CATEGORIES.get(routing.category_code, routing.category_code),
            "confidence": routing.category_confidence, "agency": routing.agency, "reason": routing.reason,
            "region_code": routing.region_code},
        "attachments": [{"id": item.id, "kind": item.kind, "name": item.file_name or f"lampiran-{item.id}",
                         "size_kb": max(1, item.size_bytes // 1024), "media_type": item.media_type}
                        for item in AttachmentRepository(session).for_report(report.id)],
        "ratings": [{"stage": rating.stage, "score": rating.score, "at": rating.created_at} for rating in ratings],
        "deadline": deadline_view(report), "due": due,
        "actions": [(status, ACTION_LABELS[status]) for status in next_statuses(account, report)],
        "may_correct": may_correct_routing(account),
    }


def register(app: Sanic, console: Console) -> None:

    def visible_report(session, tracking_number: str, account):
        report = ReportRepository(session).by_tracking_number(tracking_number)
        if report is None or not sees_report(account, report):
            return None
        return report

    @app.get("/laporan")
    async def queue(request: Request):
        account = await console.require(request, "reports")
        filters = parse_filters({key: request.args.get(key) for key in request.args})

        def load(session):
            reports, total = find_reports(session, filters, account)
            return [_row(report) for report in reports], total, agencies_in_use(session)
        rows, total, agencies = await console.read(load)
        query = "&".join(f"{key}={value}" for key, value in request.query_args if key != "halaman")
        return console.render(request, "reports.html", title="Antrean laporan", rows=rows, total=total,
                              filters=filters, statuses=REPORT_STATUSES, categories=CATEGORIES,
                              agencies=agencies, page_size=PAGE_SIZE, query=query,
                              agency_locked=account.role == "agency_officer")

    @app.get("/laporan/<tracking_number>")
    async def detail(request: Request, tracking_number: str):
        account = await console.require(request, "reports")

        def load(session):
            report = visible_report(session, tracking_number, account)
            return None if report is None else (_detail(session, report, account), agencies_in_use(session))
        found = await console.read(load)
        if found is None:
            await console.audit(request, "report_not_shown", tracking_number)
            raise NotFound("no such report for this account")
        view, agencies = found
        await console.audit(request, "report_opened", tracking_number)
        return console.render(request, "report.html", title=f"Laporan {tracking_number}", categories=CATEGORIES,
                              agencies=agencies, **view)

    @app.post("/laporan/<tracking_number>/status")
    async def move(request: Request, tracking_number: str):
        account = await console.require(request, "reports")
        status = form_value(request, "status", 20)
        note = form_value(request, "note") or None
        agency = form_value(request, "agency", 200) or None

        def work(session) -> Optional[str]:
            report = visible_report(session, tracking_number, account)
            if report is None:
                return "missing"
            if status not in next_statuses(account, report):
                return "refused"
            change_status(session, tracking_number, status, note=note,
                          agency=agency if status == "diteruskan" else None, changed_by=account.username)
            AuditLog(session).record(account.username, "status_changed", tracking_number,
                                     f"{status}" + (f" ({agency})" if status == "diteruskan" and agency else ""))
            return None
        try:
            problem = await console.write(work)
        except LifecycleError as error:
            return flash_redirect(f"/laporan/{tracking_number}", f"Status tidak diubah: {error}")
        if problem == "missing":
            raise NotFound("no such report for this account")
        if problem == "refused":
            await console.audit(request, "refused", tracking_number, f"status {status}")
            raise Refused("Perubahan status ini tidak boleh Anda lakukan.")
        return flash_redirect(f"/laporan/{tracking_number}",
                              f"Status diubah menjadi {status.replace('_', ' ')}. Pelapor akan diberi tahu.")

    @app.post("/laporan/<tracking_number>/rute")
    async def correct(request: Request, tracking_number: str):
        account = await console.require(request, "reports")
        if not may_correct_routing(account):
            await console.audit(request, "refused", tracking_number, "routing correction")
            raise Refused("Hanya operator yang boleh mengubah kategori dan instansi.")
        category = form_value(request, "category", 40) or None
        agency = form_value(request, "agency", 200) or None

        def work(session):
            report = visible_report(session, tracking_number, account)
            if report is None:
                return "missing"
            correction = record_correction(session, report, category=category, agency=agency,
                                           corrected_by=account.username)
            if correction is None:
                return "same"
            AuditLog(session).record(account.username, "routing_corrected", tracking_number,
                                     f"category {correction.old_category or '-'} -> {correction.new_category or '-'}; "
                                     f"agency {correction.old_agency or '-'} -> {correction.new_agency or '-'}")
            return "saved"
        try:
            outcome = await console.write(work)
        except ValueError as error:
            return flash_redirect(f"/laporan/{tracking_number}", f"Tidak disimpan: {error}")
        if outcome == "missing":
            raise NotFound("no such report for this account")
        message = ("Kategori/instansi disimpan sebagai koreksi untuk pelatihan ulang." if outcome == "saved"
                   else "Tidak ada yang berubah.")
        return flash_redirect(f"/laporan/{tracking_number}", message)

    @app.get("/laporan/<tracking_number>/lampiran/<attachment_id:int>")
    async def attachment(request: Request, tracking_number: str, attachment_id: int):
        account = await console.require(request, "reports")

        def load(session):
            report = visible_report(session, tracking_number, account)
            if report is None:
                return None
            for item in AttachmentRepository(session).for_report(report.id):
                if item.id == attachment_id:
                    return item.storage_path, item.media_type, item.file_name
            return None
        found = await console.read(load)
        if found is None or not Path(found[0]).is_file():
            raise NotFound("no such attachment")
        path, media_type, file_name = found
        await console.audit(request, "attachment_opened", tracking_number, str(attachment_id))
        name = file_name or f"lampiran-{attachment_id}{mimetypes.guess_extension(media_type) or ''}"
        return await response.file(path, mime_type=media_type,
                                   headers={"Content-Disposition": f'attachment; filename="{_safe(name)}"'})


def _safe(name: str) -> str:
    return "".join(ch for ch in name if ch.isalnum() or ch in "._-")[:100] or "lampiran"
