import pytest

from storage.routing.regions import region_by_code, region_from_coordinates, resolve_region

UNIQUE_CASES = [
    ("jalan rusak parah di kab bandung dekat pasar", "32.04", "kabupaten"),
    ("Kabupaten Bandung", "32.04", "kabupaten"),
    ("kab. bandung", "32.04", "kabupaten"),
    ("KOTA BANDUNG", "32.73", "kota"),
    ("kota bdg", "32.73", "kota"),
    ("Surabaya", "35.78", "kota"),
    ("sby", "35.78", "kota"),
    ("Surabya", "35.78", "kota"),
    ("Jaksel", "31.74", "kota"),
    ("jakpus", "31.71", "kota"),
    ("Jaktim", "31.75", "kota"),
    ("jakbar", "31.73", "kota"),
    ("jakut", "31.72", "kota"),
    ("Jogja", "34.71", "kota"),
    ("yogya", "34.71", "kota"),
    ("Jogjakarta", "34.71", "kota"),
    ("Mks", "73.71", "kota"),
    ("makasar", "73.71", "kota"),
    ("Plg", "16.71", "kota"),
    ("kab. bandong", "32.04", "kabupaten"),
    ("kabupaten bandung barat", "32.17", "kabupaten"),
    ("Sleman", "34.04", "kabupaten"),
    ("lampu jalan mati di depan sd 3 kota batu", "35.79", "kota"),
    ("kec. coblong kota bandung", "32.73.02", "kecamatan"),
    ("Cibiru, Bandung", "32.73.25", "kecamatan"),
    ("banjir di kecamatan pasar minggu", "31.74.04", "kecamatan"),
    ("Kel. Lowokwaru, Malang", "35.73.05.1011", "desa"),
    ("provinsi jawa barat", "32", "provinsi"),
    ("Jawa Tengah", "33", "provinsi"),
    # An exact name beats a longer span that only resembles one ("bandung jawa barat" is not
    # "bandung barat").
    ("Kota Bandung, Jawa Barat", "32.73", "kota"),
    ("kab bandung, jawa barat", "32.04", "kabupaten"),
    ("kota surabya jawa timur", "35.78", "kota"),
]


@pytest.mark.parametrize("text, code, level", UNIQUE_CASES)
def test_messy_place_names_resolve_to_one_kemendagri_code(text, code, level):
    resolution = resolve_region(text)
    assert resolution.status == "unique", resolution
    assert resolution.best.code == code
    assert resolution.best.level == level


AMBIGUOUS_CASES = [
    ("Bandung", {"32.04", "32.73"}),
    ("bdg", {"32.04", "32.73"}),
    ("rumah saya di bogor", {"32.01", "32.71"}),
    ("Smg", {"33.22", "33.74"}),
]


@pytest.mark.parametrize("text, codes", AMBIGUOUS_CASES)
def test_a_name_shared_by_a_kabupaten_and_a_kota_asks_the_user(text, codes):
    resolution = resolve_region(text)
    assert resolution.status == "ambiguous"
    assert {candidate.code for candidate in resolution.candidates} == codes
    assert resolution.best in resolution.candidates


def test_bandung_offers_both_names_to_choose_from():
    names = {candidate.name for candidate in resolve_region("Bandung").candidates}
    assert names == {"Kabupaten Bandung", "Kota Bandung"}


def test_a_kecamatan_name_in_several_places_lists_their_kabupaten():
    resolution = resolve_region("kec karanganyar")
    assert resolution.status == "ambiguous"
    assert len(resolution.candidates) == 5
    assert all(candidate.level == "kecamatan" for candidate in resolution.candidates)
    assert all(candidate.regency and candidate.regency in candidate.label for candidate in resolution.candidates)
    assert len({candidate.regency for candidate in resolution.candidates}) == 5


def test_a_kecamatan_with_its_kabupaten_is_unique():
    resolution = resolve_region("kec karanganyar kab demak")
    assert resolution.status == "unique"
    assert resolution.best.regency == "Kabupaten Demak"
    assert resolution.best.code.startswith("33.21.")


def test_the_best_match_carries_its_province_and_kabupaten():
    best = resolve_region("kec. coblong kota bandung").best
    assert (best.province, best.province_code) == ("Jawa Barat", "32")
    assert (best.regency, best.regency_code, best.regency_level) == ("Kota Bandung", "32.73", "kota")
    assert best.label == "Kecamatan Coblong, Kota Bandung, Jawa Barat"


@pytest.mark.parametrize("text", ["", "   ", "tidak tahu", "asdf qwer", "di depan rumah saya"])
def test_text_without_a_place_is_unknown(text):
    resolution = resolve_region(text)
    assert resolution.status == "unknown"
    assert resolution.best is None and resolution.candidates == ()


def test_everyday_words_that_name_a_kecamatan_are_not_taken_as_the_place():
    resolution = resolve_region("jalan di kota rusak parah, batu berserakan di mana mana")
    assert resolution.status == "unknown"


def test_a_stored_code_gives_back_the_region():
    assert region_by_code("32.04").name == "Kabupaten Bandung"
    assert region_by_code("99.99") is None


def test_coordinates_alone_cannot_be_placed_without_boundary_data():
    assert region_from_coordinates(-6.9175, 107.6191).status == "unknown"


