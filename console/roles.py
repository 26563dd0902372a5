"""Who may do what in the console: the one place that decides it.

Least privilege (UU 27/2022): each role reaches only the pages its work needs. No role sees a
citizen's phone number or chat id: replies and notifications go through the gateway, so
nobody in the console needs the address. An agency officer sees only reports routed to their
agency, and may move them only along the agency's part of the lifecycle.
"""
from __future__ import annotations

from typing import FrozenSet, List

from storage.lifecycle import allowed_next
from storage.models import Report, StaffAccount

ROLE_LABELS = {
    "operator": "Operator (verifikator)",
    "agency_officer": "Petugas instansi",
    "facilitator": "Fasilitator sosialisasi",
    "administrator": "Administrator",
}
# page -> roles that may open it
PAGES = {
    "reports": frozenset({"operator", "agency_officer"}),
    "handovers": frozenset({"operator"}),
    "outreach": frozenset({"facilitator"}),
    "accounts": frozenset({"administrator"}),
    "audit": frozenset({"administrator"}),
}
HOME = {"operator": "/laporan", "agency_officer": "/laporan", "facilitator": "/kegiatan", "administrator": "/akun"}
# The part of the lifecycle an agency runs once a report reached it.
AGENCY_STATUSES: FrozenSet[str] = frozenset({"ditindaklanjuti", "selesai", "bukan_wewenang"})

STATUS_LABELS = {
    "diterima": "Diterima",
    "diverifikasi": "Diverifikasi",
    "diteruskan": "Diteruskan ke instansi",
    "ditindaklanjuti": "Ditindaklanjuti",
    "selesai": "Selesai",
    "ditunda": "Ditunda",
    "bukan_wewenang": "Bukan wewenang",
    "diarsipkan": "Diarsipkan",
}
ACTION_LABELS = {
    "diverifikasi": "Verifikasi",
    "diteruskan": "Teruskan ke instansi",
    "ditindaklanjuti": "Tandai sedang ditindaklanjuti",
    "selesai": "Tutup: selesai ditangani",
    "ditunda": "Tunda",
    "bukan_wewenang": "Bukan wewenang",
    "diarsipkan": "Arsipkan",
}
ACTION_ORDER = ("diverifikasi", "diteruskan", "ditindaklanjuti", "selesai", "ditunda", "bukan_wewenang", "diarsipkan")


def may_open(account: StaffAccount, page: str) -> bool:
    return account.active and account.role in PAGES[page]


def sees_report(account: StaffAccount, report: Report) -> bool:
    if not may_open(account, "reports"):
        return False
    if account.role == "agency_officer":
        return bool(account.agency) and report.agency == account.agency
    return True


def next_statuses(account: StaffAccount, report: Report) -> List[str]:
    """The transitions this person may make now, in the order the page offers them."""
    if not sees_report(account, report):
        return []
    allowed = allowed_next(report.status)
    if account.role == "agency_officer":
        allowed = allowed & AGENCY_STATUSES
    return [status for status in ACTION_ORDER if status in allowed]


def may_correct_routing(account: StaffAccount) -> bool:
    return account.active and account.role == "operator"
