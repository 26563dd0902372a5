"""The database schema: every table SapaLapor keeps, in one place.

Why one module: the schema is the contract between the channels, the accessibility layer, the
actions and the operator tools. Alembic migrations under ``storage/migrations`` are generated
from these classes; a change here needs a new migration revision.

Personal data (UU 27/2022): channel identities are stored only as keyed hashes
(``storage.identity``). A channel *address* (Telegram chat id, phone number) is kept on the
``reporters`` row because replies and status notifications must reach the person, and nowhere
else at rest (inbound payloads are scrubbed once handled). Anonymous reports link to no reporter.

Written in SQLAlchemy 2.0 style on the 1.4 series that Rasa pins: ``Mapped[...]`` annotations,
``select()`` queries and ``future=True`` engines and sessions (see ``storage.db``).
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, declarative_base, relationship

# Named constraints: SQLite's batch migrations (copy-and-move) can only drop or alter a constraint
# that has a name, and stable names keep PostgreSQL and SQLite migrations identical.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def utcnow() -> dt.datetime:
    """Naive UTC timestamps everywhere: SQLite has no time zones, and one rule avoids mixing."""
    return dt.datetime.utcnow().replace(microsecond=0)


# Values kept as plain strings (not database enums) so that adding a state needs no
# ALTER TYPE on PostgreSQL. The tuples are the single source of allowed values.
REPORT_TYPES = ("pengaduan", "aspirasi", "permintaan_informasi")
PRIVACY_LEVELS = ("biasa", "rahasia", "anonim")
REPORT_STATUSES = (
    "diterima",
    "diverifikasi",
    "diteruskan",
    "ditindaklanjuti",
    "selesai",
    "ditunda",
    "bukan_wewenang",
    "diarsipkan",
)
DELIVERY_STATES = ("received", "handled", "failed")
OUTBOUND_STATES = (
    "queued",
    "sent",
    "delivered",
    "read",
    "failed",
    "undelivered",
    "needs_template",
    "unreachable",
)
OUTBOX_STATES = ("pending", "sent", "failed")
RATING_STAGES = ("after_filing", "after_closed")


class Reporter(Base):
    """A person on one channel, known by a keyed hash of the channel's user id."""

    __tablename__ = "reporters"
    __table_args__ = (UniqueConstraint("channel", "identity_hash", name="uq_reporters_identity"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(20), nullable=False)
    identity_hash: Mapped[str] = Column(String(64), nullable=False)
    # Where replies and status notifications go (chat id, "whatsapp:+62…", "+62…").
    address: Mapped[Optional[str]] = Column(String(64))
    # Telegram "bot was blocked by the user", Twilio 21610 (opted out): stop sending.
    unreachable_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    # WhatsApp allows free-form messages only within 24 hours of the user's last message.
    last_inbound_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


class Report(Base):
    """One LAPOR! report (pengaduan, aspirasi or permintaan informasi)."""

    __tablename__ = "reports"

    id: Mapped[int] = Column(Integer, primary_key=True)
    # Digits grouped as "4821-7730"; the last digit is a Damm check digit (storage.tracking_numbers).
    tracking_number: Mapped[str] = Column(String(16), nullable=False, unique=True)
    # Idempotency: the submit action derives it from the conversation, so a retried submit
    # returns the report it already filed instead of filing a second one.
    submission_key: Mapped[str] = Column(String(64), nullable=False, unique=True)
    report_type: Mapped[str] = Column(String(24), nullable=False)
    title: Mapped[str] = Column(String(120), nullable=False)
    description: Mapped[str] = Column(Text, nullable=False)
    location_text: Mapped[str] = Column(Text, nullable=False)
    region_code: Mapped[Optional[str]] = Column(String(16))
    region_name: Mapped[Optional[str]] = Column(String(200))
    latitude: Mapped[Optional[float]] = Column(Float)
    longitude: Mapped[Optional[float]] = Column(Float)
    incident_date: Mapped[Optional[dt.date]] = Column(Date)
    # The citizen gave an estimate ("kira-kira seminggu lalu", "awal bulan lalu").
    incident_date_approximate: Mapped[bool] = Column(Boolean, nullable=False, default=False, server_default=false())
    privacy: Mapped[str] = Column(String(10), nullable=False)
    channel: Mapped[str] = Column(String(20), nullable=False)
    # NULL for anonim reports: no identity is stored at all.
    reporter_id: Mapped[Optional[int]] = Column(ForeignKey("reporters.id"))
    # Anonim reports are looked up with tracking number + PIN; only a salted hash is kept.
    pin_hash: Mapped[Optional[str]] = Column(String(128))
    event_code: Mapped[Optional[str]] = Column(String(64))
    status: Mapped[str] = Column(String(20), nullable=False, default="diterima")
    category_code: Mapped[Optional[str]] = Column(String(40))
    agency: Mapped[Optional[str]] = Column(String(200))
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    reporter = relationship("Reporter")
    history = relationship(
        "StatusChange", back_populates="report", order_by="StatusChange.id", cascade="all, delete-orphan"
    )
    attachments = relationship("Attachment", back_populates="report")
    routing = relationship("RoutingSuggestion", back_populates="report", uselist=False)


Index("ix_reports_status_created", Report.status, Report.created_at)


class StatusChange(Base):
    """Status history: every transition with its time, so deadlines and notifications can be derived."""

    __tablename__ = "status_history"

    id: Mapped[int] = Column(Integer, primary_key=True)
    report_id: Mapped[int] = Column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True)
    status: Mapped[str] = Column(String(20), nullable=False)
    note: Mapped[Optional[str]] = Column(Text)
    agency: Mapped[Optional[str]] = Column(String(200))
    changed_by: Mapped[str] = Column(String(64), nullable=False, default="system")
    changed_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    # Set once the reporter was told (or could not be: see outbound_messages).
    notified_at: Mapped[Optional[dt.datetime]] = Column(DateTime)

    report = relationship("Report", back_populates="history")


