"""One routing suggestion for one report: category, region and agency, each with its reason.

:func:`suggest_routing` is pure (text in, suggestion out) so the batch command and the benchmark
use exactly what filing uses. :func:`route_report` stores it on a report: it fills
``models.RoutingSuggestion`` (one per report, replaced when re-routed) and the report's
``category_code``, ``agency``, ``region_code`` and ``region_name`` where they are still empty,
so a choice the citizen made in the form or an operator's decision is never overwritten.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from storage.models import Report, RoutingSuggestion
from storage.routing.agencies import AgencySuggestion, AgencyTable, suggest_agency
from storage.routing.categories import CATEGORIES, CategoryScore, get_model, top_choices
from storage.routing.regions import (
    AMBIGUOUS,
    UNIQUE,
    RegionMatch,
    RegionResolution,
    region_by_code,
    resolve_region,
)


@dataclass(frozen=True)
class RoutingResult:
    category: CategoryScore
    category_confident: bool
    region: RegionResolution
    agency: AgencySuggestion
    top_choices: Tuple[CategoryScore, ...] = ()  # what the form offers when not confident

    @property
    def region_match(self) -> Optional[RegionMatch]:
        return self.region.best if self.region.status == UNIQUE else None

    @property
    def reason(self) -> str:
        category = (f"Kategori {self.category.label} (keyakinan {self.category.confidence:.0%}"
                    f"{'' if self.category_confident else ', perlu diperiksa'}).")
        if self.region.status == UNIQUE and self.region.best:
            region = f"Wilayah {self.region.best.label} ({self.region.best.code})."
        elif self.region.status == AMBIGUOUS:
            names = "; ".join(c.label for c in self.region.candidates)
            region = f"Wilayah belum pasti, bisa: {names}."
        else:
            region = "Wilayah tidak dikenali dari lokasi yang ditulis."
        return f"{category} {region} {self.agency.reason}"


def suggest_routing(text: str, location: str, category_code: Optional[str] = None,
                    region_code: Optional[str] = None, table: Optional[AgencyTable] = None,
                    scores: Optional[Sequence[CategoryScore]] = None) -> RoutingResult:
    """Route a description and a place; a ``category_code``/``region_code`` already chosen wins.

    ``scores`` may carry the text's category scores computed in a batch (the ``route`` command).
    """
    model = get_model()  # once: the scores and the threshold must come from the same model
    scores = list(scores) if scores is not None else model.scores(text)
    if category_code:
        if category_code not in CATEGORIES:
            raise ValueError(f"unknown category code {category_code!r}")
        chosen = CategoryScore(category_code, CATEGORIES[category_code], 1.0)
        category, confident = chosen, True
    else:
        category, confident = scores[0], model.is_confident(scores)
    resolution: RegionResolution
    known = region_by_code(region_code) if region_code else None
    if known is not None:
        resolution = RegionResolution(UNIQUE, best=known, candidates=(known,), query=location or "")
    else:
        # No place written apart: look for one in the description itself.
        resolution = resolve_region(location if (location or "").strip() else text or "")
    region = resolution.best if resolution.status == UNIQUE else None
    agency = suggest_agency(category.code, region, f"{text} {location or ''}", table=table)
    return RoutingResult(category, confident, resolution, agency, tuple(top_choices(scores)))


def route_report(session, report: Report, table: Optional[AgencyTable] = None) -> RoutingSuggestion:
    """Suggest and store the routing of ``report``; the caller's session commits."""
    result = suggest_routing(report.description, report.location_text,
                             category_code=report.category_code, region_code=report.region_code, table=table)
    region = result.region_match
    suggestion = session.get(RoutingSuggestion, report.routing.id) if report.routing else None
    if suggestion is None:
        suggestion = RoutingSuggestion(report_id=report.id)
        session.add(suggestion)
        report.routing = suggestion
    suggestion.category_code = result.category.code
    suggestion.category_confidence = result.category.confidence
    suggestion.region_code = region.code if region else None
    suggestion.region_level = region.level if region else None
    suggestion.agency = result.agency.agency
    suggestion.agency_level = result.agency.level
    suggestion.reason = result.reason
    if not report.category_code:
        report.category_code = result.category.code
    if not report.agency:
        report.agency = result.agency.agency
    if region and not report.region_code:
        report.region_code = region.code
        report.region_name = region.label[:200]
    session.flush()
    return suggestion
