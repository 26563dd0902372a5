"""``python -m bot train``: train the Rasa model if the training data changed."""
from __future__ import annotations

from bot.rasa_project import ensure_model
from bot.settings import load_settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train the Rasa model when the training data changed")
    parser.add_argument("--force", action="store_true", help="train even if a model for this data exists")
    parser.set_defaults(func=run)


def run(args) -> int:
    print(ensure_model(load_settings(args.config), force=args.force))
    return 0
