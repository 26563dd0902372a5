import pytest

from storage.routing.agencies import (
    DEFAULT_TABLE_FILE,
    AgencyTableError,
    load_agency_table,
    parse_agency_table,
    suggest_agency,
)
from storage.routing.categories import CATEGORIES
from storage.routing.regions import region_by_code, resolve_region


def table_text(extra_routes: str = "", keywords: str = "", skip: str = "") -> str:
    routes = "".join(
        f"  - category: {code}\n    nasional: Pusat {code}\n    provinsi: Provinsi {code} {{province_name}}\n"
        f"    kabupaten: Dinas {code} {{region_name}}\n    kota: Dinas {code} {{region_name}}\n"
        for code in CATEGORIES if code != skip
    )
    return (f"keywords:\n{keywords}" if keywords else "") + "routes:\n" + routes + extra_routes


def test_the_shipped_table_is_valid_and_routes_every_category():
    table = load_agency_table(DEFAULT_TABLE_FILE)
    kota_bandung = region_by_code("32.73")
    for code in CATEGORIES:
        assert suggest_agency(code, kota_bandung, "", table=table).agency


def test_a_generated_valid_table_loads():
    table = parse_agency_table(table_text())
    assert len(table.routes) == len(CATEGORIES)


@pytest.mark.parametrize("extra, keywords, skip, message", [
    ("  - category: jalan_raya\n    kota: X\n", "", "", r"line \d+: routes entry 19 \(jalan_raya\): unknown category code 'jalan_raya'"),
    ("  - category: sosial\n    region: \"32\"\n    kecamatan: X\n", "", "",
     r"line \d+: routes entry 19 \(sosial\): 'kecamatan' is not a government level"),
    ("  - category: sosial\n    region: \"32\"\n", "", "", r"routes entry 19 \(sosial\): names no agency"),
    ("  - kota: X\n", "", "", r"routes entry 19 \(no category\): missing field 'category'"),
    ("  - category: sosial\n    region: bandung\n    kota: X\n", "", "", r"region 'bandung' must be a province code"),
    ("  - category: sosial\n    region: \"32\"\n    kota: Dinas {kota_name}\n", "", "", r"unknown placeholder \{kota_name\}"),
    ("  - category: sosial\n    region: \"32\"\n    kota: \"\"\n", "", "", r"agency name is empty"),
    ("  - category: sosial\n    nasional: X\n    provinsi: X\n    kabupaten: X\n    kota: X\n", "", "",
     r"repeats the entry on line \d+"),
    ("", "", "energi", r"no route without region for category energi"),
    ("", "  - match: [pln]\n    agency: PLN\n    level: pusat\n", "", r"keywords entry 1: level 'pusat' is not one of"),
    ("", "  - match: [pln]\n    level: nasional\n", "", r"keywords entry 1: missing field 'agency'"),
    ("", "  - match: [pln]\n    agency: PLN\n    level: nasional\n    categories: [listrik]\n", "",
     r"keywords entry 1: unknown category code 'listrik'"),
    ("", "  - match: []\n    agency: PLN\n    level: nasional\n", "", r"keywords entry 1: match must be a non-empty list"),
    ("", "  - match: [pln]\n    agency: PLN\n    level: nasional\n    prioritas: 1\n", "", r"unknown field 'prioritas'"),
])
def test_a_bad_table_is_rejected_naming_the_entry_and_line(extra, keywords, skip, message):
    with pytest.raises(AgencyTableError, match=message):
        parse_agency_table(table_text(extra, keywords, skip), "agencies.yml")


def test_the_error_names_the_line_of_the_bad_entry():
    text = table_text("  - category: jalan_raya\n    kota: X\n")
    line = text.splitlines().index("  - category: jalan_raya") + 1
    with pytest.raises(AgencyTableError) as raised:
        parse_agency_table(text, "agencies.yml")
    assert str(raised.value).startswith(f"agencies.yml, line {line}:")


def test_an_entry_without_region_must_name_every_level():
    text = table_text(skip="tik") + "  - category: tik\n    kota: Diskominfo {region_name}\n"
    with pytest.raises(AgencyTableError, match="must name every level; missing nasional, provinsi, kabupaten"):
        parse_agency_table(text)


