"""``python -m bot.rasa_server run ...``: Rasa's own command line, with bot/rasa_patches.py applied.

skops is imported first on purpose: at import it looks up the module of each of scikit-learn's
~765 public types by scanning every loaded module, so imported after TensorFlow and Rasa
(thousands of modules) it costs about 8 s more of start-up; imported before them, a fraction.
Rasa's intent classifier needs it to load the model.

The cached tracker store (bot/tracker_store.py) is imported here on purpose too: Rasa falls back
to an in-memory tracker store, with only a warning, when a configured class cannot be imported,
and a server that forgets conversations on restart must not start at all.

This is the entry point that reads config.yml for the Rasa process: the gateway's relay channel
(channels/relay.py) gets its token from here, in memory, before Rasa loads the channels named in
credentials.yml (a file on disk, which therefore never holds the token).
"""
from __future__ import annotations

import sys

import skops.io  # noqa: F401,I001  (before Rasa: see the module docstring)
import logging

# skops' scan imports numpy.distutils, whose log module turns the *root* logger into its own
# ``Log`` class; that class's ``_log`` takes no ``exc_info``, so every ``logging.exception`` on
# the root logger (ours, Rasa's, a library's) raised TypeError instead of logging. The module
# is imported once, so putting the class back here holds for the rest of the process.
if type(logging.getLogger()) is not logging.RootLogger:
    logging.getLogger().__class__ = logging.RootLogger

import bot.tracker_store  # noqa: F401  (see the module docstring)
from bot import rasa_patches


def configure_relay() -> None:
    """Give the relay channel the token the gateway sends (derived from identity.hash_key).

    Rasa creates the channels in this process, before it serves (rasa.core.run), so a value set
    on the class here is the one the channel is built with.
    """
    from bot.settings import load_settings
    from channels.relay import RelayInput, relay_token

    RelayInput.expect_token(relay_token(load_settings().identity_key))


def main() -> None:
    rasa_patches.apply()
    configure_relay()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
