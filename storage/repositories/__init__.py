"""Repositories: small public methods over one ``Session`` each (the caller owns the transaction).

Usage: ``with database.session() as session: ReportRepository(session).file(draft)``.
Calls are synchronous; async callers wrap them in ``asyncio.to_thread``.
"""
from storage.repositories.attachments import ATTACHMENT_KINDS, AttachmentRepository
from storage.repositories.closing_ratings import ClosingRatingRepository
from storage.repositories.handovers import HandoverRepository
from storage.repositories.inbound import InboundLog
from storage.repositories.media_links import MediaLinkRepository
from storage.repositories.outbound import OutboundLog
from storage.repositories.profiles import SPEECH_RATES, ProfileRepository
from storage.repositories.ratings import RatingRepository
from storage.repositories.reporters import ReporterRepository
from storage.repositories.reports import ReportDraft, ReportRepository, new_pin

__all__ = [
    "ATTACHMENT_KINDS",
    "SPEECH_RATES",
    "AttachmentRepository",
    "ClosingRatingRepository",
    "HandoverRepository",
    "InboundLog",
    "MediaLinkRepository",
    "OutboundLog",
    "ProfileRepository",
    "RatingRepository",
    "ReportDraft",
    "ReportRepository",
    "ReporterRepository",
    "new_pin",
]