def test_broken_yaml_and_a_missing_file_are_reported(tmp_path):
    with pytest.raises(AgencyTableError, match="not valid YAML"):
        parse_agency_table("routes: [\n")
    with pytest.raises(AgencyTableError, match="cannot read"):
        load_agency_table(tmp_path / "missing.yml")


def test_kependudukan_in_a_kota_goes_to_that_kota_s_disdukcapil():
    suggestion = suggest_agency("kependudukan", region_by_code("32.73"), "KTP belum jadi")
    assert suggestion.agency == "Dinas Kependudukan dan Pencatatan Sipil Kota Bandung"
    assert suggestion.level == "kota"
    assert "Kota Bandung" in suggestion.reason


def test_a_kecamatan_is_routed_to_its_kabupaten():
    suggestion = suggest_agency("pekerjaan_umum", resolve_region("kec cibadak kab sukabumi").best, "jalan rusak")
    assert suggestion.agency == "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Sukabumi"
    assert suggestion.level == "kabupaten"


def test_a_region_specific_entry_wins_over_the_default():
    suggestion = suggest_agency("kependudukan", region_by_code("31.74"), "akta kelahiran")
    assert suggestion.agency == "Suku Dinas Kependudukan dan Pencatatan Sipil Kota Administrasi Jakarta Selatan"
    assert "31" in suggestion.reason


def test_a_province_goes_to_the_provincial_agency_and_no_region_to_the_ministry():
    assert suggest_agency("kesehatan", region_by_code("32"), "").agency == "Dinas Kesehatan Provinsi Jawa Barat"
    national = suggest_agency("kesehatan", None, "")
    assert (national.agency, national.level) == ("Kementerian Kesehatan", "nasional")
    assert "wilayah belum diketahui" in national.reason


@pytest.mark.parametrize("category, text, agency", [
    ("kesehatan", "kartu BPJS saya nonaktif", "BPJS Kesehatan"),
    ("ketenagakerjaan", "perusahaan tidak mendaftarkan BPJS", "BPJS Ketenagakerjaan"),
    ("ketenagakerjaan", "pencairan JHT lama sekali", "BPJS Ketenagakerjaan"),
    ("energi", "listrik PLN padam terus", "PT PLN (Persero)"),
    ("energi", "elpiji 3 kg langka", "PT Pertamina (Persero)"),
    ("sosial", "bansos PKH ibu saya dipotong", "Kementerian Sosial"),
    ("politik_hukum", "bikin SIM dipersulit", "Kepolisian Negara Republik Indonesia (Polri)"),
    ("perhubungan", "STNK belum jadi", "Kepolisian Negara Republik Indonesia (Polri)"),
])
def test_national_programmes_go_to_the_national_body(category, text, agency):
    suggestion = suggest_agency(category, region_by_code("32.73"), text)
    assert (suggestion.agency, suggestion.level) == (agency, "nasional")
    assert "nasional" in suggestion.reason


def test_a_keyword_must_be_a_whole_word():
    # "simpang" contains "sim" but is not about a driving licence
    suggestion = suggest_agency("perhubungan", region_by_code("32.73"), "lampu merah di simpang lima mati")
    assert suggestion.agency == "Dinas Perhubungan Kota Bandung"


def test_pdam_goes_to_the_local_water_company_when_the_place_is_known():
    suggestion = suggest_agency("pekerjaan_umum", region_by_code("32.04"), "air PDAM mati")
    assert suggestion.agency == "Perusahaan Umum Daerah Air Minum Kabupaten Bandung"
    unknown_place = suggest_agency("pekerjaan_umum", None, "air PDAM mati")
    assert unknown_place.agency == "Kementerian Pekerjaan Umum"


def test_an_unknown_category_code_is_refused():
    with pytest.raises(ValueError):
        suggest_agency("jalan", None, "")


TOPICS = """topics:
  - name: penerangan_jalan
    match: [pju, lampu jalan]
  - name: pohon
    match: [perantingan, pemangkasan pohon]
"""
KEMENSOS = "  - id: kemensos\n    match: [pkh, dtks]\n    agency: Kementerian Sosial\n    level: nasional\n"


def local_table(local: str) -> str:
    return TOPICS + table_text(keywords=KEMENSOS) + "local:\n" + local


