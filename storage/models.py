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
    LargeBinary,
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
    # WhatsApp allows free-form messages only within 24 hours of the user's last message: kept for
    # WhatsApp only, to the hour (ReporterRepository.wrote_in says why).
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
    # What the last attempt to tell the reporter came to (storage.lifecycle.OUTCOMES), shown to
    # operators by `report-status`; with notified_at unset it is still pending (needs_template...).
    notification_outcome: Mapped[Optional[str]] = Column(String(16))

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
    state: Mapped[str] = Column(String(16), nullable=False, default="open")  # HANDOVER_STATES
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    # Taken: a staff member answers and the assistant is paused for this conversation until
    # the request is returned (state "done"); see HandoverMessage.
    taken_by: Mapped[Optional[str]] = Column(String(64))
    taken_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    returned_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


# The gateway asks on every turn whether a person has this conversation (state "taken").
Index("ix_handover_sender_state", HandoverRequest.sender_ref, HandoverRequest.state)


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
    # Which gateway replica works on the delivery (its handling, then its replies) and until
    # when: another replica takes it over only once the claim lapsed (storage/repositories/inbound.py).
    claimed_by: Mapped[Optional[str]] = Column(String(120))
    claimed_until: Mapped[Optional[dt.datetime]] = Column(DateTime)


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


# --- the staff console (issue 16) ------------------------------------------------------------

# operator: verifies and routes every report; agency_officer: only reports routed to their
# agency; facilitator: outreach events and their figures; administrator: staff accounts.
STAFF_ROLES = ("operator", "agency_officer", "facilitator", "administrator")
HANDOVER_STATES = ("open", "taken", "done")


class StaffAccount(Base):
    """A person who signs in to the console; only an argon2 hash of the password is kept."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = Column(String(120), nullable=False)
    role: Mapped[str] = Column(String(20), nullable=False)
    # The agency whose reports an agency officer sees (as in reports.agency); NULL for other roles.
    agency: Mapped[Optional[str]] = Column(String(200))
    password_hash: Mapped[str] = Column(String(255), nullable=False)
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    last_login_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


class AuditEntry(Base):
    """Who did what, when, in the console: every sign-in, change and refusal.

    ``target`` names the object (a tracking number, a handover id, an account); ``detail`` never
    holds a phone number, a chat id or a password.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = Column(Integer, primary_key=True)
    actor: Mapped[str] = Column(String(64), nullable=False)
    action: Mapped[str] = Column(String(40), nullable=False)
    target: Mapped[Optional[str]] = Column(String(120))
    detail: Mapped[Optional[str]] = Column(Text)
    at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow, index=True)


class HandoverMessage(Base):
    """One message of a conversation a person took over from the assistant.

    ``direction`` "in" is the citizen's (kept for the officer instead of going to Rasa while the
    handover is taken; ``inbound_ref`` is the delivery's message id, so a re-handled delivery is
    stored once); "out" is the officer's or a notice (``kind`` "taken"/"returned"), delivered by
    the citizen's channel in the gateway, which sets ``delivered_at`` and ``outcome``.
    """

    __tablename__ = "handover_messages"

    id: Mapped[int] = Column(Integer, primary_key=True)
    handover_id: Mapped[int] = Column(ForeignKey("handover_requests.id", ondelete="CASCADE"), nullable=False,
                                      index=True)
    direction: Mapped[str] = Column(String(3), nullable=False)  # in|out
    kind: Mapped[str] = Column(String(12), nullable=False, default="text")  # text|voice|taken|returned|waiting
    body: Mapped[Optional[str]] = Column(Text)
    audio_path: Mapped[Optional[str]] = Column(String(500))
    author: Mapped[Optional[str]] = Column(String(64))
    inbound_ref: Mapped[Optional[str]] = Column(String(80), unique=True)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    delivered_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    outcome: Mapped[Optional[str]] = Column(String(16))



class ClosingRatingRequest(Base):
    """The satisfaction question sent with a report's ``selesai`` update, until it is answered.

    The answer arrives as an ordinary next message: if it is a rating it is stored as the
    report's ``after_closed`` rating; either way the request is settled (``settled_at``) and never
    asked again. Only reports with a reporter get one (an *anonim* report is never notified).
    """

    __tablename__ = "closing_rating_requests"

    id: Mapped[int] = Column(Integer, primary_key=True)
    report_id: Mapped[int] = Column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, unique=True)
    channel: Mapped[str] = Column(String(20), nullable=False)
    identity_hash: Mapped[str] = Column(String(64), nullable=False, index=True)
    asked_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    settled_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


