"""Argument types shared by the ``python -m bot`` sub-commands."""
from __future__ import annotations

import argparse
import datetime as dt


def iso_date(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` argument; argparse turns the error into a clear usage message."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def iso_utc_time(text: str) -> dt.datetime:
    """A ``YYYY-MM-DDTHH:MM[:SS]`` argument in UTC (naive, as the database keeps its times)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time in the form YYYY-MM-DDTHH:MM (UTC)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment
