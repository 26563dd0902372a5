"""The fake provider APIs, one per test, shared by the channel tests."""
import pytest

from tests.channels.fakes.telegram_api import FakeTelegram
from tests.channels.fakes.twilio_api import FakeTwilio
from tests.channels.harness import TELEGRAM_TOKEN, TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN


@pytest.fixture
async def fake_telegram():
    fake = await FakeTelegram(TELEGRAM_TOKEN).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_twilio():
    fake = await FakeTwilio(TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN).start()
    yield fake
    await fake.stop()
