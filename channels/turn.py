"""The handling path every channel shares once a delivery is parsed.

Why one place: identity hashing, the reporter's address and last-message time, attachments,
the accessibility layer and the call into Rasa must behave the same on Telegram, SMS and
WhatsApp; only parsing and sending differ per channel. Rasa's replies are collected
(CollectingOutputChannel) rather than sent by Rasa, so the accessibility layer can render them
(voice notes, numbered choices) before the channel sends them its own way.

Cost (every turn pays it): what a turn needs to know before Rasa runs (where to reply, the
WhatsApp window, the attachment count, the accessibility profile) is read and written in one
transaction (:meth:`Conversation.arrived`); the profile read there is what the accessibility
layer then uses from memory. After Rasa, the remembered profile is dropped, because the action
server may have just changed it ("jawab dengan suara"), so that change counts from this reply on.

A turn Rasa could not complete (after the relay's retries) is never silent: the citizen is told,
once per message, in their profile's form (simple language, voice), that it is kept and will be
answered, and :class:`channels.delivery.Postponed` hands the delivery back to the intake, which
tries it again later under the same message id.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import UserMessage

from accessibility.pipeline import AccessibilityLayer, Incoming, Outgoing
from channels import messages
from channels.collector import collector_class
from channels.delivery import Postponed, current
from channels.handover import keep_for_person
from channels.limits import capped, rasa_text
from storage.identity import identity_hash, sender_id
from storage.repositories import AttachmentRepository, ReporterRepository

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# Channels that may answer freely only for a while after the person's last message (WhatsApp:
# 24 hours); only for them is the time of the last message kept (to the hour: reporters.py).
REPLY_WINDOW_CHANNELS = frozenset({"whatsapp"})


class Conversation:
    """One channel's bridge from a parsed delivery to the replies to send."""

    def __init__(self, channel: str, settings, database, on_new_message: OnNewMessage,
                 layer: Optional[AccessibilityLayer] = None) -> None:
        self.channel = channel
        self.settings = settings
        self.database = database
        self.on_new_message = on_new_message
        self.layer = layer or AccessibilityLayer(settings, database)
        self._key = settings.identity_key

    def identity(self, user_id: str) -> str:
        return identity_hash(self._key, self.channel, str(user_id))

    def sender_id(self, hashed: str) -> str:
        return sender_id(self.channel, hashed)

    async def arrived(self, hashed: str, address: str) -> int:
        """A message from this person arrived: one transaction for what every turn needs first.

        Keeps where to reply and, on WhatsApp, the hour they last wrote (its 24-hour window), loads their
        profile for the accessibility layer, and returns how many files the report in progress
        has (``metadata["attachments"]``).
        """
        ref = self.sender_id(hashed)

        def work() -> int:
            with self.database.session() as session:
                ReporterRepository(session).wrote_in(self.channel, hashed, address,
                                                     window=self.channel in REPLY_WINDOW_CHANNELS)
                self.layer.state.load_in(session, self.channel, hashed)
                return AttachmentRepository(session).count_pending(ref)
        return await asyncio.to_thread(work)

    async def save_attachment(self, hashed: str, kind: str, media_type: str,
                              file_name: Optional[str], data: bytes) -> int:
        """Store a file for the report in progress; returns how many this conversation has sent."""
        directory = self.settings.data_dir / "attachments"
        ref = self.sender_id(hashed)

        def work() -> int:
            with self.database.session() as session:
                repository = AttachmentRepository(session)
                repository.save(sender_ref=ref, kind=kind, media_type=media_type or "application/octet-stream",
                                file_name=file_name, data=data, directory=directory)
                return repository.count_pending(ref)
        return await asyncio.to_thread(work)

    async def mark_unreachable(self, hashed: str) -> None:
        def work() -> None:
            with self.database.session() as session:
                ReporterRepository(session).mark_unreachable(self.channel, hashed)
        await asyncio.to_thread(work)

    async def address_of(self, hashed: str) -> Optional[str]:
        def work() -> Optional[str]:
            with self.database.session() as session:
                reporter = ReporterRepository(session).get(self.channel, hashed)
                return reporter.address if reporter is not None else None
        return await asyncio.to_thread(work)

    def finisher(self, hashed: str, then: Optional[Callable[[Any], None]] = None) -> Optional[Callable[[Any], None]]:
        """What the turn still has to store, for the transaction that marks the delivery handled.

        The choices just shown go to the profile there (see AccessibilityLayer.render), plus
        ``then``, the channel's own writes; None when there is nothing to store.
        """
        choices = self.layer.after_turn(self.channel, hashed)
        if choices is None or then is None:
            return choices or then

        def both(session) -> None:
            choices(session)
            then(session)
        return both

    async def apology(self, hashed: str, can_send_voice: bool) -> List[Outgoing]:
        """"Your message is kept and will be answered", in the citizen's simple/voice form."""
        profile = await asyncio.to_thread(self.layer.state.profile, self.channel, hashed)
        reply = Outgoing(text=messages.KEPT_FOR_LATER.text(profile.simple_language))
        if can_send_voice and profile.voice_replies:
            try:
                reply.voice_ogg = await self.layer.text_to_speech().voice_note(reply.text, profile.speech_rate)
            except Exception:  # noqa: BLE001 - the text still goes out
                log.exception("no voice note for the apology; sending text only")
        return [reply]

    async def turn(self, hashed: str, *, text: Optional[str] = None, audio: Optional[bytes] = None,
                   audio_mime: Optional[str] = None, metadata: Optional[Dict[str, Any]] = None,
                   can_send_voice: bool = True) -> List[Outgoing]:
        """Accessibility in, Rasa, accessibility out: the replies for this one message."""
        meta = {"channel": self.channel, **(metadata or {})}
        incoming = Incoming(channel=self.channel, identity_hash=hashed,
                            text=capped(text) if text is not None else None, audio=audio,
                            audio_mime=audio_mime, metadata=meta)
        for_rasa, early = await self.layer.prepare(incoming)
        replies: List[Outgoing] = list(early or [])
        if for_rasa is None:
            return replies
        delivery = current()
        # A staff member holds this conversation (console handover): the message is theirs,
        # not Rasa's, so the dialogue stays where it was until they hand back. They read what
        # was typed (not a choice's payload), or the transcript of a voice note.
        said = incoming.text if incoming.text is not None else for_rasa.text
        if await keep_for_person(self.database, self.settings.data_dir, self.sender_id(hashed), said,
                                 audio, audio_mime, delivery.message_id if delivery is not None else None):
            return replies
        collector = collector_class(self.channel)()
        try:
            await self.on_new_message(UserMessage(
                rasa_text(for_rasa.text), collector, self.sender_id(hashed),
                input_channel=self.channel, metadata=for_rasa.metadata,
                message_id=delivery.message_id if delivery is not None else None,
            ))
        except Exception as error:  # noqa: BLE001 - answered below, and tried again later
            where = f"delivery #{delivery.id}" if delivery is not None else "a message"
            log.error("%s %s: the turn failed (%s: %s); the citizen is told it is kept",
                      self.channel, where, type(error).__name__, error)
            told = [] if delivery is not None and delivery.apologised else await self.apology(hashed, can_send_voice)
            raise Postponed(f"{type(error).__name__}: {error}"[:300], replies + told) from error
        finally:
            self.layer.state.after_rasa(self.channel, hashed)
        rendered = await self.layer.render(self.channel, hashed, collector.messages, can_send_voice)
        return replies + list(rendered)
