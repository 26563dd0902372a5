"""The report form's side of routing (issue 5): place -> region, description -> category, filing.

Why here: ``storage.routing`` knows regions, categories and agencies but nothing about a
conversation; the form needs to turn their answers into slots and questions, and to decide when
a question is worth a turn. The rules (bot/actions/report_form.mmd):

* Place: ``resolve_region`` on the citizen's words. Unique: ``region_code``/``region_name`` are
  set and nothing is asked. Ambiguous across kabupaten/kota ("Bandung", "Kelurahan Sukajadi"):
  the citizen picks from the candidates (``region_choices``). Ambiguous *within* one
  kabupaten/kota ("Desa Sukamaju, Kabupaten Garut": three desa of that name in Garut): the
  common region is kept without asking, because agencies are chosen per kabupaten/kota and the
  question would cost a turn without changing where the report goes. Unknown: one polite re-ask
  for the kabupaten/kota, then the words are kept as they are with no region.
* Category: ``suggest_category`` on the accepted description; confident -> ``category_code`` is
  set silently; otherwise the top three in plain words plus "Tidak tahu" (``category_choices``).
  "Tidak tahu" leaves the category to the suggestion made at filing (marked for checking).
* Filing: the citizen's choices are written on the report before ``route_report`` fills what is
  still empty, so a choice is never overwritten by a guess. Routing runs in a savepoint: a
  routing failure is logged and the report stays filed (and queued for forwarding).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from storage.forwarding import enqueue
from storage.models import Report
from storage.routing.agencies import AgencyTable, load_agency_table, set_default_table, table_file
from storage.routing.categories import CATEGORIES, CategoryScore, is_confident, suggest_category, top_choices
from storage.routing.regions import AMBIGUOUS, UNIQUE, RegionMatch, RegionResolution, region_by_code
from storage.routing.suggest import route_report

log = logging.getLogger(__name__)

CATEGORY_CHOICES = 3
NO_CATEGORY_LABEL = "Tidak tahu"
NO_REGION_LABEL = "Tidak ada yang cocok"
REGION_SLOTS = ("region_code", "region_name", "region_choices")
CATEGORY_SLOTS = ("category_code", "category_choices")

# The LAPOR! names are official and long; a citizen picks from what the topic is about.
PLAIN_CATEGORY_LABELS: Dict[str, str] = {
    "pekerjaan_umum": "Jalan, jembatan, air bersih, dan bangunan umum",
    "kesehatan": "Kesehatan, puskesmas, dan rumah sakit",
    "pendidikan": "Sekolah, pendidikan, dan kebudayaan",
    "sosial": "Bantuan sosial dan kesejahteraan",
    "kependudukan": "KTP, KK, akta, dan data kependudukan",
    "lingkungan": "Sampah, pencemaran, dan lingkungan",
    "perhubungan": "Angkutan umum dan lalu lintas",
    "ketertiban": "Keamanan dan ketertiban umum",
    "ketenagakerjaan": "Pekerjaan, gaji, dan hak pekerja",
    "energi": "Listrik, BBM, dan gas elpiji",
    "tik": "Internet, sinyal, dan layanan online",
    "politik_hukum": "Hukum, pungutan liar, dan korupsi",
    "ekonomi": "Pajak, bank, dan pinjaman",
    "perlindungan_konsumen": "Hak konsumen atas barang dan jasa",
    "pertanian": "Pertanian, pupuk, dan ternak",
    "desa": "Pembangunan desa dan daerah tertinggal",
    "kesetaraan_inklusi": "Hak perempuan, anak, dan penyandang disabilitas",
    "lainnya": "Topik lainnya",
}
# For simple_language: a few everyday words each.
SIMPLE_CATEGORY_LABELS: Dict[str, str] = {
    "pekerjaan_umum": "Jalan, jembatan, dan air bersih",
    "kesehatan": "Kesehatan dan puskesmas",
    "pendidikan": "Sekolah",
    "sosial": "Bantuan sosial",
    "kependudukan": "KTP, KK, dan akta",
    "lingkungan": "Sampah dan lingkungan",
    "perhubungan": "Angkutan dan lalu lintas",
    "ketertiban": "Keamanan dan ketertiban",
    "ketenagakerjaan": "Pekerjaan dan gaji",
    "energi": "Listrik, BBM, dan gas",
    "tik": "Internet dan sinyal",
    "politik_hukum": "Hukum, pungli, dan korupsi",
    "ekonomi": "Pajak, bank, dan pinjaman",
    "perlindungan_konsumen": "Hak pembeli",
    "pertanian": "Pertanian dan ternak",
    "desa": "Pembangunan desa",
    "kesetaraan_inklusi": "Hak perempuan dan disabilitas",
    "lainnya": "Hal lain",
}
assert set(PLAIN_CATEGORY_LABELS) == set(CATEGORIES) == set(SIMPLE_CATEGORY_LABELS)


# --- place ------------------------------------------------------------------------------------


def region_slots(region: Optional[RegionMatch]) -> Dict[str, Any]:
    if region is None:
        return {"region_code": None, "region_name": None, "region_choices": None}
    return {"region_code": region.code, "region_name": region.label[:200], "region_choices": None}


def common_region(candidates: Sequence[RegionMatch]) -> Optional[RegionMatch]:
    """The deepest region holding every candidate, if that is at least one kabupaten/kota."""
    if not candidates or any(c.regency_code is None for c in candidates):
        return None
    if len({c.regency_code for c in candidates}) != 1:
        return None
    parts = [c.code.split(".") for c in candidates]
    shared: List[str] = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        shared.append(level[0])
    return region_by_code(".".join(shared)) if len(shared) >= 2 else None


def place_slots(resolution: RegionResolution) -> Optional[Dict[str, Any]]:
    """Slots for a resolved place; None when the place is unknown (the caller decides to re-ask)."""
    if resolution.status == UNIQUE:
        return region_slots(resolution.best)
    if resolution.status == AMBIGUOUS:
        shared = common_region(resolution.candidates)
        if shared is not None:
            return region_slots(shared)
        return {"region_code": None, "region_name": None,
                "region_choices": [candidate.code for candidate in resolution.candidates]}
    return None


def choice_label(region: RegionMatch) -> str:
    """A candidate as the citizen sees it; a desa also names its kecamatan (desa names repeat)."""
    if region.level == "desa":
        kecamatan = region_by_code(region.code.rsplit(".", 1)[0])
        if kecamatan is not None:
            return f"{region.name}, {kecamatan.name}, {region.regency}"
    return region.label


def region_options(codes: Sequence[str]) -> List[Dict[str, str]]:
    """[{code, label}] for the stored candidate codes, then the "none of these" option."""
    options = []
    for code in codes or ():
        region = region_by_code(code)
        if region is not None:
            options.append({"code": code, "label": choice_label(region)})
    options.append({"code": "", "label": NO_REGION_LABEL})
    return options


# --- category ---------------------------------------------------------------------------------


def category_slots(scores: Sequence[CategoryScore]) -> Dict[str, Any]:
    if is_confident(scores):
        return {"category_code": scores[0].code, "category_choices": None}
    return {"category_code": None, "category_choices": [score.code for score in top_choices(scores, CATEGORY_CHOICES)]}


def suggest_category_slots(description: str) -> Dict[str, Any]:
    """``category_slots`` for a description; nothing when the classifier fails (filing retries)."""
    try:
        return category_slots(suggest_category(description))
    except Exception:  # noqa: BLE001 - a missing model must not stop the form
        log.exception("category suggestion failed; the category is left to filing")
        return {}


def category_options(codes: Sequence[str], simple: bool) -> List[Dict[str, str]]:
    labels = SIMPLE_CATEGORY_LABELS if simple else PLAIN_CATEGORY_LABELS
    options = [{"code": code, "label": labels[code]} for code in codes or () if code in labels]
    options.append({"code": "", "label": NO_CATEGORY_LABEL})
    return options


def category_label(code: Optional[str], simple: bool) -> Optional[str]:
    labels = SIMPLE_CATEGORY_LABELS if simple else PLAIN_CATEGORY_LABELS
    return labels.get(code or "")


# --- questions --------------------------------------------------------------------------------


def numbered(options: Sequence[Dict[str, str]]) -> str:
    return "\n".join(f"{number}. {option['label']}" for number, option in enumerate(options, start=1))


def buttons(options: Sequence[Dict[str, str]], entity: str) -> List[Dict[str, str]]:
    """Buttons whose payload names the choice; the last option ("none") is a plain /deny."""
    out = []
    for option in options:
        payload = f'/affirm{{"{entity}": "{option["code"]}"}}' if option["code"] else "/deny"
        out.append({"title": option["label"], "payload": payload})
    return out


# --- filing -----------------------------------------------------------------------------------

_table_lock = threading.Lock()
_table: Optional[AgencyTable] = None


def agency_table(root: Path, configured: Optional[str]) -> AgencyTable:
    """The table named by ``routing.agencies_file`` (relative to ``root``), loaded once per process.

    Also made the default of ``storage.routing.agencies``, so every suggestion in this process
    uses the operator's table. Raises ``AgencyTableError`` for a bad file.
    """
    global _table
    with _table_lock:
        if _table is None:
            table = load_agency_table(table_file(root, configured))
            set_default_table(table)
            _table = table
        return _table


def forget_agency_table() -> None:
    global _table
    with _table_lock:
        _table = None


def apply_choices(report: Report, slots: Dict[str, Any]) -> None:
    """What the citizen chose in the form goes on the report before any suggestion."""
    if slots.get("category_code") in CATEGORIES:
        report.category_code = slots["category_code"]
    if slots.get("region_code"):
        report.region_code = slots["region_code"]
        report.region_name = (slots.get("region_name") or "")[:200] or None
    for slot, column in (("location_latitude", "latitude"), ("location_longitude", "longitude")):
        if slots.get(slot) is not None:
            setattr(report, column, float(slots[slot]))


def route_and_enqueue(session, report: Report, slots: Dict[str, Any], table: Optional[AgencyTable]) -> None:
    """Choices, routing suggestion and outbox item for a report filed in ``session``."""
    apply_choices(report, slots)
    session.flush()
    if table is not None:
        try:
            with session.begin_nested():
                route_report(session, report, table=table)
        except Exception:  # noqa: BLE001 - the report is filed; routing can be redone (bot route)
            log.exception("routing report %s failed; it is filed without a suggestion", report.tracking_number)
    enqueue(session, report)
