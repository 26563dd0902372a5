"""``python -m bot event create``: an outreach event with its code, entry points and poster."""
from __future__ import annotations

import sys
from pathlib import Path

from bot.cli_args import iso_date
from bot.outreach.entry_points import entry_points
from bot.outreach.poster import EventDetails, indonesian_date, write_poster
from bot.settings import load_settings
from storage.db import Database
from storage.outreach import EventError, create_event


def register(subparsers) -> None:
    parser = subparsers.add_parser("event", help="outreach events (codes, entry links, posters)")
    actions = parser.add_subparsers(dest="event_command", metavar="ACTION")
    actions.required = True
    create = actions.add_parser("create", help="create an event and write its poster")
    create.add_argument("--name", required=True, help='e.g. "Sosialisasi LAPOR! Tunanetra"')
    create.add_argument("--place", required=True)
    create.add_argument("--date", required=True, type=iso_date, help="YYYY-MM-DD")
    create.add_argument("--target", required=True, help="target group, e.g. penyandang disabilitas netra")
    create.add_argument("--code", help="choose the code (4-12 letters and digits); default: generated")
    create.add_argument("--out", type=Path, help="folder for the poster (default: <data_dir>/outreach)")
    create.set_defaults(func=run_create)


def run_create(args) -> int:
    settings = load_settings(args.config)
    database = Database.shared(settings.database_url)
    database.migrate()
    try:
        with database.session() as session:
            event = create_event(session, args.name, args.place, args.date, args.target, code=args.code)
            details = EventDetails(event.name, event.place, event.event_date, event.code)
    except EventError as error:
        print(f"Cannot create the event: {error}", file=sys.stderr)
        return 2
    entry = entry_points(settings.channel_addresses, details.code)
    print(f"Event created: {details.name}, {details.place}, {indonesian_date(details.event_date)}")
    print(f"Code:              {details.code}")
    print(f"Telegram link:     {entry.telegram_link or '(not configured)'}")
    print(f"WhatsApp link:     {entry.whatsapp_link or '(not configured)'}")
    if entry.sms_number:
        print(f"SMS:               send \"{entry.sms_text}\" to {entry.sms_number}")
    else:
        print("SMS:               (not configured)")
    for key in entry.missing:
        print(f"Not on the poster: set {key} to add it.", file=sys.stderr)
    out_dir = args.out or settings.data_dir / "outreach"
    pdf, png = write_poster(details, entry, out_dir)
    print(f"Poster:            {pdf}")
    print(f"                   {png}")
    return 0
