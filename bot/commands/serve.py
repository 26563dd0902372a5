"""``python -m bot serve <process>``: one server in the foreground, as a container runs it.

``bot run`` starts every process on one machine and wires them over loopback. A deployment with
replicas (deploy/) runs each process in a container of its own and tells it where its peers
are: the Rasa server where the action servers are (``--action-url``, a Service in front of
them), the gateway where the Rasa servers are (``--rasa-url``) and, with speech-to-text as a
service (``serve speech``, issue 19), where the speech replicas are (``SAPALAPOR_SPEECH_URL``). The command writes Rasa's runtime
files the way ``bot run`` does (bot/rasa_project.py), then replaces itself with the server
process (``exec``), so the container's signals and exit status are the server's own.

Why it refuses an empty action token off loopback: the action server files reports for any
sender it is told to; on a pod network only the shared secret keeps it answering Rasa alone.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

from bot.action_server import TOKEN_ENV as ACTION_TOKEN_ENV
from bot.rasa_project import _rasa_env, ensure_model, write_credentials, write_endpoints
from bot.settings import ROOT, ConfigError, Settings, load_settings

PROCESSES = ("actions", "rasa", "gateway", "console", "speech")
DEFAULT_PORTS = {"actions": 5055, "rasa": 5006, "gateway": 5005, "console": 5010, "speech": 5070}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
RASA_API_TOKEN_ENV = "SAPALAPOR_RASA_API_TOKEN"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="run one server in the foreground (containers, several hosts)")
    parser.add_argument("process", choices=PROCESSES)
    parser.add_argument("--host", default=os.environ.get("SAPALAPOR_LISTEN_HOST", "127.0.0.1"),
                        help="address to listen on (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, help="port (default: config.yml's for that process)")
    parser.add_argument("--action-url", default=os.environ.get("SAPALAPOR_ACTION_URL"),
                        help="rasa: the action servers' webhook URL")
    parser.add_argument("--rasa-url", default=os.environ.get("SAPALAPOR_RASA_URL"),
                        help="gateway: the Rasa servers' base URL")
    parser.add_argument("--print", action="store_true", dest="print_only",
                        help="print the command instead of running it")
    parser.set_defaults(func=serve)


def _port(settings: Settings, process: str, given: Optional[int]) -> int:
    if given:
        return given
    if process == "console":
        return settings.section("console").get("port", DEFAULT_PORTS[process], int)
    if process == "speech":
        return settings.section("accessibility.speech_to_text").get("service_port", DEFAULT_PORTS[process], int)
    key = {"actions": "action_port", "rasa": "rasa_port", "gateway": "port"}[process]
    return settings.section("server").get(key, DEFAULT_PORTS[process], int)


def action_token(settings: Settings, host: str) -> str:
    """The shared secret between Rasa and the action servers; required off loopback."""
    token = os.environ.get(ACTION_TOKEN_ENV) or settings.section("server").get("action_token", "")
    if not token and host not in LOOPBACK:
        raise ConfigError(
            f"{ACTION_TOKEN_ENV} must be set when servers listen on {host}: the same secret for "
            "the Rasa servers and the action servers")
    return token


def command_for(settings: Settings, process: str, host: str, port: int,
                action_url: Optional[str] = None, rasa_url: Optional[str] = None,
                runtime_dir: Optional[Path] = None) -> List[str]:
    """The argv of one server, with Rasa's files written to ``runtime_dir`` when it is Rasa."""
    python = sys.executable
    if process == "actions":
        action_token(settings, host)
        return [python, "-m", "bot.action_server", "--host", host, "--port", str(port)]
    if process == "console":
        return [python, "-m", "console", "--host", host, "--port", str(port)]
    if process == "speech":
        return [python, "-m", "bot.speech_server", "--host", host, "--port", str(port)]
    if process == "gateway":
        if not rasa_url:
            raise ConfigError("the gateway needs --rasa-url (or SAPALAPOR_RASA_URL)")
        return [python, "-m", "channels.gateway", "--host", host, "--port", str(port),
                "--rasa-url", rasa_url]
    if not action_url:
        raise ConfigError("the Rasa server needs --action-url (or SAPALAPOR_ACTION_URL)")
    runtime_dir = runtime_dir or settings.data_dir / "runtime"
    endpoints = write_endpoints(settings, action_url, runtime_dir, action_token(settings, host))
    credentials = write_credentials(settings, runtime_dir)
    command = [python, "-m", "bot.rasa_server", "run", "--model", str(ensure_model(settings)),
               "--endpoints", str(endpoints), "--credentials", str(credentials),
               "--interface", host, "--port", str(port)]
    # Rasa's HTTP API has no authorisation unless given a token: off loopback it is served only
    # with one (the gateway reaches Rasa through the relay channel, which has its own).
    api_token = os.environ.get(RASA_API_TOKEN_ENV, "")
    if host in LOOPBACK:
        command.append("--enable-api")
    elif api_token:
        command += ["--enable-api", "--auth-token", api_token]
    return command


def child_environment(process: str) -> Dict[str, str]:
    """What the server sees: Rasa's quiet defaults; the action token only where it is checked."""
    env = _rasa_env()
    if process in ("gateway", "console", "speech"):
        env.pop(ACTION_TOKEN_ENV, None)
        env.pop(RASA_API_TOKEN_ENV, None)
    return env


def serve(args) -> int:
    settings = load_settings(args.config)
    port = _port(settings, args.process, args.port)
    command = command_for(settings, args.process, args.host, port, args.action_url, args.rasa_url)
    if args.print_only:
        print(" ".join(command))
        return 0
    os.chdir(ROOT)
    os.execve(command[0], command, child_environment(args.process))
    return 0  # not reached