@pytest.mark.parametrize("text", [
    "label halal di produk ternyata palsu",
    "karyawan magang dipekerjakan seperti pekerja tetap tapi tidak digaji",
    "pembangunan embung desa dari dana desa mangkrak",
    "petugas kecamatan menolak melayani rekam KTP karena sudah lewat jam 12",
    "truk pengangkut batubara tidak ditutup terpal",
])
def test_everyday_words_in_a_long_complaint_are_not_mistaken_for_a_misspelt_place(text):
    assert resolve_region(text).status == "unknown"


@pytest.mark.parametrize("text, code", [
    ("surabya jawa timur", "35.78"),
    ("jakarta selatn", "31.74"),
    ("Gunung Kidul", "34.03"),
    ("garrut", "32.05"),
])
def test_a_misspelt_or_split_name_in_a_short_answer_is_still_found(text, code):
    resolution = resolve_region(text)
    assert (resolution.status, resolution.best.code) == ("unique", code)


@pytest.mark.parametrize("text, code", [
    ("Jalan Kepanjen, Krembangan Selatan, Kota Surabaya, Jawa Timur", "35.78.15.1001"),
    ("Jl. Kepanjen No. 7, Kota Surabaya", "35.78"),
    ("Manyar, Kota Surabaya", "35.78"),
    ("Jl. Manyar Kertoarjo V No. 12, Manyar Sabrangan, Mulyorejo, Kota Surabaya 60116", "35.78.26.1002"),
    ("kec. manyar, kota surabaya", "35.78"),
    ("Jl. Sukajadi No. 10, Kota Pekanbaru", "14.71"),
    ("Jl. Raya Darmo No. 15, RT 01/RW 02, Kel. Darmo, Kec. Wonokromo, Kota Surabaya, Jawa Timur 60241",
     "35.78.04.1005"),
    ("Dusun Krajan RT 002 RW 001 Desa Cikole Kecamatan Lembang Kabupaten Bandung Barat", "32.17.01.2006"),
    ("kab bandung, dekat soreang", "32.04"),
])
def test_a_named_city_constrains_streets_kampung_and_kecamatan_names_and_full_addresses_go_deepest(text, code):
    resolution = resolve_region(text)
    assert (resolution.status, resolution.best.code) == ("unique", code)


def test_a_lower_level_name_that_exists_only_outside_the_named_city_is_never_taken():
    for text in ("Jalan Kepanjen, Krembangan Selatan, Kota Surabaya, Jawa Timur", "Kepanjen, Kota Surabaya",
                 "Manyar, Kota Surabaya", "manyar surabaya"):
        resolution = resolve_region(text)
        assert all(candidate.regency_code == "35.78" for candidate in resolution.candidates), text


def test_two_different_named_cities_are_asked_about():
    resolution = resolve_region("Kota Malang atau Kota Surabaya")
    assert resolution.status == "ambiguous"
    assert {candidate.code for candidate in resolution.candidates} == {"35.73", "35.78"}


def test_a_place_is_found_inside_a_citizen_s_whole_first_message():
    resolution = resolve_region("jalan di desa sukamaju kec cibeber kab cianjur rusak parah sejak 2 minggu lalu")
    assert (resolution.status, resolution.best.code) == ("unique", "32.03.03.2013")
    assert resolution.best.label == "Desa Sukamaju, Kabupaten Cianjur, Jawa Barat"


@pytest.mark.parametrize("text", ["jadi", "bantu", "baru", "sari", "lalu", "minggu", "pasar", "pasar minggu lalu",
                                  "mohon bantuannya, jadi baru sari lalu, minggu ini ke pasar",
                                  "mau tanya min, bantuan sosial saya jadi dipotong minggu lalu"])
def test_everyday_words_alone_make_no_region(text):
    assert resolve_region(text).status == "unknown"


def test_resolving_a_long_free_text_takes_well_under_twenty_milliseconds():
    import time

    from storage.routing.regions import warm_up

    warm_up()
    text = ("Assalamualaikum wr wb, selamat siang Bapak/Ibu. Mohon bantuannya, jalan di desa sukamaju kec cibeber "
            "kab cianjur rusak parah sejak 2 minggu lalu, banyak lubang besar dan kemarin ada motor jatuh di depan "
            "pasar. Sudah lapor ke kantor desa tapi belum ada perbaikan. Mohon ditindaklanjuti, terima kasih.")
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        resolve_region(text)
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[len(timings) // 2] < 0.020


def test_held_out_full_addresses_resolve_inside_the_right_kabupaten_kota_and_never_elsewhere():
    from storage.routing.quality import evaluate_addresses, load_addresses

    addresses = load_addresses()
    assert len(addresses) >= 150
    assert len({code[:2] for _, code in addresses}) == 38
    figures = evaluate_addresses(addresses)
    assert figures.wrong == 0
    assert figures.right / figures.n >= 0.95
    assert figures.exact / figures.n >= 0.90


def test_deket_as_people_type_dekat_marks_a_landmark_not_the_kecamatan_deket():
    resolution = resolve_region("tasik, deket masjid agung")
    assert all(not candidate.name.startswith("Kecamatan Deket") for candidate in resolution.candidates)
    assert resolution.best is not None and "Tasikmalaya" in resolution.best.name
