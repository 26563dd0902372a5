"""Operators' corrections of a report's category or agency, kept to learn from.

Why a table of its own: the report itself only holds the latest decision, and the status
history records agencies but not categories. A correction keeps the text as the citizen wrote
it with the suggestion that was wrong and the operator's answer, so ``retrain`` can teach the
category model this deployment's conventions, and agency corrections show where the routing
table (``agencies.yml``) needs a local rule.
"""
from __future__ import annotations

from collections import Counter
from typing import List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Report, RoutingCorrection
from storage.routing.categories import CATEGORIES


def record_correction(session: Session, report: Report, category: Optional[str] = None,
                      agency: Optional[str] = None, corrected_by: str = "operator") -> Optional[RoutingCorrection]:
    """Set the report's category and/or agency; store a correction when either really changes.

    Returns None when nothing changed (the operator confirmed what was there). Raises
    ``ValueError`` for a category code that is not a LAPOR! category.
    """
    category = (category or "").strip() or None
    agency = (agency or "").strip() or None
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category code {category!r}; use one of {', '.join(CATEGORIES)}")
    new_category = category if category and category != report.category_code else None
    new_agency = agency if agency and agency != report.agency else None
    if new_category is None and new_agency is None:
        return None
    correction = RoutingCorrection(
        report_id=report.id,
        text=report.description,
        region_code=report.region_code,
        old_category=report.category_code if new_category else None,
        new_category=new_category,
        old_agency=report.agency if new_agency else None,
        new_agency=new_agency,
        corrected_by=corrected_by,
    )
    session.add(correction)
    if new_category:
        report.category_code = new_category
    if new_agency:
        report.agency = new_agency
    session.flush()
    return correction


def category_examples(session: Session) -> List[Tuple[str, str]]:
    """(text, category) per corrected report, the latest correction winning."""
    rows = session.execute(
        select(RoutingCorrection.report_id, RoutingCorrection.text, RoutingCorrection.new_category)
        .where(RoutingCorrection.new_category.is_not(None))
        .order_by(RoutingCorrection.id)
    ).all()
    latest = {}
    for report_id, text, code in rows:
        if code in CATEGORIES:
            latest[report_id] = (text, code)
    return list(latest.values())


def agency_changes(session: Session) -> List[Tuple[Tuple[Optional[str], Optional[str], str], int]]:
    """((kabupaten/kota code, suggested agency, chosen agency), times), most frequent first.

    What an operator reads before adding a local convention to ``agencies.yml``.
    """
    rows = session.execute(
        select(RoutingCorrection.region_code, RoutingCorrection.old_agency, RoutingCorrection.new_agency)
        .where(RoutingCorrection.new_agency.is_not(None))
    ).all()
    counts = Counter(((region or "")[:5] or None, old, new) for region, old, new in rows)
    return counts.most_common()
