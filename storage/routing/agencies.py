"""Which agency should act on a report, from the operator-edited table ``agencies.yml``.

Why a data file: agencies are renamed and reorganised more often than code is released, and the
people who know the right addressee are operators, not developers. Why so strict: a typo in a
category code or a level would silently send reports to nobody, so :func:`load_agency_table`
rejects the whole file with the entry and line that is wrong, and the run command calls it at
start-up. The file format is documented at the top of ``agencies.yml``.

Decision order in :func:`suggest_agency` (the reason says which one applied):

1. a local convention (``local``): the region, or a province or kabupaten/kota it lies in, gives
   a named topic (``topics``: street lights, tree pruning, ...) to a named office; the most
   specific region that names the topic wins (conventions are inherited downward);
2. a keyword rule (national programmes: BPJS, PLN, Kemensos, Polri, ...), first match wins,
   except the rules whose ``id`` the region (or a region it lies in) ``handles`` itself: there
   the programme goes by category to the region's own office; ``level: daerah`` rules need a
   known kabupaten/kota and are skipped without one;
3. the category's route for the region's government level (kabupaten or kota for anything at or
   below a kabupaten/kota, provinsi for a province), the entry with the longest matching region
   code first, then the entry without region;
4. with no region, the category's ``nasional`` agency.
"""
from __future__ import annotations

import re
import string
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from storage.routing.categories import CATEGORIES
from storage.routing.regions import RegionMatch

