"""How close a report is to LAPOR!'s deadlines, as the queue colours it.

Three levels: ``lewat`` (overdue), ``segera`` (due today or on the next working day) and
``aman``; None when no clock runs (closed, archived). The colour is never the only signal: the
page writes the level and the date too (WCAG 1.4.1).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from storage.lifecycle import clock_that_matters, format_date, local_date
from storage.models import Report, utcnow
from storage.working_days import add_working_days

LEVEL_LABELS = {"lewat": "Lewat batas", "segera": "Segera", "aman": "Masih ada waktu"}
KIND_LABELS = {"verification": "Verifikasi", "response": "Tanggapan instansi"}


@dataclass(frozen=True)
class DeadlineView:
    level: str
    kind: str  # verification|response
    due: dt.date

    @property
    def text(self) -> str:
        return f"{KIND_LABELS[self.kind]}: {LEVEL_LABELS[self.level].lower()} ({format_date(self.due)})"


def deadline_view(report: Report, today: Optional[dt.date] = None) -> Optional[DeadlineView]:
    today = today or local_date(utcnow())
    clock = clock_that_matters(report, today)
    if clock is None:
        return None
    kind, due = clock
    if kind.endswith("_overdue"):
        return DeadlineView("lewat", kind[: -len("_overdue")], due)
    level = "segera" if due <= add_working_days(today, 1) else "aman"
    return DeadlineView(level, kind, due)
