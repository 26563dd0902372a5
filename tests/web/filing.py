"""The filing conversation the browser tests hold: what to answer to each question, and what was filed."""
from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import Report
from tests.web.chat_page import texts

STORY = ("jalan di desa sukamaju kecamatan cibeber kabupaten cianjur rusak parah dan berlubang "
         "sejak 2 minggu lalu, kemarin ada motor jatuh")
# What the citizen answers, by the question on the screen (the story usually fills place and date).
ANSWERS = [
    ("Saya mendengar", "1"),  # a spoken answer read back when the layer was unsure: "1. Ya"
    ("kabupaten atau kota mana", "Kabupaten Cianjur, Jawa Barat"),
    ("Siapa yang boleh melihat", "1"),
    ("Sudah benar", "1"),
    ("Di mana", "Desa Sukamaju, Kecamatan Cibeber, Kabupaten Cianjur"),
    ("Kapan", "2 minggu lalu"),
    ("tanggalnya", "2 minggu lalu"),
    ("ceritakan", STORY),
]
FILED = re.compile(r"Nomor laporan Anda: (\d{4}-\d{4})")
MAX_TURNS = 10


def answer_for(reply: str) -> str:
    for cue, answer in ANSWERS:
        if cue.lower() in reply.lower():
            return answer
    raise AssertionError(f"no answer for the question {reply!r}")


def filed_number(page) -> str:
    for text in texts(page, "bot"):
        found = FILED.search(text)
        if found:
            return found.group(1)
    return ""


def report(stack, number: str) -> Report:
    with stack["database"].session() as session:
        return session.execute(select(Report).where(Report.tracking_number == number)).scalar_one()
