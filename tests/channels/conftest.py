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


@pytest.fixture(scope="session", autouse=True)
def secrets_never_reach_a_log_file(tmp_path_factory):
    """After the channel tests: every log file the session wrote (servers' too) is free of test secrets."""
    yield
    from tests.channels import e2e_support, harness

    secrets = {harness.TELEGRAM_TOKEN, harness.TWILIO_AUTH_TOKEN, e2e_support.TOKEN, e2e_support.AUTH_TOKEN,
               e2e_support.SECRET}
    secrets |= {secret.split(":", 1)[1] for secret in list(secrets) if ":" in secret}
    leaks = []
    for path in tmp_path_factory.getbasetemp().rglob("*.log"):
        text = path.read_text(encoding="utf-8", errors="replace")
        leaks += [f"{path}: {secret[:6]}..." for secret in secrets if secret in text]
    assert leaks == [], f"test secrets found in log files: {leaks}"
