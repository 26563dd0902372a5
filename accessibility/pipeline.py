"""The accessibility seam between every channel and Rasa.

Why one layer: voice in, voice out, typed commands, spoken choices and per-user preferences
must behave the same on Telegram, WhatsApp, SMS and the local REST channel. A channel hands
:meth:`AccessibilityLayer.prepare` what it received (already downloaded) and sends whatever
:meth:`AccessibilityLayer.render` returns; it never needs to know about speech or profiles.

Contract (docs/architecture.md, "Accessibility seam"):

* ``prepare`` returns ``(ForRasa, [])`` for a normal turn, or ``(None, replies)`` when the layer
  answers by itself (audio too long, empty, corrupt or not audio; nothing heard; ``/pelan``).
  It never raises for bad user input. Commands ``/suara /teks /sederhana /biasa`` update the
  profile *and* become ``/choose_voice{...}`` / ``/choose_simple_language{...}`` so the dialogue
  sets its slots and carries on with the form where it was.
* ``render`` turns Rasa's CollectingOutputChannel messages into :class:`Outgoing` units, adds a
  voice note (text kept too) when the profile asks for voice and the channel can send it, and
  remembers the buttons so "dua" or "yang kedua" picks one on the next turn.

The last buttons are kept in memory only (bounded LRU per channel + identity): after a restart
a bare number goes to Rasa as text, which the dialogue can still handle.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from accessibility import choices, status_updates
from shared.citizen_text import entry, say
from accessibility.closing_rating import rating_of
from accessibility.profiles import Preferences, defaults_from_settings
from accessibility.user_state import NOT_SEEN, Shown, UserState

logger = logging.getLogger(__name__)


@dataclass
class Incoming:
    """What a channel received, already downloaded."""

    channel: str  # "telegram" | "sms" | "whatsapp" | "rest"
    identity_hash: str
    text: Optional[str] = None
    audio: Optional[bytes] = None  # voice note or audio file
    audio_mime: Optional[str] = None  # "audio/ogg", "audio/mpeg", "audio/amr", ...
    metadata: dict = field(default_factory=dict)  # passed on to Rasa (event_code, location_pin, ...)


@dataclass
class ForRasa:
    text: str  # may be a "/intent{...}" command
    metadata: dict  # Incoming.metadata + channel, input_mode, stt_confidence, profile


@dataclass
class Outgoing:
    """One reply unit, channel-neutral: text and voice of the same reply travel together."""

    text: Optional[str] = None
    buttons: list = field(default_factory=list)  # [{"title": "Pengaduan", "payload": "/..."}]
    voice_ogg: Optional[bytes] = None  # OGG/Opus voice note
    image: Optional[str] = None
    # An approved WhatsApp template instead of text: (Content SID "HX...", ContentVariables JSON).
    # Only a status update outside the 24-hour window carries one (channels/whatsapp_templates.py).
    template: Optional[tuple] = None


# Typed commands: profile change + the Rasa message that lets the dialogue set its slot.
_INTENT_COMMANDS = {
    "/suara": ({"voice_replies": True}, "choose_voice"),
    "/teks": ({"voice_replies": False}, "choose_voice"),
    "/sederhana": ({"simple_language": True}, "choose_simple_language"),
    "/biasa": ({"simple_language": False}, "choose_simple_language"),
}
# Speech speed has no slot in the dialogue: the layer confirms and repeats the last reply.
_RATE_COMMANDS = {
    "/pelan": ("slow", "speech.slower"),
    "/normal": ("normal", "speech.normal_speed"),
}
# "/suara@SapaLaporBot" (Telegram groups) and "/Suara " are the same command.
_COMMAND = re.compile(r"^\s*(/[A-Za-z]+)(?:@\w+)?\s*$")

# The layer's own words are in accessibility/citizen_text.yml (with their simple variants).
NOTHING_HEARD = entry("speech.nothing_heard").regular
# A decode that looped ("7773333...") is never an answer: the question is asked again.
UNCLEAR = {"regular": entry("speech.unclear").regular, "simple": entry("speech.unclear").simple}
# Why a voice note could not be used (AudioRejected.reason) -> its catalogue entry.
_REJECTIONS = ("too_long", "empty", "not_audio", "busy", "unavailable")


def command_of(text: Optional[str]) -> Optional[str]:
    """The accessibility command in ``text`` ("/suara"), or None for anything else."""
    if not text:
        return None
    match = _COMMAND.match(text)
    if not match:
        return None
    command = match.group(1).lower()
    return command if command in _INTENT_COMMANDS or command in _RATE_COMMANDS else None


def rasa_command(intent: str, entities: dict) -> str:
    """``/choose_voice{"voice_replies": true}``: Rasa's message syntax for an intent with entities."""
    return f"/{intent}{json.dumps(entities, separators=(', ', ': '))}"


