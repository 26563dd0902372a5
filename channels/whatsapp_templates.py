"""The approved WhatsApp template a status update goes out as outside the 24-hour window.

Why: WhatsApp refuses a free-form message more than 24 hours after the citizen's last one
(Twilio error 63016), and a status update often comes days later. Twilio's Content API sends an
approved template instead: ``ContentSid`` (``HX`` + 32 hex digits) and ``ContentVariables``, a
JSON object of the template's numbered variables. Which value fills which number is configured
(``channels.whatsapp.status_template`` in config.yml), since it depends on the approved text.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from accessibility.pipeline import Outgoing
from channels.notifications import flat_text

# WhatsApp refuses variables longer than this (and any with line breaks: flat_text joins them).
VARIABLE_LIMIT = 1024


@dataclass(frozen=True)
class StatusTemplate:
    content_sid: str
    variables: Tuple[Tuple[str, str], ...]  # ("1", "tracking_number"), ("2", "status_text")

    def unit(self, notification: Any, replies: List[Outgoing]) -> Outgoing:
        """The status update as one outgoing template unit (what a connector's ``send`` takes)."""
        return Outgoing(template=(self.content_sid, self.content_variables(notification, replies)))

    def content_variables(self, notification: Any, replies: List[Outgoing]) -> str:
        """The ``ContentVariables`` JSON of one status update."""
        values = {"tracking_number": notification.tracking_number, "status": notification.status,
                  "status_text": flat_text(replies)}
        return json.dumps({number: values[field][:VARIABLE_LIMIT] for number, field in self.variables},
                          ensure_ascii=False, separators=(",", ":"))


def status_template_from(settings: Any) -> Optional[StatusTemplate]:
    """The template from the typed settings (``Settings.whatsapp_status_template``, validated
    there); None when no template is configured."""
    configured = settings.whatsapp_status_template
    if configured is None:
        return None
    return StatusTemplate(configured.content_sid, tuple(configured.variables))
