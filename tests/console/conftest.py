"""Console fixtures: one console process per test module, on a fresh database."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.console.support import make_account, running_console


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[dict]:
    """``{"url", "database"}``; accounts: operator ``ani``, agency officers ``budi`` (Dinas PUPR
    Kabupaten Bandung) and ``citra`` (Dinas Kesehatan Kota Bandung), facilitator ``dewi``,
    administrator ``eko``; every password is ``support.PASSWORD``."""
    with running_console(tmp_path_factory.mktemp("console")) as (url, database):
        make_account(database, "ani", "operator")
        make_account(database, "budi", "agency_officer", agency="Dinas PUPR Kabupaten Bandung")
        make_account(database, "citra", "agency_officer", agency="Dinas Kesehatan Kota Bandung")
        make_account(database, "dewi", "facilitator")
        make_account(database, "eko", "administrator")
        yield {"url": url, "database": database}


from tests.support.browser import opened_page  # noqa: E402


@pytest.fixture
def console_page(browser):
    with opened_page(browser) as opened:
        yield opened
