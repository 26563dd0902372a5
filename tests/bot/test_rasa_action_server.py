import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import yaml

from bot import rasa_project
from bot.action_server import TOKEN_ENV
from bot.rasa_project import ROOT, free_port, wait_until_ready
from bot.settings import load_settings

TOKEN = "action-token-for-tests-0123456789"
SUBMIT = {"next_action": "action_submit_report", "sender_id": "telegram-" + "0" * 64, "version": "3.6.2",
          "tracker": {"sender_id": "telegram-" + "0" * 64, "slots": {"privacy": "biasa"}, "events": [],
                      "latest_message": {}, "active_loop": {}, "latest_action_name": None},
          "domain": {}}


def _post(url, body, headers=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    port = free_port()
    data = tmp_path_factory.mktemp("action-server")
    env = dict(os.environ, **{TOKEN_ENV: TOKEN, "SAPALAPOR_DATA_DIR": str(data),
                              "SAPALAPOR_DATABASE_URL": f"sqlite:///{data / 'sapalapor.db'}"})
    log_file = open(data / "action-server.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "bot.action_server", "--port", str(port)], cwd=ROOT,
                               env=rasa_project._rasa_env(env), stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health", process)
        yield {"url": f"http://127.0.0.1:{port}", "log": data / "action-server.log", "process": process}
    finally:
        process.terminate()
        process.wait(20)
        log_file.close()


def test_an_action_call_without_rasas_token_is_refused(action_server):
    assert _post(f"{action_server['url']}/webhook", SUBMIT) == 403
    assert _post(f"{action_server['url']}/webhook", SUBMIT, {"Authorization": "Bearer guessed"}) == 403
    assert _post(f"{action_server['url']}/webhook", SUBMIT, {"Authorization": TOKEN}) == 403
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{action_server['url']}/actions", timeout=10)
    assert refused.value.code == 403
    assert "without Rasa's token refused" in action_server["log"].read_text()


def test_an_action_call_with_rasas_token_is_served(action_server):
    request = urllib.request.Request(f"{action_server['url']}/actions", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        names = {entry["name"] for entry in json.loads(answer.read())}
    assert "action_submit_report" in names


def listening_addresses(port: int) -> set:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp*: no tools needed)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_the_action_server_listens_on_loopback_only(action_server):
    port = int(action_server["url"].rsplit(":", 1)[1])
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, little-endian hex


def test_the_action_server_without_a_token_does_not_start(tmp_path):
    env = rasa_project._rasa_env({TOKEN_ENV: "", "SAPALAPOR_ACTION_TOKEN": ""})
    completed = subprocess.run([sys.executable, "-m", "bot.action_server", "--port", str(free_port())], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert "no action token" in completed.stdout + completed.stderr


def test_rasa_sends_the_action_token_as_a_header_and_the_file_is_private(tmp_path):
    settings = load_settings(environ={"SAPALAPOR_IDENTITY_KEY": "k" * 32})
    path = rasa_project.write_endpoints(settings, "http://127.0.0.1:5055/webhook", tmp_path, TOKEN)
    endpoint = yaml.safe_load(path.read_text())["action_endpoint"]
    assert endpoint == {"url": "http://127.0.0.1:5055/webhook", "enable_selective_domain": True,
                        "headers": {"Authorization": f"Bearer {TOKEN}"}}
    assert path.stat().st_mode & 0o077 == 0
    from rasa.utils.endpoints import EndpointConfig

    assert EndpointConfig.from_dict(endpoint).headers == {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("action, gets_domain", [
    ("validate_report_form", True), ("validate_status_form", True), ("validate_rating_form", True),
    ("action_help", False), ("action_ask_privacy", False), ("action_submit_report", False),
])
def test_rasa_sends_the_domain_only_to_the_form_validators(tmp_path, action, gets_domain):
    """Issue 18: the 46 kB domain is written and read on every action call unless Rasa's selective
    domain is on; the validators read the forms' slots from it, the other actions do without."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    settings = load_settings(environ={"SAPALAPOR_IDENTITY_KEY": "k" * 32})
    path = rasa_project.write_endpoints(settings, "http://127.0.0.1:5055/webhook", tmp_path, TOKEN)
    endpoint = EndpointConfig.from_dict(yaml.safe_load(path.read_text())["action_endpoint"])
    domain = Domain.from_path(ROOT / "bot" / "domain.yml")
    payload = RemoteAction(action, endpoint)._action_call_format(DialogueStateTracker("someone", domain.slots), domain)
    assert ("domain" in payload) is gets_domain
