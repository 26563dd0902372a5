"""The web chat in a real Chromium: a page served by the web connector, with a recording Rasa
(``recording_site``, fast: markup, accessibility states, kiosk) or the whole stack (``web_stack``,
tests/channels/e2e_support.py: real Rasa, action server and gateway, for filing complaints)."""
from __future__ import annotations

import datetime as dt

import pytest

EVENT = "SOSWEB01"
# Short kiosk periods so a test sees the warning and the reset within seconds.
KIOSK_ENV = {"SAPALAPOR_WEB_ENABLED": "true", "SAPALAPOR_WEB_KIOSK_QUIET_SECONDS": "3",
             "SAPALAPOR_WEB_KIOSK_WARNING_SECONDS": "4"}


def add_event(database) -> None:
    from storage.outreach import create_event

    with database.session() as session:
        create_event(session, "Sosialisasi LAPOR! untuk teman disabilitas", "Bandung", dt.date(2026, 12, 2),
                     "penyandang disabilitas", code=EVENT)


@pytest.fixture
def recording_site(tmp_path):
    """The web connector and its page on loopback, answering with tests.channels.harness.RecordingRasa."""
    from channels.connector_runtime import runtime_for
    from channels.web import WebInput
    from tests.channels.e2e_support import LoopThread
    from tests.channels.harness import Mounted, RecordingRasa, channel_environ, sanic_test_mode, settings_for

    runtime = runtime_for(settings_for(channel_environ(tmp_path / "data", **KIOSK_ENV)))
    add_event(runtime.database)
    loop = LoopThread()

    async def start():
        connector = WebInput(runtime)
        server = Mounted(connector, RecordingRasa())
        server.app.blueprint(connector.page_blueprint())
        await server.__aenter__()
        return server

    with sanic_test_mode():
        server = loop.run(start())
        try:
            yield server
        finally:
            loop.run(server.stop(drain=False))
            loop.stop()


@pytest.fixture(scope="session")
def web_stack(trained_model, tmp_path_factory):
    """Rasa, the action server and the gateway with the web chat on, shared by the filing tests."""
    from tests.channels.e2e_support import channel_stack

    with channel_stack(trained_model, tmp_path_factory.mktemp("web-stack"), extra_env=KIOSK_ENV) as stack:
        add_event(stack["database"])
        yield stack
