"""What the channels themselves say to a citizen, each with its simple-language variant.

Why one catalogue: the dialogue's words live in the Rasa domain; what the channel layer says
on its own (a delay, a failure) lives here, so every entry has its simple variant next to it and
one test (tests/channels/test_messages.py) checks them all with the simple-language rules.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    regular: str
    simple: str

    def text(self, simple_language: bool) -> str:
        return self.simple if simple_language else self.regular


# The turn could not be completed (the assistant's servers failing); the message is kept and
# tried again, and answered then.
KEPT_FOR_LATER = Message(
    regular=("Maaf, sistem kami sedang bermasalah sehingga pesan Anda belum bisa dijawab. "
             "Pesan Anda sudah kami simpan dan akan kami jawab begitu sistem pulih. "
             "Anda tidak perlu mengirim ulang."),
    simple=("Maaf, sistem kami sedang rusak. Pesan Anda sudah kami simpan. "
            "Nanti kami jawab. Tidak perlu kirim lagi."),
)

CATALOGUE = {"kept_for_later": KEPT_FOR_LATER}
