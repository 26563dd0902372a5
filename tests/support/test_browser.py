"""The browser harness finds real accessibility faults, so an empty violation list means something."""
from __future__ import annotations

from tests.support.browser import axe_violations, tab_order

GOOD = """<!doctype html><html lang="id"><head><title>Uji</title></head><body><main>
<h1>Lapor</h1><label for="pesan">Pesan</label><input id="pesan">
<button type="button">Kirim</button></main></body></html>"""

BAD = """<!doctype html><html><head><title>Uji</title></head><body>
<input id="pesan"><button type="button" style="color:#bbb;background:#fff"></button>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></body></html>"""


def test_an_accessible_page_has_no_serious_violations(page):
    page.set_content(GOOD)
    assert axe_violations(page) == []


def test_an_unlabelled_form_is_reported_as_serious_or_critical(page):
    page.set_content(BAD)
    found = {violation["id"] for violation in axe_violations(page)}
    assert {"label", "button-name", "image-alt"} <= found
    assert "html-has-lang" in found


def test_the_tab_order_names_each_control_as_a_screen_reader_would(page):
    page.set_content(GOOD)
    assert tab_order(page, 2) == ["input Pesan", "button Kirim"]