# The table used when config.yml names none (``routing.agencies_file``): the one shipped here.
# Its only spelling: the start-up check, the route command and the action server use table_file().
DEFAULT_TABLE_FILE = Path(__file__).resolve().parent / "agencies.yml"
LEVELS = ("nasional", "provinsi", "kabupaten", "kota")
KEYWORD_LEVELS = ("nasional", "daerah")
PLACEHOLDERS = frozenset({"region_name", "province_name"})
SECTIONS = ("topics", "keywords", "routes", "local")
_REGION_CODE = re.compile(r"^\d{2}(\.\d{2})?$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class AgencyTableError(ValueError):
    """The routing table is invalid; the message names the file, line and entry."""


@dataclass(frozen=True)
class KeywordRule:
    phrases: Tuple[str, ...]
    agency: str
    level: str
    categories: Tuple[str, ...]
    line: int
    id: Optional[str] = None   # what a region's ``handles`` refers to


@dataclass(frozen=True)
class Topic:
    """A subject recognised by words, that a region may give to a named office."""

    name: str
    phrases: Tuple[str, ...]
    categories: Tuple[str, ...]   # empty: any category
    line: int


@dataclass(frozen=True)
class LocalConvention:
    region: str                   # province or kabupaten/kota code; applies to all below it
    topics: Dict[str, str]        # topic name -> agency template
    handles: Tuple[str, ...]      # keyword rule ids this region handles itself
    line: int


@dataclass(frozen=True)
class Route:
    category: str
    region: Optional[str]
    agencies: Dict[str, str]
    line: int


@dataclass(frozen=True)
class AgencyTable:
    keywords: Tuple[KeywordRule, ...]
    routes: Tuple[Route, ...]
    source: str = ""
    topics: Tuple[Topic, ...] = ()
    local: Tuple[LocalConvention, ...] = ()


@dataclass(frozen=True)
class AgencySuggestion:
    agency: str
    level: str       # nasional | provinsi | kabupaten | kota
    reason: str      # in Indonesian, for the verifier reading the report


# --- loading and validation ------------------------------------------------------------------


def _fail(source: str, node: yaml.Node, what: str) -> AgencyTableError:
    return AgencyTableError(f"{source}, line {node.start_mark.line + 1}: {what}")


def _scalar(value: yaml.Node) -> Optional[str]:
    if isinstance(value, yaml.ScalarNode):
        return str(value.value).strip()
    return None


def _mapping(node: yaml.Node, source: str, what: str) -> Dict[str, Tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(source, node, f"{what} must be a mapping of fields")
    out: Dict[str, Tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        name = _scalar(key) or ""
        if name in out:
            raise _fail(source, key, f"{what}: field {name!r} appears twice")
        out[name] = (key, value)
    return out


def _check_template(text: str, node: yaml.Node, source: str, what: str) -> str:
    if not text:
        raise _fail(source, node, f"{what}: agency name is empty")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:
        raise _fail(source, node, f"{what}: bad template {text!r} ({error})") from None
    unknown = names - PLACEHOLDERS
    if unknown:
        raise _fail(source, node, f"{what}: unknown placeholder {{{sorted(unknown)[0]}}} in {text!r}; "
                                  f"use {{region_name}} or {{province_name}}")
    return text


def _string_list(node: yaml.Node, source: str, what: str) -> Tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise _fail(source, node, f"{what} must be a non-empty list")
    items = []
    for item in node.value:
        text = _scalar(item)
        if not text:
            raise _fail(source, item, f"{what} holds an empty or non-text item")
        items.append(text)
    return tuple(items)


def _parse_keyword(node: yaml.Node, index: int, source: str) -> KeywordRule:
    what = f"keywords entry {index + 1}"
    fields = _mapping(node, source, what)
    allowed = {"id", "match", "agency", "level", "categories"}
    for name, (key, _) in fields.items():
        if name not in allowed:
            raise _fail(source, key, f"{what}: unknown field {name!r} (allowed: {', '.join(sorted(allowed))})")
    for required in ("match", "agency", "level"):
        if required not in fields:
            raise _fail(source, node, f"{what}: missing field {required!r}")
    phrases = tuple(_normalise(p) for p in _string_list(fields["match"][1], source, f"{what}: match"))
    agency_node = fields["agency"][1]
    agency = _check_template(_scalar(agency_node) or "", agency_node, source, what)
    level_node = fields["level"][1]
    level = _scalar(level_node) or ""
    if level not in KEYWORD_LEVELS:
        raise _fail(source, level_node, f"{what}: level {level!r} is not one of {', '.join(KEYWORD_LEVELS)}")
    categories: Tuple[str, ...] = ()
    if "categories" in fields:
        categories = _string_list(fields["categories"][1], source, f"{what}: categories")
        for code in categories:
            if code not in CATEGORIES:
                raise _fail(source, fields["categories"][1], f"{what}: unknown category code {code!r}")
    rule_id = None
    if "id" in fields:
        rule_id = _scalar(fields["id"][1]) or ""
        if not _NAME.match(rule_id):
            raise _fail(source, fields["id"][1], f"{what}: id {rule_id!r} must be lower-case letters, digits and _")
    return KeywordRule(phrases, agency, level, categories, node.start_mark.line + 1, rule_id)


def _categories_field(fields, source: str, what: str) -> Tuple[str, ...]:
    if "categories" not in fields:
        return ()
    codes = _string_list(fields["categories"][1], source, f"{what}: categories")
    for code in codes:
        if code not in CATEGORIES:
            raise _fail(source, fields["categories"][1], f"{what}: unknown category code {code!r}")
    return codes


def _parse_topic(node: yaml.Node, index: int, source: str) -> Topic:
    what = f"topics entry {index + 1}"
    fields = _mapping(node, source, what)
    for name, (key, _) in fields.items():
        if name not in ("name", "match", "categories"):
            raise _fail(source, key, f"{what}: unknown field {name!r} (allowed: categories, match, name)")
    for required in ("name", "match"):
        if required not in fields:
            raise _fail(source, node, f"{what}: missing field {required!r}")
    name = _scalar(fields["name"][1]) or ""
    if not _NAME.match(name):
        raise _fail(source, fields["name"][1], f"{what}: name {name!r} must be lower-case letters, digits and _")
    phrases = tuple(_normalise(p) for p in _string_list(fields["match"][1], source, f"{what} ({name}): match"))
    return Topic(name, phrases, _categories_field(fields, source, f"{what} ({name})"), node.start_mark.line + 1)


def _region_exists(code: str) -> bool:
    from storage.routing.regions import region_by_code

    return region_by_code(code) is not None


def _parse_local(node: yaml.Node, index: int, source: str, topics: Dict[str, Topic],
                 rule_ids: Dict[str, KeywordRule]) -> LocalConvention:
    what = f"local entry {index + 1}"
    fields = _mapping(node, source, what)
    for name, (key, _) in fields.items():
        if name not in ("region", "topics", "handles"):
            raise _fail(source, key, f"{what}: unknown field {name!r} (allowed: handles, region, topics)")
    if "region" not in fields:
        raise _fail(source, node, f"{what}: missing field 'region'")
    region_node = fields["region"][1]
    region = _scalar(region_node) or ""
    if not _REGION_CODE.match(region):
        raise _fail(source, region_node, f"{what}: region {region!r} must be a province code like \"35\" "
                                         "or a kabupaten/kota code like \"35.78\"")
    if not _region_exists(region):
        raise _fail(source, region_node, f"{what}: region {region!r} is not a Kemendagri province or kabupaten/kota")
    what = f"{what} (region {region})"
    assigned: Dict[str, str] = {}
    if "topics" in fields:
        topics_node = fields["topics"][1]
        for name, (key, value) in _mapping(topics_node, source, f"{what}: topics").items():
            if name not in topics:
                known = ", ".join(sorted(topics)) or "none defined"
                raise _fail(source, key, f"{what}: unknown topic {name!r} (topics: {known})")
            assigned[name] = _check_template(_scalar(value) or "", value, source, f"{what}, topic {name}")
    handles: Tuple[str, ...] = ()
    if "handles" in fields:
        handles = _string_list(fields["handles"][1], source, f"{what}: handles")
        for rule_id in handles:
            if rule_id not in rule_ids:
                known = ", ".join(sorted(rule_ids)) or "no keyword rule has an id"
                raise _fail(source, fields["handles"][1], f"{what}: handles unknown keyword rule {rule_id!r} "
                                                          f"(ids: {known})")
    if not assigned and not handles:
        raise _fail(source, node, f"{what}: names no topic and handles no programme")
    return LocalConvention(region, assigned, handles, node.start_mark.line + 1)


def _parse_route(node: yaml.Node, index: int, source: str) -> Route:
    fields = _mapping(node, source, f"routes entry {index + 1}")
    category_node = fields.get("category", (None, None))[1]
    category = _scalar(category_node) if category_node is not None else None
    what = f"routes entry {index + 1} ({category or 'no category'})"
    if not category:
        raise _fail(source, node, f"{what}: missing field 'category'")
    if category not in CATEGORIES:
        raise _fail(source, category_node, f"{what}: unknown category code {category!r}")
    region = None
    if "region" in fields:
        region_node = fields["region"][1]
        region = _scalar(region_node) or ""
        if not _REGION_CODE.match(region):
            raise _fail(source, region_node, f"{what}: region {region!r} must be a province code like \"32\" "
                                             "or a kabupaten/kota code like \"32.04\"")
    agencies: Dict[str, str] = {}
    for name, (key, value) in fields.items():
        if name in ("category", "region"):
            continue
        if name not in LEVELS:
            raise _fail(source, key, f"{what}: {name!r} is not a government level "
                                     f"(use {', '.join(LEVELS)})")
        agencies[name] = _check_template(_scalar(value) or "", value, source, f"{what}, {name}")
    if not agencies:
        raise _fail(source, node, f"{what}: names no agency for any level")
    if region is None:
        missing = [level for level in LEVELS if level not in agencies]
        if missing:
            raise _fail(source, node, f"{what}: the entry without region must name every level; "
                                      f"missing {', '.join(missing)}")
    return Route(category, region, agencies, node.start_mark.line + 1)


def parse_agency_table(text: str, source: str = "<agencies>") -> AgencyTable:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        raise AgencyTableError(f"{source}: not valid YAML: {error}") from None
    if root is None:
        raise AgencyTableError(f"{source}: the file is empty")
    top = _mapping(root, source, "the file")
    for name, (key, _) in top.items():
        if name not in SECTIONS:
            raise _fail(source, key, f"unknown section {name!r} (allowed: {', '.join(SECTIONS)})")
    if "routes" not in top:
        raise _fail(source, root, "missing section 'routes'")
    keywords: List[KeywordRule] = []
    if "keywords" in top:
        node = top["keywords"][1]
        if not isinstance(node, yaml.SequenceNode):
            raise _fail(source, node, "'keywords' must be a list")
        keywords = [_parse_keyword(item, i, source) for i, item in enumerate(node.value)]
    rule_ids: Dict[str, KeywordRule] = {}
    for rule in keywords:
        if rule.id is None:
            continue
        if rule.id in rule_ids:
            raise AgencyTableError(f"{source}, line {rule.line}: keyword id {rule.id!r} repeats the one on line "
                                   f"{rule_ids[rule.id].line}")
        rule_ids[rule.id] = rule
    topics: Dict[str, Topic] = {}
    if "topics" in top:
        node = top["topics"][1]
        if not isinstance(node, yaml.SequenceNode):
            raise _fail(source, node, "'topics' must be a list")
        for i, item in enumerate(node.value):
            topic = _parse_topic(item, i, source)
            if topic.name in topics:
                raise AgencyTableError(f"{source}, line {topic.line}: topic {topic.name!r} repeats the one on line "
                                       f"{topics[topic.name].line}")
            topics[topic.name] = topic
    local: List[LocalConvention] = []
    if "local" in top:
        node = top["local"][1]
        if not isinstance(node, yaml.SequenceNode):
            raise _fail(source, node, "'local' must be a list")
        seen_regions: Dict[str, LocalConvention] = {}
        for i, item in enumerate(node.value):
            convention = _parse_local(item, i, source, topics, rule_ids)
            if convention.region in seen_regions:
                raise AgencyTableError(f"{source}, line {convention.line}: local entry for region "
                                       f"{convention.region} repeats the one on line "
                                       f"{seen_regions[convention.region].line}")
            seen_regions[convention.region] = convention
            local.append(convention)
    routes_node = top["routes"][1]
    if not isinstance(routes_node, yaml.SequenceNode):
        raise _fail(source, routes_node, "'routes' must be a list")
    routes = [_parse_route(item, i, source) for i, item in enumerate(routes_node.value)]
    seen: Dict[Tuple[str, Optional[str]], Route] = {}
    for route in routes:
        key = (route.category, route.region)
        if key in seen:
            raise AgencyTableError(
                f"{source}, line {route.line}: routes entry ({route.category}, region {route.region or 'none'}) "
                f"repeats the entry on line {seen[key].line}"
            )
        seen[key] = route
    missing = [code for code in CATEGORIES if (code, None) not in seen]
    if missing:
        raise AgencyTableError(f"{source}: no route without region for categor{'y' if len(missing) == 1 else 'ies'} "
                               f"{', '.join(missing)}")
    for route in routes:
        if route.region and not _region_exists(route.region):
            raise AgencyTableError(f"{source}, line {route.line}: routes entry ({route.category}): region "
                                   f"{route.region!r} is not a Kemendagri province or kabupaten/kota")
    return AgencyTable(tuple(keywords), tuple(routes), source, tuple(topics.values()), tuple(local))


def table_file(root: Path, configured: Optional[str]) -> Path:
    """The table named by ``routing.agencies_file`` (relative to ``root``), or the shipped one.

    Why one function: the start-up check, the ``route`` command and the action server must read
    the same file, or a table the check accepted is not the one reports are routed with.
    """
    if not configured:
        return DEFAULT_TABLE_FILE
    path = Path(configured)
    return path if path.is_absolute() else Path(root) / path


def load_agency_table(path: Path = DEFAULT_TABLE_FILE) -> AgencyTable:
    """Read and validate the table; raises :class:`AgencyTableError` naming entry and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AgencyTableError(f"{path}: cannot read the routing table ({error.strerror})") from None
    return parse_agency_table(text, str(path))


_lock = threading.Lock()
_default: Optional[AgencyTable] = None


def set_default_table(table: AgencyTable) -> None:
    """Called at start-up with the table named by ``routing.agencies_file``."""
    global _default
    _default = table


def default_table() -> AgencyTable:
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = load_agency_table(DEFAULT_TABLE_FILE)
    return _default


# --- suggestion ------------------------------------------------------------------------------

_NOISE = re.compile(r"[^a-z0-9 ]+")


def _normalise(text: str) -> str:
    return " ".join(_NOISE.sub(" ", (text or "").lower()).split())


def _fill(template: str, region: Optional[RegionMatch]) -> str:
    return template.format(
        region_name=(region.regency or region.name) if region else "",
        province_name=region.province if region else "",
    )


def _matching_keyword(rule: KeywordRule, text: str) -> Optional[str]:
    padded = f" {text} "
    for phrase in rule.phrases:
        if f" {phrase} " in padded:
            return phrase
    return None


def _government_level(region: Optional[RegionMatch]) -> str:
    if region is None:
        return "nasional"
    if region.level == "provinsi":
        return "provinsi"
    return region.regency_level or "kabupaten"


def _conventions_for(table: AgencyTable, region: Optional[RegionMatch]) -> List[LocalConvention]:
    """The local entries the region lies in, most specific (longest code) first."""
    if region is None:
        return []
    inside = [c for c in table.local if region.code == c.region or region.code.startswith(c.region + ".")]
    return sorted(inside, key=lambda c: len(c.region), reverse=True)


def _matching_phrase(phrases: Tuple[str, ...], text: str) -> Optional[str]:
    padded = f" {text} "
    for phrase in phrases:
        if f" {phrase} " in padded:
            return phrase
    return None


def _local_topic(table: AgencyTable, conventions: List[LocalConvention], category_code: str, words: str,
                 region: RegionMatch, level: str) -> Optional[AgencySuggestion]:
    for topic in table.topics:
        if topic.categories and category_code not in topic.categories:
            continue
        phrase = _matching_phrase(topic.phrases, words)
        if phrase is None:
            continue
        for convention in conventions:
            if topic.name in convention.topics:
                agency = _fill(convention.topics[topic.name], region)
                return AgencySuggestion(agency, level, f"Kata \"{phrase}\" ({topic.name}): di wilayah "
                                                       f"{convention.region} ditangani {agency} (aturan setempat).")
    return None


def suggest_agency(category_code: str, region: Optional[RegionMatch], text: str = "",
                   table: Optional[AgencyTable] = None) -> AgencySuggestion:
    """The agency for a report; ``region`` is the resolved place or None when it is unknown."""
    if category_code not in CATEGORIES:
        raise ValueError(f"unknown category code {category_code!r}")
    table = table or default_table()
    words = _normalise(text)
    level = _government_level(region)
    conventions = _conventions_for(table, region)
    if conventions:
        local = _local_topic(table, conventions, category_code, words, region, level)
        if local is not None:
            return local
    handled = {rule_id for convention in conventions for rule_id in convention.handles}
    note = ""
    for rule in table.keywords:
        if rule.categories and category_code not in rule.categories:
            continue
        if rule.id is not None and rule.id in handled:
            # The region runs this programme itself: its own office, by category.
            phrase = _matching_keyword(rule, words)
            if phrase and not note:
                note = f"Program \"{phrase}\" ditangani sendiri oleh daerah ini (aturan setempat). "
            continue
        phrase = _matching_keyword(rule, words)
        if phrase is None:
            continue
        if rule.level == "daerah":
            if region is None or level == "provinsi":
                continue
            agency = _fill(rule.agency, region)
            return AgencySuggestion(agency, level, f"Kata \"{phrase}\" menunjukkan layanan daerah: {agency} "
                                                   f"di {region.regency}.")
        return AgencySuggestion(rule.agency, "nasional",
                                f"Kata \"{phrase}\" menunjukkan program atau badan nasional: {rule.agency}.")
    label = CATEGORIES[category_code]
    candidates = [r for r in table.routes if r.category == category_code and level in r.agencies]
    if region is not None:
        inside = [r for r in candidates if r.region and (region.code == r.region or region.code.startswith(r.region + "."))]
        if inside:
            route = max(inside, key=lambda r: len(r.region or ""))
            agency = _fill(route.agencies[level], region)
            place = region.regency if level != "provinsi" else region.province
            return AgencySuggestion(agency, level, note + f"Kategori {label} di {place} (tingkat {level}, aturan khusus "
                                                   f"wilayah {route.region}).")
    default = next(r for r in table.routes if r.category == category_code and r.region is None)
    agency = _fill(default.agencies[level], region)
    if region is None:
        return AgencySuggestion(agency, level, note + f"Kategori {label}; wilayah belum diketahui, jadi instansi pusat.")
    place = region.regency if level != "provinsi" else region.province
    return AgencySuggestion(agency, level, note + f"Kategori {label} di {place} (tingkat {level}).")
