"""``python -m bot twilio-sign``: the X-Twilio-Signature Twilio would send for a request.

Why: to try the SMS and WhatsApp webhooks locally with curl, a request must carry a valid
signature (forged ones are refused with 403). This computes it exactly as Twilio does, with the
auth token from config.yml (TWILIO_AUTH_TOKEN) unless one is given.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from typing import List, Tuple
from urllib.parse import urlencode


def _pairs(values: List[str]) -> List[Tuple[str, str]]:
    pairs = []
    for value in values:
        name, separator, content = value.partition("=")
        if not separator or not name:
            raise SystemExit(f"parameters are NAME=VALUE, got {value!r}")
        pairs.append((name, content))
    return pairs


def _auth_token(args: argparse.Namespace) -> str:
    if args.token:
        return args.token
    from bot.settings import load_settings

    settings = load_settings(args.config)
    for channel in ("sms", "whatsapp"):
        token = settings.section(f"channels.{channel}").get("auth_token")
        if token:
            return token
    raise SystemExit("no auth token: set TWILIO_AUTH_TOKEN or pass --token")


def run(args: argparse.Namespace) -> int:
    from twilio.request_validator import RequestValidator

    pairs = _pairs(args.params)
    params = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)

    class _Form(dict):
        def getall(self, name):
            return self[name]

    signature = RequestValidator(_auth_token(args)).compute_signature(args.url, _Form(params))
    if not args.curl:
        print(signature)
        return 0
    command = ["curl", "-sS", "-X", "POST", args.url, "-H", f"X-Twilio-Signature: {signature}",
               "--data", urlencode(pairs)]
    print(" ".join(shlex.quote(part) for part in command))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "twilio-sign",
        help="print the X-Twilio-Signature for a webhook URL and its POST parameters",
        description="Computes the signature Twilio sends (HMAC-SHA1 of the URL and the sorted "
                    "parameters, keyed with the auth token). The URL must be the public one "
                    "(server.public_url + /webhooks/sms/webhook or /webhooks/whatsapp/webhook).",
    )
    parser.add_argument("url", help="the full public URL the request goes to")
    parser.add_argument("params", nargs="*", metavar="NAME=VALUE", help="POST parameters, e.g. Body=halo")
    parser.add_argument("--token", help="auth token (default: TWILIO_AUTH_TOKEN from config.yml)")
    parser.add_argument("--curl", action="store_true", help="print a complete curl command instead")
    parser.set_defaults(func=run)