CONVENTIONS = local_table("""  - region: "35"
    topics:
      pohon: Dinas Lingkungan Hidup {region_name}
  - region: "35.78"
    topics:
      penerangan_jalan: Dinas Perhubungan {region_name}
      pohon: Dinas Sumber Daya Air dan Bina Marga {region_name}
    handles: [kemensos]
""")


@pytest.mark.parametrize("place, category, text, agency", [
    ("35.78", "pekerjaan_umum", "lampu PJU di gang kami mati", "Dinas Perhubungan Kota Surabaya"),
    ("35.78.15", "energi", "lampu jalan depan masjid mati", "Dinas Perhubungan Kota Surabaya"),
    ("35.73", "pekerjaan_umum", "lampu PJU di gang kami mati", "Dinas pekerjaan_umum Kota Malang"),
    ("35.73", "energi", "mohon perantingan pohon dekat kabel", "Dinas Lingkungan Hidup Kota Malang"),
    ("35.78", "energi", "mohon perantingan pohon dekat kabel", "Dinas Sumber Daya Air dan Bina Marga Kota Surabaya"),
    ("32.73", "energi", "mohon perantingan pohon dekat kabel", "Dinas energi Kota Bandung"),
])
def test_a_region_gives_a_topic_to_its_own_office_inherited_downward_the_most_specific_winning(
        place, category, text, agency):
    suggestion = suggest_agency(category, region_by_code(place), text, table=parse_agency_table(CONVENTIONS))
    assert suggestion.agency == agency


def test_a_national_programme_goes_to_the_region_s_own_office_where_the_region_handles_it():
    table = parse_agency_table(CONVENTIONS)
    handled = suggest_agency("sosial", region_by_code("35.78.15"), "nama ibu saya hilang dari DTKS", table=table)
    assert handled.agency == "Dinas sosial Kota Surabaya"
    assert "ditangani sendiri" in handled.reason
    elsewhere = suggest_agency("sosial", region_by_code("35.73"), "nama ibu saya hilang dari DTKS", table=table)
    assert (elsewhere.agency, elsewhere.level) == ("Kementerian Sosial", "nasional")


@pytest.mark.parametrize("local, message", [
    ('  - region: "35.78"\n    topics:\n      sampah: Dinas X\n', r"local entry 1 \(region 35.78\): unknown topic 'sampah'"),
    ('  - region: "35.78"\n    handles: [bpjs]\n', r"handles unknown keyword rule 'bpjs' \(ids: kemensos\)"),
    ('  - region: "35.99"\n    handles: [kemensos]\n', r"region '35.99' is not a Kemendagri province or kabupaten/kota"),
    ('  - region: surabaya\n    handles: [kemensos]\n', r"region 'surabaya' must be a province code"),
    ('  - region: "35.78"\n', r"names no topic and handles no programme"),
    ('  - region: "35.78"\n    handles: [kemensos]\n  - region: "35.78"\n    handles: [kemensos]\n',
     r"local entry for region 35.78 repeats the one on line \d+"),
    ('  - region: "35.78"\n    kantor: X\n', r"unknown field 'kantor'"),
    ('  - region: "35.78"\n    topics:\n      pohon: Dinas {kota}\n', r"unknown placeholder \{kota\}"),
])
def test_a_bad_local_convention_is_rejected_naming_the_entry_and_line(local, message):
    with pytest.raises(AgencyTableError, match=message):
        parse_agency_table(local_table(local), "agencies.yml")


def test_topic_and_keyword_ids_are_checked_too():
    with pytest.raises(AgencyTableError, match="topic 'pohon' repeats"):
        parse_agency_table(TOPICS + "  - name: pohon\n    match: [pohon]\n" + table_text())
    with pytest.raises(AgencyTableError, match="name 'Pohon Besar' must be lower-case"):
        parse_agency_table("topics:\n  - name: Pohon Besar\n    match: [pohon]\n" + table_text())
    with pytest.raises(AgencyTableError, match="keyword id 'kemensos' repeats"):
        parse_agency_table(table_text(keywords=KEMENSOS + KEMENSOS))
    with pytest.raises(AgencyTableError, match=r"region '32.99' is not a Kemendagri"):
        parse_agency_table(table_text('  - category: sosial\n    region: "32.99"\n    kota: X\n'))
