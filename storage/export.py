"""Reports as rows for LAPOR! and for agencies: JSON Lines and CSV, with privacy that holds.

Why these rules, enforced here rather than by callers (issue 5, FACTS.md "Anonim"/"Rahasia"):

* ``rahasia`` reports never appear in an export: the whole report is not public.
* ``anonim`` reports have no reporter at all, so they can never carry contact data.
* Addresses and chat ids are exported only when the operator asks for the contact field
  explicitly (``include_contact=True``) and only for reports that are not anonim.
* Citizens type phone numbers, e-mail addresses and NIK into descriptions; those are masked in
  ``judul``/``isi`` with ``lokal``'s PII detector, and for anonim reports personal names too,
  so free text does not undo the privacy choice.

Field names are LAPOR!'s form fields (``FIELDS``), so a row maps one-to-one onto their form.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import IO, Dict, Iterable, List, Optional

from sqlalchemy.orm import Session

from storage.models import Report
from storage.repositories.reports import ReportRepository
from storage.routing.categories import CATEGORIES

FIELDS = (
    "nomor_pelacakan",
    "jenis_laporan",
    "judul",
    "isi",
    "tanggal_kejadian",
    "lokasi",
    "kode_wilayah",
    "instansi_tujuan",
    "kategori",
    "lampiran",
    "anonim",
    "rahasia",
    "status",
    "dibuat",
)
CONTACT_FIELD = "kontak"
FORMATS = ("jsonl", "csv")

# Identifiers masked in free text for every export; names too for anonim reports.
_ALWAYS_MASKED = ("PHONE", "EMAIL", "NIK", "KK", "NPWP", "PASSPORT", "BANK_ACCOUNT", "CARD")


@dataclass(frozen=True)
class ExportFilter:
    status: Optional[str] = None
    agency: Optional[str] = None
    region_code: Optional[str] = None
    since: Optional[dt.datetime] = None   # created_at >= since (naive UTC)
    until: Optional[dt.datetime] = None   # created_at < until


def mask_text(text: str, anonymous: bool) -> str:
    from lokal import mask_pii

    types = _ALWAYS_MASKED + (("NAME",) if anonymous else ())
    return mask_pii(text or "", types=types).text


def _attachments(report: Report) -> List[Dict[str, str]]:
    return [
        {"jenis": a.kind, "tipe": a.media_type, "nama": a.file_name or "", "sha256": a.sha256}
        for a in sorted(report.attachments, key=lambda a: a.id)
    ]


def report_row(report: Report, include_contact: bool = False) -> Dict[str, object]:
    """One report in the export schema; raises for a rahasia report (it must not be exported)."""
    if report.privacy == "rahasia":
        raise ValueError(f"report {report.tracking_number} is rahasia and must not be exported")
    return _row(report, include_contact)


def forwarding_row(report: Report) -> Dict[str, object]:
    """The row sent to LAPOR! itself by the outbox: rahasia reports go too, flagged, no contact.

    Not an export: LAPOR!'s verifiers must handle confidential reports; they are the ones who
    keep them out of public view.
    """
    return _row(report, include_contact=False)


def _row(report: Report, include_contact: bool) -> Dict[str, object]:
    anonymous = report.privacy == "anonim"
    row: Dict[str, object] = {
        "nomor_pelacakan": report.tracking_number,
        "jenis_laporan": report.report_type,
        "judul": mask_text(report.title, anonymous),
        "isi": mask_text(report.description, anonymous),
        "tanggal_kejadian": report.incident_date.isoformat() if report.incident_date else None,
        "lokasi": report.region_name or mask_text(report.location_text, anonymous=False),
        "kode_wilayah": report.region_code,
        "instansi_tujuan": report.agency,
        "kategori": CATEGORIES.get(report.category_code or "", None),
        "lampiran": _attachments(report),
        "anonim": anonymous,
        "rahasia": report.privacy == "rahasia",
        "status": report.status,
        "dibuat": report.created_at.replace(microsecond=0).isoformat() + "Z",
    }
    if include_contact:
        reporter = None if anonymous else report.reporter
        row[CONTACT_FIELD] = (f"{reporter.channel}:{reporter.address}"
                              if reporter is not None and reporter.address else None)
    return row


def export_rows(session: Session, filters: ExportFilter = ExportFilter(),
                include_contact: bool = False) -> List[Dict[str, object]]:
    """Rows for every exportable report matching ``filters``, oldest first."""
    reports = ReportRepository(session).list(
        status=filters.status, agency=filters.agency, region_code=filters.region_code,
        since=filters.since, until=filters.until,
    )
    return [report_row(report, include_contact) for report in reports if report.privacy != "rahasia"]


def _columns(include_contact: bool) -> List[str]:
    return list(FIELDS) + ([CONTACT_FIELD] if include_contact else [])


def write_jsonl(rows: Iterable[Dict[str, object]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, list):
        return "; ".join(f"{item['jenis']}:{item['nama'] or item['sha256'][:12]}" for item in value)
    return str(value)


def write_csv(rows: Iterable[Dict[str, object]], out: IO[str], include_contact: bool = False) -> int:
    rows = list(rows)
    writer = csv.writer(out)
    columns = _columns(include_contact)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(column)) for column in columns])
    return len(rows)


def render(rows: List[Dict[str, object]], fmt: str, include_contact: bool = False) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {FORMATS}")
    buffer = io.StringIO()
    if fmt == "jsonl":
        write_jsonl(rows, buffer)
    else:
        write_csv(rows, buffer, include_contact)
    return buffer.getvalue()


def parse_bound(text: Optional[str], end: bool = False) -> Optional[dt.datetime]:
    """``2026-11-01`` or an ISO timestamp; a bare date as ``until`` includes that whole day."""
    if not text:
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time())
            return moment + dt.timedelta(days=1) if end else moment
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO timestamp") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment
