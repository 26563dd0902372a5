"""A simulated citizen: the facts it wants to report and how it answers each question.

A :class:`Persona` is data (made by tests/conversations/generator.py): the report it wants to
file and its habits. A :class:`Citizen` plays it: given the question the assistant is asking
(tests/conversations/questions.py) it answers like a person would, in its own phrasing, by
pressing a button, typing its number or its title, or in words; sometimes with several facts at
once; with interruptions (help, repeat, cancel then continue, simple language, status) where the
persona has them. It never reads the dialogue's internals (no slot names, no intents).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional

from tests.conversations.questions import Option, Question, lists_numbers

FORM_QUESTIONS = ("report_type", "description", "category", "location", "date", "privacy", "readback")
FIELD_WORDS = {"incident_date": ("tanggal",), "location": ("lokasi", "tempat"), "privacy": ("privasi",),
               "report_type": ("jenis",), "description": ("cerita",)}
TYPE_BUTTON_WORDS = {"pengaduan": ("pengaduan",), "aspirasi": ("aspirasi",),
                     "permintaan_informasi": ("informasi",)}
PRIVACY_LABEL = re.compile(r"privasi\s*:\s*([a-z]+)", re.IGNORECASE)
TYPE_LABEL = re.compile(r"jenis\s*:\s*([a-z ]+)", re.IGNORECASE)


@dataclass
class Interrupt:
    kind: str                 # help | repeat | cancel | simple | voice | status
    at: str                   # the question it is said at (a FORM_QUESTIONS kind)
    text: str
    follow: Optional[str] = None  # cancel: what is said at the confirmation ("eh jangan, lanjut saja")
    answer_instead: bool = False  # cancel: answer the pending question at the confirmation instead
    done: bool = False


@dataclass
class Persona:
    pid: str
    split: str
    channel: str                          # rest | telegram | sms
    report_type: str
    category: str
    category_keywords: List[str]
    description: str
    description_source: str               # the pool text it was written from (before typos and style)
    detail: str                           # said when asked for more detail
    place: Dict[str, Any]                 # {text, region, code, province}
    region_answer: str                    # "kota bandung": when asked which kabupaten/kota
    date: Dict[str, Any]                  # a dates.yml item (text + expectation)
    privacy: str                          # biasa | rahasia | anonim
    privacy_text: str
    openers: List[str]
    rich: bool = False                    # the opener already says what, where and when
    style: str = "normal"                 # terse | normal | chatty
    button_habit: str = "click"           # click | number | title | words
    raw_numbers: bool = False             # REST: a typed digit is sent as it is (no chat client mapping)
    attentive: bool = True                # checks type and privacy in the read-back
    multi: Optional[str] = None           # several facts in one answer: place_date | story_place | date_privacy
    interrupts: List[Interrupt] = field(default_factory=list)
    slip: Optional[Dict[str, Any]] = None  # {field, value, phrase}: a wrong answer corrected at read-back
    replies: Dict[str, List[str]] = field(default_factory=dict)
    type_words: List[str] = field(default_factory=list)
    intent: str = "min mau lapor"
    seed: int = 0

    def summary(self) -> Dict[str, Any]:
        return {"pid": self.pid, "channel": self.channel, "type": self.report_type, "category": self.category,
                "place": self.place["text"], "code": self.place.get("code"), "date": self.date["text"],
                "privacy": f"{self.privacy} ({self.privacy_text!r})", "rich": self.rich, "habit": self.button_habit,
                "interrupts": [f"{item.kind}@{item.at}" for item in self.interrupts],
                "slip": self.slip["field"] if self.slip else None}


@dataclass(frozen=True)
class Action:
    """What the citizen does: type ``text``, or pick ``option`` (press it, or type its number)."""

    text: str
    option: Optional[Option] = None
    how: str = "type"                     # type | press | number | raw_number (a digit no client maps)
    note: str = ""                        # why, for transcripts


class Citizen:
    def __init__(self, persona: Persona) -> None:
        self.p = persona
        self.rng = random.Random(persona.seed)
        self.openers = list(persona.openers)
        # A copy: the same persona may be played again (another channel, a second run).
        self.interrupts = [replace(item, done=False) for item in persona.interrupts]
        self.told: set = set()            # facts said so far: type, description, location, date, privacy
        self.asked: Dict[str, int] = {}   # how often each question kind was seen
        self.last_fact: Optional[str] = None
        self.answered: Dict[str, int] = {}  # how often it answered each question kind
        self.pending_cancel: Optional[Interrupt] = None
        self.asked_status = False
        self.interrupted_at: Optional[str] = None  # the question pending when it interrupted
        self.slip_state = "unused" if persona.slip else "none"  # unused -> said -> correcting -> fixed
        self.correcting: Optional[str] = None
        self.last_question: Optional[str] = None
        self.unknown_streak = 0
        if persona.rich:
            self.told.update({"type", "description", "location", "date"})
            self.last_fact = persona.openers[-1] if persona.openers else None

    # --- helpers ----------------------------------------------------------------------------
    def _reply(self, kind: str) -> str:
        return self.rng.choice(self.p.replies.get(kind) or ["ya"])

    def _pick(self, question: Question, option: Optional[Option], words: str, note: str = "") -> Action:
        """Choose ``option`` the persona's way; ``words`` when there is no option or it types words."""
        habit = self.p.button_habit
        if option is None or habit == "words":
            return Action(words, note=note)
        if habit == "click" and option.payload is not None:
            return Action(option.title, option, "press", note)
        if habit in ("click", "number"):
            # Typed as a bare digit, unmapped by a chat client, only where the text shows numbers.
            raw = self.p.raw_numbers and lists_numbers(question.text)
            return Action(str(option.number), option, "raw_number" if raw else "number", note)
        return Action(option.title, option, "type", note)

    def _fact(self, name: str, text: str, note: str = "") -> Action:
        self.told.add(name)
        self.last_fact = text
        return Action(text, note=note)

    def _date_text(self) -> str:
        if self.slip_state == "unused" and self.p.slip and self.p.slip["field"] == "incident_date":
            self.slip_state = "said"
            return self.p.slip["value"]
        return self.p.date["text"]

    def _place_text(self) -> str:
        if self.slip_state == "unused" and self.p.slip and self.p.slip["field"] == "location":
            self.slip_state = "said"
            return self.p.slip["value"]
        return self.p.place["text"]

    def _explicit_date(self) -> str:
        """A plainer restatement of the persona's date, as people do when not understood."""
        from tests.conversations.expectations import date_range

        wanted = date_range(self.p.date)
        if wanted is None:
            return self._reply("unknown_date") if self.p.replies.get("unknown_date") else "tidak tahu"
        middle = wanted[0] + (wanted[1] - wanted[0]) / 2
        return f"{middle.day}/{middle.month}/{middle.year}"

    def _interrupt_for(self, kind: str) -> Optional[Interrupt]:
        for item in self.interrupts:
            if not item.done and item.at == kind:
                return item
        return None

    # --- the answer to one question ------------------------------------------------------------
    def respond(self, question: Question) -> Action:
        kind = question.kind
        first_time = kind not in self.asked
        self.asked[kind] = self.asked.get(kind, 0) + 1
        self.last_question = kind

        if self.openers:
            return Action(self.openers.pop(0), note="opener")
        if kind == "cancel_confirm":
            return self._at_cancel_confirmation(question)

        interrupt = self._interrupt_for(kind)
        slip_pending = kind == "readback" and self.slip_state not in ("none", "fixed")
        if interrupt is not None and (first_time or kind == "readback") and not slip_pending:
            interrupt.done = True
            self.interrupted_at = kind
            if interrupt.kind == "cancel":
                self.pending_cancel = interrupt
            if interrupt.kind == "status":
                self.asked_status = True
            return Action(interrupt.text, note=f"interrupt:{interrupt.kind}")

        handler = getattr(self, f"_on_{kind}", None)
        if handler is None or kind == "unknown":
            return self._on_unknown(question)
        self.unknown_streak = 0
        answered = self.answered.get(kind, 0)
        self.answered[kind] = answered + 1
        return handler(question, answered)

    def _at_cancel_confirmation(self, question: Question) -> Action:
        interrupt, self.pending_cancel = self.pending_cancel, None
        if interrupt is not None and interrupt.answer_instead and self.last_fact:
            return Action(self.last_fact, note="answers the pending question at the cancel confirmation")
        if interrupt is not None and interrupt.follow:
            words = interrupt.follow
        else:  # a confirmation the persona never asked for ("kec. sukajadi" heard as "jadi")
            words = self.rng.choice(["bukan, saya tidak mau batal", "tidak, lanjut", "lho, jangan dibatalkan"])
        keep = question.option_matching("lanjut", "tidak")
        if keep is not None and self.p.button_habit in ("click", "number") and self.rng.random() < 0.4:
            return self._pick(question, keep, words, note="keeps the report")
        return Action(words, note="keeps the report")

    def _on_menu(self, question: Question, seen: int) -> Action:
        option = question.option_matching(*TYPE_BUTTON_WORDS[self.p.report_type])
        if self.told and self.last_fact and seen >= 2:
            return Action(self.last_fact, note="repeats the last fact at a menu")
        if seen >= 1 and option is not None:  # words failed once: now the button, as anyone would
            how = "press" if option.payload is not None else "number"
            return Action(option.title if how == "press" else str(option.number), option, how, "picks the button")
        return self._pick(question, option, self.p.intent)

    def _on_onboarding(self, question: Question, seen: int) -> Action:
        skip = question.option_matching("lewati", "tidak")
        return self._pick(question, skip, self._reply("skip"))

    def _on_report_type(self, question: Question, seen: int) -> Action:
        self.told.add("type")
        option = question.option_matching(*TYPE_BUTTON_WORDS[self.p.report_type])
        words = self.rng.choice(self.p.type_words or [self.p.report_type])
        return self._pick(question, option, words)

    def _on_description(self, question: Question, seen: int) -> Action:
        if "description" in self.told and seen >= 1:
            return self._fact("description", self.p.description + " " + self.p.detail)
        if self.p.multi == "story_place" and seen == 0 and "location" not in self.told:
            self.told.add("location")
            return self._fact("description", f"{self.p.description}, di {self._place_text()}",
                              note="story and place at once")
        return self._fact("description", self.p.description)

    def _on_description_more(self, question: Question, seen: int) -> Action:
        return self._fact("description", self.p.detail)

    def _on_category(self, question: Question, seen: int) -> Action:
        option = question.option_matching(*self.p.category_keywords)
        if option is None:
            option = question.option_matching("tidak tahu", "lainnya") or (question.options[-1] if question.options else None)
        words = option.title if option else self.p.category_keywords[0]
        return self._pick(question, option, words)

    def _on_location(self, question: Question, seen: int) -> Action:
        if self.correcting == "location":
            self.correcting, self.slip_state = None, "fixed"
            return self._fact("location", self.p.place["text"])
        if seen >= 2:
            return self._fact("location", self.p.region_answer)
        text = self._place_text()
        if self.p.multi == "place_date" and "date" not in self.told and seen == 0:
            self.told.add("date")
            return self._fact("location", f"{text}, {self.p.date.get('inline', self.p.date['text'])}",
                              note="place and date at once")
        return self._fact("location", text)

    def _on_region_name(self, question: Question, seen: int) -> Action:
        return self._fact("location", self.p.region_answer)

    def _on_region_choice(self, question: Question, seen: int) -> Action:
        region = self.p.place.get("region") or ""
        core = re.sub(r"^(kabupaten administrasi|kota administrasi|kabupaten|kota)\s+", "", region.lower())
        level = "kota" if region.lower().startswith("kota") else "kabupaten"
        best = None
        for option in question.options:
            title = option.title.lower()
            if core and core in title and (level in title or ("kab" in title) == (level == "kabupaten")):
                best = option
                break
        if best is None:
            best = question.option_matching(core) if core else None
        if best is None:
            best = question.option_matching("tidak ada", "bukan")
        return self._pick(question, best, self.p.region_answer)

    def _on_date(self, question: Question, seen: int) -> Action:
        if self.correcting == "incident_date":
            self.correcting, self.slip_state = None, "fixed"
            return self._fact("date", self.p.date["text"])
        if self.p.multi == "date_privacy" and seen == 0 and "privacy" not in self.told:
            self.told.add("privacy")
            return self._fact("date", f"{self._date_text()}, {self.p.privacy_text}", note="date and privacy at once")
        if seen >= 1 and "date" in self.told:
            if self.slip_state == "said":
                self.slip_state = "fixed"  # restating, it gives the right date this time
            return self._fact("date", self._explicit_date(), note="restates the date plainly")
        return self._fact("date", self._date_text())

    def _on_date_estimate(self, question: Question, seen: int) -> Action:
        if self.p.date.get("unknown"):
            return self._fact("date", self.rng.choice(["tidak tahu", "benar-benar tidak ingat", "tidak tahu, maaf"]))
        return self._fact("date", self._explicit_date(), note="restates the date plainly")

    def _on_privacy(self, question: Question, seen: int) -> Action:
        option = question.option_matching(self.p.privacy)
        if seen >= 1:  # not understood once: now the button, as the options suggest
            self.told.add("privacy")
            return self._pick(question, option, self.p.privacy)
        if self.p.button_habit in ("click", "number") and self.rng.random() < 0.5:
            self.told.add("privacy")
            return self._pick(question, option, self.p.privacy_text)
        return self._fact("privacy", self.p.privacy_text)

    def _readback_problem(self, text: str) -> Optional[str]:
        if not self.p.attentive:
            return None
        privacy = PRIVACY_LABEL.search(text)
        if privacy and privacy.group(1).lower() in ("biasa", "rahasia", "anonim") and privacy.group(1).lower() != self.p.privacy:
            return "privacy"
        kind = TYPE_LABEL.search(text)
        if kind:
            said = kind.group(1).strip().lower()
            expected = {"pengaduan": "pengaduan", "aspirasi": "aspirasi", "permintaan_informasi": "permintaan"}
            if said.split()[0] in expected.values() and not said.startswith(expected[self.p.report_type]):
                return "report_type"
        return None

    def _on_readback(self, question: Question, seen: int) -> Action:
        if self.slip_state == "said":
            field_name = self.p.slip["field"]
            self.slip_state, self.correcting = "correcting", field_name
            return Action(self.p.slip["phrase"], note=f"corrects the {field_name}")
        problem = self._readback_problem(question.text)
        if problem and seen < 3:
            self.correcting = problem
            return Action(f"tidak, {'privasinya' if problem == 'privacy' else 'jenisnya'} salah",
                          note=f"read-back shows a wrong {problem}")
        option = question.option_matching("ya", "kirim", "benar")
        return self._pick(question, option, self._reply("yes"))

    def _on_field(self, question: Question, seen: int) -> Action:
        wanted = self.correcting or (self.p.slip["field"] if self.p.slip else "incident_date")
        option = question.option_matching(*FIELD_WORDS.get(wanted, ("tanggal",)))
        words = {"incident_date": "tanggalnya", "location": "lokasinya", "privacy": "privasi",
                 "report_type": "jenis laporan", "description": "ceritanya"}[wanted]
        if wanted in ("privacy", "report_type"):
            self.correcting = None  # answered by the regular handlers when asked again
        return self._pick(question, option, words)

    def _on_heard(self, question: Question, seen: int) -> Action:
        option = question.option_matching("ya")
        return self._pick(question, option, self._reply("yes"))

    def _on_satisfaction(self, question: Question, seen: int) -> Action:
        return Action(self._reply("satisfaction"))

    def _on_cancelled(self, question: Question, seen: int) -> Action:
        return Action(f"lho kok dibatalkan? {self.p.intent}", note="the report was cancelled unasked")

    def _on_nothing_to_cancel(self, question: Question, seen: int) -> Action:
        return Action(self.p.intent, note="it never asked to cancel: says what it wants")

    def _on_tracking_number(self, question: Question, seen: int) -> Action:
        if seen >= 1:
            option = question.option_matching("lewati", "batal")
            return self._pick(question, option, self._reply("skip"))
        if self.asked_status:  # it asked for its status itself, mid-form, and has no number yet
            return Action(self._reply("no_number"), note="has no number yet")
        return Action(f"{self._reply('new_report')}. {self.p.intent}",
                      note="the status question swallowed a new report")

    def _on_pin(self, question: Question, seen: int) -> Action:
        option = question.option_matching("lewati")
        return self._pick(question, option, self._reply("skip"))

    def _on_status(self, question: Question, seen: int) -> Action:
        return self._continue(question)

    def _on_handover(self, question: Question, seen: int) -> Action:
        return self._continue(question)

    def _continue(self, question: Question) -> Action:
        """After a statement: carry on with the report, answering the question it interrupted."""
        pending, self.interrupted_at = self.interrupted_at, None
        handler = getattr(self, f"_on_{pending}", None) if pending else None
        if handler is not None:
            answered = self.answered.get(pending, 0)
            self.answered[pending] = answered + 1
            action = handler(Question(pending, ""), answered)
            return replace(action, note="answers the question it interrupted")
        if self.last_fact:
            return Action(self.last_fact, note="carries on with the report")
        return Action(self.p.intent, note="carries on with the report")

    def _on_unknown(self, question: Question) -> Action:
        self.unknown_streak += 1
        if self.unknown_streak == 1 and not question.text.strip():
            return self._continue(question)
        if self.unknown_streak == 1:
            return Action(self._reply("confused"), note="does not understand the message")
        return self._continue(question)