class RoutingSuggestion(Base):
    """Where a report should go: category, region and agency, each with why."""

    __tablename__ = "routing_suggestions"

    id: Mapped[int] = Column(Integer, primary_key=True)
    report_id: Mapped[int] = Column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, unique=True)
    category_code: Mapped[str] = Column(String(40), nullable=False)
    category_confidence: Mapped[float] = Column(Float, nullable=False)
    region_code: Mapped[Optional[str]] = Column(String(16))
    region_level: Mapped[Optional[str]] = Column(String(16))  # provinsi|kabupaten|kota|kecamatan|desa
    agency: Mapped[Optional[str]] = Column(String(200))
    agency_level: Mapped[Optional[str]] = Column(String(16))  # nasional|provinsi|kabupaten|kota
    reason: Mapped[str] = Column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)

    report = relationship("Report", back_populates="routing")


class RoutingCorrection(Base):
    """An operator changed a report's category or agency: what the deployment learns from.

    The text is copied so a retrain (``python -m bot retrain-categories``) does not depend on the
    report staying unchanged; it goes with the report when the report is deleted.
    """

    __tablename__ = "routing_corrections"

    id: Mapped[int] = Column(Integer, primary_key=True)
    report_id: Mapped[int] = Column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True)
    text: Mapped[str] = Column(Text, nullable=False)
    region_code: Mapped[Optional[str]] = Column(String(16))
    old_category: Mapped[Optional[str]] = Column(String(40))
    new_category: Mapped[Optional[str]] = Column(String(40))
    old_agency: Mapped[Optional[str]] = Column(String(200))
    new_agency: Mapped[Optional[str]] = Column(String(200))
    corrected_by: Mapped[str] = Column(String(64), nullable=False, default="operator")
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


