"""Read-only export API in the channel gateway: ``GET /webhooks/export/reports``.

Why a "channel": the gateway (channels/gateway.py) serves SapaLapor's one public HTTP port and
mounts connectors by their Rasa input-channel shape, so this blueprint rides there with the
webhooks and no further server is needed. It never talks to Rasa (``on_new_message`` is unused).

    GET /webhooks/export/reports?status=&agency=&region=&since=&until=&format=jsonl|csv
    Authorization: Bearer <export_api.token>

401 without a bearer token, 403 with a wrong one or when ``export_api.token`` is empty (the API
is off), 400 for a bad filter. Rows come from ``storage.export``: rahasia reports are never
listed, and this API never adds contact data (that needs an operator at the command line).
"""
from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from storage.db import Database
from storage.export import FORMATS, ExportFilter, export_rows, parse_bound, render
from storage.models import REPORT_STATUSES

log = logging.getLogger(__name__)

CONTENT_TYPES = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}


class ExportApiInput:
    @classmethod
    def name(cls) -> Text:
        return "export"

    def __init__(self, token: Optional[str], database: Database) -> None:
        self.token = token or ""
        self.database = database

    @classmethod
    def from_runtime(cls, runtime) -> "ExportApiInput":
        """Built by the gateway (channels/connector.py) with the runtime its entry point made."""
        return cls(runtime.settings.section("export_api").get("token"), runtime.database)

    def _authorise(self, request: Request) -> Optional[response.HTTPResponse]:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return response.json({"error": "bearer token required"}, status=401,
                                 headers={"WWW-Authenticate": 'Bearer realm="sapalapor-export"'})
        if not self.token or not hmac.compare_digest(presented.strip().encode(), self.token.encode()):
            log.warning("export API: refused a request with a wrong token from %s", request.ip)
            return response.json({"error": "token not accepted"}, status=403)
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        api = Blueprint(f"export_api_{id(self)}", __name__)

        @api.route("/", methods=["GET"])
        async def health(_request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @api.route("/reports", methods=["GET"])
        async def reports(request: Request) -> response.HTTPResponse:
            refused = self._authorise(request)
            if refused is not None:
                return refused
            args = {key: request.args.get(key) for key in ("status", "agency", "region", "since", "until", "format")}
            fmt = args["format"] or "jsonl"
            if fmt not in FORMATS:
                return response.json({"error": f"format must be one of {', '.join(FORMATS)}"}, status=400)
            if args["status"] and args["status"] not in REPORT_STATUSES:
                return response.json({"error": f"status must be one of {', '.join(REPORT_STATUSES)}"}, status=400)
            try:
                filters = ExportFilter(status=args["status"] or None, agency=args["agency"] or None,
                                       region_code=args["region"] or None, since=parse_bound(args["since"]),
                                       until=parse_bound(args["until"], end=True))
            except ValueError as error:
                return response.json({"error": str(error)}, status=400)

            def query() -> str:
                with self.database.session() as session:
                    return render(export_rows(session, filters), fmt)

            body = await asyncio.to_thread(query)
            return response.text(body, content_type=CONTENT_TYPES[fmt])

        return api
