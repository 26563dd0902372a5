from __future__ import annotations

import pytest

from accessibility.closing_rating import rating_of


@pytest.mark.parametrize("text, score", [
    ("4", 4), ("empat", 4), ("puas", 4), ("sangat puas", 5), ('/affirm{"rating": 2}', 2), ("5 Sangat puas", 5),
    ("biasa aja", 3),
])
def test_a_rating_is_read_in_the_forms_accepted_after_filing(text, score):
    assert rating_of(text) == score


@pytest.mark.parametrize("text", ["", None, "halo", "saya mau lapor lagi jalan rusak", "/suara", "7", "/status"])
def test_anything_else_is_not_a_rating(text):
    assert rating_of(text) is None
