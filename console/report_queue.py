"""The report queue: filters parsed from the page's query string, and the query they make.

``parse_filters`` is pure (a mapping of strings in, a frozen value out, bad values dropped), so
the page can show back exactly what it filtered by. ``find_reports`` applies the filters and,
for an agency officer, always their own agency: an officer cannot widen the queue by editing
the URL.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import List, Mapping, Optional, Tuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from storage.lifecycle import WIB
from storage.models import REPORT_STATUSES, Report, StaffAccount
from storage.routing.categories import CATEGORIES

PAGE_SIZE = 50
_REGION = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


@dataclass(frozen=True)
class Filters:
    status: Optional[str] = None
    category: Optional[str] = None
    region: Optional[str] = None
    agency: Optional[str] = None
    since: Optional[dt.date] = None
    until: Optional[dt.date] = None
    event: Optional[str] = None
    q: Optional[str] = None
    page: int = 1


def _date(text: str) -> Optional[dt.date]:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_filters(args: Mapping[str, str]) -> Filters:
    def get(name: str) -> Optional[str]:
        value = (args.get(name) or "").strip()
        return value or None

    status = get("status")
    category = get("kategori")
    region = get("wilayah")
    page = get("halaman") or "1"
    return Filters(
        status=status if status in REPORT_STATUSES else None,
        category=category if category in CATEGORIES else None,
        region=region if region and _REGION.match(region) else None,
        agency=(get("instansi") or "")[:200] or None,
        since=_date(get("dari") or ""),
        until=_date(get("sampai") or ""),
        event=(get("kegiatan") or "").upper()[:64] or None,
        q=(get("cari") or "")[:200] or None,
        page=max(1, int(page)) if page.isdigit() else 1,
    )


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight WIB of ``day`` as the naive UTC the database stores."""
    return dt.datetime.combine(day, dt.time()) - WIB


def find_reports(session: Session, filters: Filters, account: StaffAccount) -> Tuple[List[Report], int]:
    """The page of reports matching ``filters`` that ``account`` may see, oldest first, and the total."""
    if account.role == "agency_officer":
        filters = replace(filters, agency=account.agency or "\x00")  # no agency: nothing matches
    conditions = []
    if filters.status:
        conditions.append(Report.status == filters.status)
    if filters.category:
        conditions.append(Report.category_code == filters.category)
    if filters.region:
        conditions.append(or_(Report.region_code == filters.region,
                              Report.region_code.startswith(filters.region + ".")))
    if filters.agency:
        conditions.append(Report.agency == filters.agency)
    if filters.since:
        conditions.append(Report.created_at >= _start_of(filters.since))
    if filters.until:
        conditions.append(Report.created_at < _start_of(filters.until + dt.timedelta(days=1)))
    if filters.event:
        conditions.append(Report.event_code == filters.event)
    if filters.q:
        digits = re.sub(r"\D", "", filters.q)
        pattern = f"%{filters.q.lower()}%"
        options = [func.lower(Report.title).like(pattern), func.lower(Report.description).like(pattern),
                   func.lower(Report.location_text).like(pattern)]
        if len(digits) == 8:
            options.append(Report.tracking_number == f"{digits[:4]}-{digits[4:]}")
        conditions.append(or_(*options))
    total = session.execute(select(func.count()).select_from(Report).where(*conditions)).scalar_one()
    reports = list(session.execute(
        select(Report).where(*conditions).options(selectinload(Report.history))
        .order_by(Report.created_at, Report.id)
        .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE)
    ).scalars())
    return reports, total


def agencies_in_use(session: Session) -> List[str]:
    """Agencies reports were routed to, for the filter's choices."""
    return [row for row in session.execute(
        select(Report.agency).where(Report.agency.is_not(None)).distinct().order_by(Report.agency)).scalars()]