class Attachment(Base):
    """A photo, document, video or audio file sent during a conversation.

    Collected before the report exists (keyed by the conversation's sender reference) and linked
    to the report when it is filed.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = Column(Integer, primary_key=True)
    report_id: Mapped[Optional[int]] = Column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    sender_ref: Mapped[str] = Column(String(80), nullable=False, index=True)
    kind: Mapped[str] = Column(String(16), nullable=False)  # photo|document|video|audio
    media_type: Mapped[str] = Column(String(100), nullable=False)
    file_name: Mapped[Optional[str]] = Column(String(255))
    size_bytes: Mapped[int] = Column(Integer, nullable=False)
    sha256: Mapped[str] = Column(String(64), nullable=False)
    storage_path: Mapped[str] = Column(String(500), nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)

    report = relationship("Report", back_populates="attachments")


class SatisfactionRating(Base):
    __tablename__ = "satisfaction_ratings"
    __table_args__ = (UniqueConstraint("report_id", "stage", name="uq_rating_report_stage"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    report_id: Mapped[int] = Column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False)
    stage: Mapped[str] = Column(String(16), nullable=False, default="after_filing")
    score: Mapped[int] = Column(Integer, nullable=False)  # 1..5
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


class HandoverRequest(Base):
    """A request to talk to a person; the report in progress (if any) stays in the conversation."""

    __tablename__ = "handover_requests"

    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(20), nullable=False)
    sender_ref: Mapped[str] = Column(String(80), nullable=False)
    reporter_id: Mapped[Optional[int]] = Column(ForeignKey("reporters.id"))
    report_in_progress: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    reason: Mapped[Optional[str]] = Column(Text)
    state: Mapped[str] = Column(String(16), nullable=False, default="open")  # open|done
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


class Profile(Base):
    """Accessibility preferences of one channel user."""

    __tablename__ = "profiles"
    __table_args__ = (UniqueConstraint("channel", "identity_hash", name="uq_profiles_identity"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(20), nullable=False)
    identity_hash: Mapped[str] = Column(String(64), nullable=False)
    voice_replies: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    simple_language: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    speech_rate: Mapped[str] = Column(String(8), nullable=False, default="normal")  # normal|slow
    # The user chose voice on or off themselves (/suara, /teks, "pakai teks saja"): a voice note
    # then no longer switches voice replies on by itself.
    voice_chosen: Mapped[bool] = Column(Boolean, nullable=False, default=False, server_default=false())
    # The choices shown last ([{"title", "payload"}]), so "2" or "yang kedua" still picks one
    # after a restart (SMS users answer numbered menus, sometimes hours later).
    last_choices: Mapped[Optional[list]] = Column(JSON(none_as_null=True))
    # Self-described, asked only with consent, used only for aggregate statistics.
    disability: Mapped[Optional[str]] = Column(String(64))
    disability_consent: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    onboarded: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class InboundDelivery(Base):
    """Every webhook delivery, recorded before it is handled: the exactly-once intake log.

    The (channel, provider_id) pair is the dedupe key (Telegram update_id, Twilio MessageSid).
    ``payload`` is kept only until the delivery is handled, then scrubbed, so phone numbers and
    message texts do not pile up here.
    """

    __tablename__ = "inbound_deliveries"
    __table_args__ = (UniqueConstraint("channel", "provider_id", name="uq_inbound_provider_id"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(20), nullable=False)
    provider_id: Mapped[str] = Column(String(64), nullable=False)
    sender_hash: Mapped[Optional[str]] = Column(String(64))
    state: Mapped[str] = Column(String(12), nullable=False, default="received")
    # none_as_null: a scrubbed payload must be SQL NULL, not the JSON text 'null'.
    payload: Mapped[Optional[dict]] = Column(JSON(none_as_null=True))
    attempts: Mapped[int] = Column(Integer, nullable=False, default=0)
    error: Mapped[Optional[str]] = Column(Text)
    received_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    handled_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


Index("ix_inbound_state", InboundDelivery.state, InboundDelivery.received_at)


class OutboundMessage(Base):
    """A message we sent (or chose not to send) to a user, with its delivery state."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(20), nullable=False)
    sender_hash: Mapped[str] = Column(String(64), nullable=False)
    kind: Mapped[str] = Column(String(12), nullable=False, default="text")  # text|voice|image
    body: Mapped[Optional[str]] = Column(Text)
    state: Mapped[str] = Column(String(16), nullable=False, default="queued")
    provider_message_id: Mapped[Optional[str]] = Column(String(64), index=True)
    error_code: Mapped[Optional[str]] = Column(String(16))
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class DeliveryStatusEvent(Base):
    """A provider delivery-status callback (queued, sent, delivered, read, failed, undelivered)."""

    __tablename__ = "delivery_status_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(20), nullable=False)
    provider_message_id: Mapped[str] = Column(String(64), nullable=False, index=True)
    status: Mapped[str] = Column(String(16), nullable=False)
    error_code: Mapped[Optional[str]] = Column(String(16))
    received_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


class MediaLink(Base):
    """An unguessable, expiring URL under which this server serves a file to a provider."""

    __tablename__ = "media_links"

    token: Mapped[str] = Column(String(64), primary_key=True)
    path: Mapped[str] = Column(String(500), nullable=False)
    content_type: Mapped[str] = Column(String(100), nullable=False)
    expires_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class OutboxItem(Base):
    """A report waiting to be forwarded to the configured external endpoint."""

    __tablename__ = "outbox"

    id: Mapped[int] = Column(Integer, primary_key=True)
    report_id: Mapped[int] = Column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False)
    idempotency_key: Mapped[str] = Column(String(64), nullable=False, unique=True)
    state: Mapped[str] = Column(String(12), nullable=False, default="pending")
    attempts: Mapped[int] = Column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    last_error: Mapped[Optional[str]] = Column(Text)
    sent_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


class OutreachEvent(Base):
    """A socialisation event with its own entry code (Telegram deep link, WhatsApp text, SMS keyword)."""

    __tablename__ = "outreach_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    code: Mapped[str] = Column(String(64), nullable=False, unique=True)
    name: Mapped[str] = Column(String(200), nullable=False)
    place: Mapped[str] = Column(String(200), nullable=False)
    event_date: Mapped[dt.date] = Column(Date, nullable=False)
    target_group: Mapped[str] = Column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


class ConversationEvent(Base):
    """One step of one conversation, for measurement; no personal data.

    ``conversation_ref`` is an opaque per-conversation id (not the sender hash), so steps can be
    counted into a funnel without being linked to a person.
    """

    __tablename__ = "conversation_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    conversation_ref: Mapped[str] = Column(String(64), nullable=False, index=True)
    channel: Mapped[str] = Column(String(20), nullable=False)
    event_code: Mapped[Optional[str]] = Column(String(64), index=True)
    # started | slot:<name> | readback_confirmed | filed | cancelled | abandoned
    step: Mapped[str] = Column(String(40), nullable=False)
    voice: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    simple_language: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    occurred_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow, index=True)