class PendingReply(Base):
    """One reply of a handled turn that has not reached the provider yet: the reply outbox.

    Written in the transaction that marks the delivery handled, before any provider call, one row
    per provider call, in order (``position``); deleted as soon as the provider accepts it. So the
    table holds only what is still to send, and a reply leaves nothing here once sent. ``address``
    and the reply itself (text, buttons, voice note) are personal data kept for minutes at most.
    A row found at start-up may have gone out or not: see channels/reply_outbox.py.
    """

    __tablename__ = "pending_replies"

    id: Mapped[int] = Column(Integer, primary_key=True)
    delivery_id: Mapped[int] = Column(Integer, nullable=False)
    channel: Mapped[str] = Column(String(20), nullable=False)
    position: Mapped[int] = Column(Integer, nullable=False)
    address: Mapped[str] = Column(String(64), nullable=False)
    # The intake's per-sender key (the sender hash), so a resumed reply keeps its place in line.
    sender_key: Mapped[Optional[str]] = Column(String(64))
    # An anonim filing's replies: logged (outbound_messages) with no sender.
    anonymous: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    reply: Mapped[dict] = Column(JSON, nullable=False)  # {"text", "buttons", "image"}
    voice_ogg: Mapped[Optional[bytes]] = Column(LargeBinary)
    # Provider calls that failed in a way that proves nothing went out (busy, no connection).
    attempts: Mapped[int] = Column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


Index("ix_pending_replies_delivery", PendingReply.delivery_id, PendingReply.position)
Index("ix_pending_replies_channel", PendingReply.channel, PendingReply.id)


class WebReply(Base):
    """What the web chat page of one device still has to show: a bounded, per-device mailbox.

    Why a table and not memory: the page may be closed, on a phone that lost its signal, or the
    gateway may restart mid-conversation; the page then reconnects with the id of the last item
    it has and gets only what it missed. An item the page confirms loses its content at once
    (``kind`` "seen", body emptied, voice dropped: channels/web_send.py), so the table holds
    minutes of replies, not a history; the emptied row stays (at most 100 per device, a day at
    most) only so that SQLite, which reuses the highest id after a delete, never gives a new item
    an id a page already has. A device is known only by the keyed hash of its random id.
    ``source`` ("<delivery>#<n>") makes storing the replies of a retried turn a no-op.
    """

    __tablename__ = "web_replies"
    __table_args__ = (UniqueConstraint("identity_hash", "source", name="uq_web_replies_source"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    identity_hash: Mapped[str] = Column(String(64), nullable=False)
    source: Mapped[str] = Column(String(120), nullable=False)
    # "reply" (the assistant), "heard" (the transcript of the citizen's voice note), or "seen"
    # (confirmed by the page: its content is gone).
    kind: Mapped[str] = Column(String(8), nullable=False, default="reply")
    body: Mapped[dict] = Column(JSON, nullable=False)  # {"text", "buttons", "image"}
    voice_ogg: Mapped[Optional[bytes]] = Column(LargeBinary)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)


Index("ix_web_replies_device", WebReply.identity_hash, WebReply.id)


class StaffSession(Base):
    """A signed-in console session; only a SHA-256 of the session id (the cookie) is kept.

    Deleted at logout, refused after ``expires_at``: the cookie alone is worth nothing.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = Column(Integer, primary_key=True)
    digest: Mapped[str] = Column(String(64), nullable=False, unique=True)
    account_id: Mapped[int] = Column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), nullable=False,
                                     index=True)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)

    account = relationship("StaffAccount")


class Lease(Base):
    """Which replica runs a background job now (issue 19): one row per job, taken with an expiry.

    Why a row and not an advisory lock: SQLite has none, and a row shows an operator who holds
    what and until when. A holder renews before ``expires_at``; a crashed holder's lease lapses
    and another replica takes over (storage/leases.py).
    """

    __tablename__ = "leases"

    name: Mapped[str] = Column(String(64), primary_key=True)
    holder: Mapped[str] = Column(String(120), nullable=False)
    expires_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
