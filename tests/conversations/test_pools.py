import re

import pytest

from storage.routing.categories import CATEGORIES
from tests.conversations.expectations import date_range
from tests.conversations.pools import REPORT_TYPES, all_texts, load_pools, raw

CONTROL_WORD_PLACES = ["sukajadi", "bantul", "kota batu", "pasar minggu", "tanjung priok", "robatal", "sederhana"]


def test_dev_and_heldout_pools_never_share_a_phrase():
    dev = set(map(str.lower, all_texts(load_pools("dev"))))
    heldout = set(map(str.lower, all_texts(load_pools("heldout"))))

    assert dev & heldout == set()


def test_every_data_file_says_which_part_is_heldout():
    from tests.conversations.pools import DATA_DIR

    for path in DATA_DIR.glob("*.yml"):
        assert "NEVER used for tuning" in path.read_text(encoding="utf-8"), path.name


def test_places_cover_all_38_provinces_with_more_than_150_names():
    places = raw("places")["dev"] + raw("places")["heldout"]

    assert len(places) >= 150
    assert len({place["code"][:2] for place in places}) == 38
    assert len(load_pools("heldout").places) >= 0.25 * len(places)


def test_every_place_code_names_the_kabupaten_or_kota_it_claims():
    from lokal import wilayah

    names = dict(wilayah._base())
    for place in raw("places")["dev"] + raw("places")["heldout"]:
        assert names[place["code"]] == place["region"], place
        assert names[place["code"][:2]] == place["province"], place


@pytest.mark.parametrize("name", CONTROL_WORD_PLACES)
def test_places_with_control_words_are_in_the_corpus(name):
    texts = [place["text"].lower() for place in raw("places")["dev"] + raw("places")["heldout"]]

    assert any(name in text for text in texts)


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_all_18_categories_have_complaints_in_each_split(split):
    pools = load_pools(split)

    assert set(pools.descriptions) == set(CATEGORIES)
    assert all(pools.descriptions[code]["pengaduan"] for code in CATEGORIES)


def test_descriptions_name_no_place_and_no_date():
    forbidden = re.compile(r"\b(kemarin|lalu(?! lintas)|tanggal|tgl|kec|kab|kabupaten)\b")
    for code, node in raw("descriptions").items():
        for report_type in REPORT_TYPES:
            for text in node[report_type]["dev"] + node[report_type]["heldout"]:
                assert not forbidden.search(text), (code, text)


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_every_date_phrase_has_a_computable_expectation(split):
    for item in load_pools(split).dates:
        wanted = date_range(item)
        assert wanted is None or wanted[0] <= wanted[1], item


def test_the_phrasings_quoted_in_the_issue_are_dev_items():
    dev = set(map(str.lower, all_texts(load_pools("dev"))))

    for phrase in ["kec. sukajadi, kota bandung", "dusun jetis, kab bantul", "gak usah pakai nama saya",
                   "lupa, kira-kira seminggu yang lalu", "eh jangan, lanjut saja", "punten", "sampurasun"]:
        assert phrase in dev