class AccessibilityLayer:
    """Voice, commands, choices and profiles for every channel (see the module docstring).

    ``speech_to_text`` / ``text_to_speech`` may be passed in (tests, the benchmark); otherwise
    they are built from config on first use, so a text-only turn never loads a speech model.
    """

    def __init__(
        self,
        settings: Any,
        database: Any,
        *,
        speech_to_text: Any = None,
        text_to_speech: Any = None,
        remember: int = 10_000,
    ) -> None:
        self._settings = settings
        # Profiles, choices shown, owed closing ratings: one store, with an explicit after-turn step.
        self.state = UserState(database, defaults_from_settings(settings), remember)
        self._profiles = self.state.profiles
        self._closing = self.state.closing_ratings
        self._stt = speech_to_text
        self._tts = text_to_speech
        # A spoken pick below this confidence goes to Rasa as words, to be read back.
        self._confirm_below = settings.section("accessibility.speech_to_text").get("confirm_below", 0.25, kind=float)
        self._build_lock = threading.Lock()

    # ----------------------------------------------------------------------------- inbound
    async def prepare(self, incoming: Incoming) -> tuple[Optional[ForRasa], list[Outgoing]]:
        key = (incoming.channel, incoming.identity_hash)
        await self.settle(*key)  # the previous turn's choices are stored before this one reads them
        metadata = dict(incoming.metadata or {})
        metadata.setdefault("channel", incoming.channel)
        metadata["input_mode"] = "text"
        metadata["stt_confidence"] = None
        text = incoming.text

        shown = self.state.shown(*key, default=NOT_SEEN)
        transcript = None
        if incoming.audio is not None:
            from accessibility.speech_to_text import AudioRejected

            expects, titles = await self._expected(incoming, shown)
            try:
                transcript = await self.speech_to_text().transcribe(
                    incoming.audio, incoming.audio_mime, expects=expects, titles=titles)
            except AudioRejected as rejected:
                logger.info(
                    "voice note from %s not transcribed: %s", incoming.channel, rejected.reason
                )
                return None, await self._own_reply(key, await self._rejection(key, rejected.reason))
            except Exception:  # a crash here would lose the user's turn without a word
                logger.exception("speech-to-text failed on a %s voice note (%s)", incoming.channel, incoming.audio_mime)
                return None, await self._own_reply(key, await self._rejection(key, "unavailable"))
            if not transcript.text.strip():
                if text and text.strip():  # a caption still says something
                    transcript = None
                else:
                    return None, await self._own_reply(key, await self._said(key, "speech.nothing_heard"))
            if transcript is not None and transcript.looping:
                logger.info("voice note from %s decoded as a loop; the question is asked again", incoming.channel)
                await self._voice_note_received(incoming)
                return None, await self._own_reply(key, await self._said(key, "speech.unclear"), repeat_last=True)
            if transcript is not None:
                text = transcript.text.strip()
                metadata["input_mode"] = "voice"
                metadata["stt_confidence"] = round(transcript.confidence, 3)
                if transcript.expects:
                    metadata["stt_expects"] = transcript.expects
                if transcript.answer is not None:
                    metadata["stt_answer"] = transcript.answer
                await self._voice_note_received(incoming)

        if await self._closing.waiting_now(*key) is not None:
            # The message after a "selesai" update with its satisfaction question (closing_rating).
            score = rating_of(text)
            await asyncio.to_thread(self._closing.settle, *key, score)
            if score is not None:
                return None, await self._own_reply(key, await self._said(key, "closing_rating.thanks"))

        command = command_of(text)
        if command in _INTENT_COMMANDS:
            changes, intent = _INTENT_COMMANDS[command]
            profile = await asyncio.to_thread(
                self._profiles.update, incoming.channel, incoming.identity_hash, **changes
            )
            metadata["profile"] = profile.as_metadata()
            return ForRasa(rasa_command(intent, changes), metadata), []
        if command in _RATE_COMMANDS:
            rate, confirmation = _RATE_COMMANDS[command]
            await asyncio.to_thread(
                self._profiles.update, incoming.channel, incoming.identity_hash, speech_rate=rate
            )
            return None, await self._own_reply(key, await self._said(key, confirmation), repeat_last=True)

        profile = await self._profile(incoming.channel, incoming.identity_hash)
        metadata["profile"] = profile.as_metadata()
        # After a restart the memory is empty: the choices stored on the profile still count.
        buttons = (profile.last_choices or []) if shown is NOT_SEEN else shown.buttons
        if transcript is not None and transcript.answer is not None:
            return ForRasa(self._spoken_answer(transcript, buttons, metadata), metadata), []
        if transcript is not None and transcript.expects == "yes_no" and not buttons:
            # A yes/no question takes no number heard out of nothing: the text goes on as said.
            return ForRasa(text or "", metadata), []
        chosen = choices.select(text, buttons)
        if chosen is not None:
            return ForRasa(choices.payload_of(chosen), metadata), []
        return ForRasa(text or "", metadata), []

    async def _expected(self, incoming: Incoming, shown: Any) -> tuple[Optional[str], list[str]]:
        """What the last question shown to this user expects, and the titles of its buttons.

        Kept in memory with the buttons; after a restart only the stored buttons are known,
        and a menu of them is a choice.
        """
        if shown is NOT_SEEN:
            profile = await self._profile(incoming.channel, incoming.identity_hash)
            buttons, expects = profile.last_choices or [], None
        else:
            buttons, expects = shown.buttons, shown.expects
        titles = [str(button.get("title", "")) for button in buttons]
        return expects or ("choice" if titles else None), titles

    def _spoken_answer(self, transcript: Any, buttons: list, metadata: dict) -> str:
        """What Rasa receives for a recognised expected answer.

        A confident pick of a button is its payload; an unsure one (calibrated confidence below
        ``confirm_below``) is the button's title as words, flagged ``stt_read_back``, so the
        dialogue reads it back before keeping it (bot/actions/read_back.py reads back an
        answer that is not a payload below ``confirm_below``).
        "ya" / "tidak" pick the button whose title starts so, when there is one; otherwise
        they go on as the words. A "tidak" never picks a numbered option by its sound.
        """
        from accessibility import speech_answers

        index = speech_answers.option_index(transcript.answer)
        if index is None and transcript.answer in (speech_answers.YES, speech_answers.NO):
            index = next((position for position, button in enumerate(buttons)
                          if speech_answers.yes_no_of(str(button.get("title", ""))) == transcript.answer), None)
        if index is None or index >= len(buttons):
            return transcript.text
        button = buttons[index]
        if transcript.confidence >= self._confirm_below:
            return choices.payload_of(button)
        metadata["stt_read_back"] = True
        return str(button.get("title") or transcript.text)

    async def _voice_note_received(self, incoming: Incoming) -> None:
        """Someone who speaks to us is answered by voice until they say otherwise (/teks).

        The switch is ``automatic``: it yields to a choice the user made earlier, which the
        profile keeps across restarts.
        """
        profile = await self._profile(incoming.channel, incoming.identity_hash)
        if not profile.voice_replies and not profile.voice_chosen:
            await asyncio.to_thread(
                self._profiles.update, incoming.channel, incoming.identity_hash,
                automatic=True, voice_replies=True,
            )
            logger.info("voice replies switched on after a voice note (%s)", incoming.channel)

    # ---------------------------------------------------------------------------- outbound
    async def _profile(self, channel: str, identity_hash: str) -> Preferences:
        """From memory when this process has it (most turns: the channel loaded it), else a read."""
        profile = self._profiles.cached(channel, identity_hash)
        if profile is None:
            profile = await asyncio.to_thread(self._profiles.get, channel, identity_hash)
        return profile

    async def render(
        self,
        channel: str,
        identity_hash: str,
        bot_messages: list[dict],
        can_send_voice: bool,
    ) -> list[Outgoing]:
        key = (channel, identity_hash)
        messages = [message for message in bot_messages if _has_content(message)]
        buttons: list = []
        expects: Optional[str] = None
        for message in bot_messages:
            if message.get("buttons"):
                buttons = list(message["buttons"])
            expects = _expects_of(message) or expects
        self.state.show(channel, identity_hash, Shown(buttons=buttons, messages=messages,
                                                      can_send_voice=can_send_voice, expects=expects))
        return await self._to_outgoing(key, messages, can_send_voice)

    def after_turn(self, channel: str, identity_hash: str) -> Optional[Callable[[Any], None]]:
        """What the turn left to store (the choices just shown), as a function of a session, or None.

        The channel runs it in the transaction that marks the delivery handled (UserState.after_turn).
        """
        return self.state.after_turn(channel, identity_hash)

    async def settle(self, channel: str, identity_hash: str) -> None:
        """Store the choices last shown now, if no caller took them with :meth:`after_turn`."""
        await asyncio.to_thread(self.state.store_now, channel, identity_hash)

    async def _to_outgoing(self, key: tuple, messages: list[dict], can_send_voice: bool) -> list[Outgoing]:
        replies = [
            Outgoing(
                text=_text_of(message),
                buttons=list(message.get("buttons") or []),
                image=message.get("image"),
            )
            for message in messages
        ]
        if not can_send_voice or not replies:
            return replies
        profile = await self._profile(*key)
        if not profile.voice_replies:
            return replies
        # Synthesised side by side: a turn of three replies waits for the slowest, not the sum.
        spoken = [reply for reply in replies if reply.text or reply.buttons]
        voices = await asyncio.gather(*(self._voice_for(reply, profile) for reply in spoken))
        for reply, voice in zip(spoken, voices):
            reply.voice_ogg = voice
        return replies

    async def _voice_for(self, reply: Outgoing, profile: Preferences) -> Optional[bytes]:
        """A voice note reading the reply (and its options); None if no engine could speak."""
        from accessibility.speech_text import speakable

        spoken = speakable(reply.text or "", reply.buttons)
        if not spoken:
            return None
        try:
            return await self.text_to_speech().voice_note(spoken, profile.speech_rate)
        except Exception:  # text still goes out: a reply must never be lost to a speech failure
            logger.exception("no voice note could be made; sending text only")
            return None

    async def _said(self, key: tuple, catalogue_key: str, **values: Any) -> str:
        """A catalogue entry in the form this citizen's profile asks for."""
        profile = await self._profile(*key)
        return say(catalogue_key, profile.simple_language, **values)

    async def _rejection(self, key: tuple, reason: str) -> str:
        """Why a voice note could not be used, in the citizen's form (too long: with the limit)."""
        if reason == "too_long":
            seconds = float(getattr(self.speech_to_text(), "max_seconds", 120) or 120)
            return await self._said(key, "speech.too_long", minutes=max(1, round(seconds / 60)))
        return await self._said(key, f"speech.{reason}" if reason in _REJECTIONS else "speech.unreadable")

    async def say(self, channel: str, identity_hash: str, catalogue_key: str, can_send_voice: bool,
                  **values: Any) -> list[Outgoing]:
        """A message of the channel's own (a file saved, a message it cannot read), as replies.

        In the citizen's form like every reply: simple language, and a voice note when their
        profile asks for voice and the channel can send it. The buttons remembered stay.
        """
        key = (channel, identity_hash)
        text = await self._said(key, catalogue_key, **values)
        return await self._to_outgoing(key, [{"text": text}], can_send_voice)

    async def status_update(self, notification: Any, can_send_voice: bool) -> list[Outgoing]:
        """A status change (storage.lifecycle.Notification) as replies in the citizen's form.

        Simple language when the profile asks for it, a voice note (at the chosen speed) when
        voice is on and the channel can send it; ``selesai`` adds the satisfaction question.
        Nothing is remembered as shown: a form in progress keeps its own buttons.
        """
        key = (notification.channel, notification.identity_hash)
        profile = await asyncio.to_thread(self._profiles.get, *key)
        messages = status_updates.messages_for(notification, simple=profile.simple_language)
        return await self._to_outgoing(key, messages, can_send_voice)

    async def status_update_delivered(self, notification: Any) -> None:
        """The update reached the citizen: after ``selesai`` their next message may be a rating."""
        if status_updates.asks_closing_rating(notification.status):
            await asyncio.to_thread(self._closing.asked, notification.channel, notification.identity_hash,
                                    notification.report_id)

    async def _own_reply(self, key: tuple, text: str, *, repeat_last: bool = False) -> list[Outgoing]:
        """A reply the layer writes itself; the remembered buttons stay, so a choice still works.

        It is spoken too when the profile asks for voice and this user's channel could send
        voice on the last turn (prepare does not otherwise know what the channel can send).
        """
        shown = self.state.shown(*key)
        messages = [{"text": text}] + (list(shown.messages) if repeat_last else [])
        return await self._to_outgoing(key, messages, shown.can_send_voice)

    # ------------------------------------------------------------------------ engines
    async def warm_up(self) -> None:
        """Start speech-to-text now (at server start) instead of on the first voice note.

        The bundled model is assembled and loaded in about 10 s; without this the first caller,
        often someone who cannot type, waits for it. With ``worker: true`` this starts the worker
        process, so the model never lands in the server process. Failures are logged, not
        raised: text turns work without a speech model.
        """
        try:
            await asyncio.to_thread(self.speech_to_text().warm_up)
        except Exception:
            logger.exception("speech-to-text model could not be loaded; voice notes will be refused kindly")

    async def close(self) -> None:
        """At the connector's stop: close what speech-to-text keeps open (the speech service's connections)."""
        stt = self._stt
        if stt is not None and hasattr(stt, "close"):
            await stt.close()

    def speech_to_text(self) -> Any:
        with self._build_lock:
            if self._stt is None:
                from accessibility.speech_to_text import SpeechToText

                self._stt = SpeechToText.from_settings(self._settings)
            return self._stt

    def text_to_speech(self) -> Any:
        with self._build_lock:
            if self._tts is None:
                from accessibility.text_to_speech import TextToSpeech

                self._tts = TextToSpeech.from_settings(self._settings)
            return self._tts


def _has_content(message: dict) -> bool:
    return bool(message.get("text") or message.get("buttons") or message.get("image"))


def _text_of(message: dict) -> Optional[str]:
    text = message.get("text")
    return str(text) if text is not None else None


def _expects_of(message: dict) -> Optional[str]:
    """The answer kind a bot reply declares: top-level "expects" (or inside "custom")."""
    custom = message.get("custom")
    declared = message.get("expects") or (custom.get("expects") if isinstance(custom, dict) else None)
    return str(declared) if declared else None
