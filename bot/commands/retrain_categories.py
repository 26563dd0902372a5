"""``python -m bot retrain-categories``: learn this deployment's corrections.

Trains the category model on the project's data plus the operators' category corrections
(``report-status --category``), prints the held-out figures of the model in use and of the new
one, and swaps the new one in only when it is not worse on any held-out set
(``storage.routing.retrain``). Running processes pick the swapped model up on their next
suggestion. Agency corrections are listed as hints for local rules in ``agencies.yml``.
"""
from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("retrain-categories",
                                   help="retrain the category model with the operators' corrections")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="accuracy a held-out set may lose and still count as not worse (default 0.005)")
    parser.add_argument("--dry-run", action="store_true", help="measure only, never swap")
    parser.add_argument("--data-dir", help="the project's routing data folder (default: storage/routing/data)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from bot.settings import load_settings
    from storage.db import Database
    from storage.routing.corrections import agency_changes, category_examples
    from storage.routing.categories import DATA_DIR
    from storage.routing.retrain import DEFAULT_TOLERANCE, retrain

    database = Database.shared(load_settings(args.config).database_url)
    with database.session() as session:
        corrections = category_examples(session)
        agencies = agency_changes(session)
    print(f"{len(corrections)} category correction(s) in this deployment.")
    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    try:
        result = retrain(corrections, data_dir=Path(args.data_dir) if args.data_dir else DATA_DIR,
                         tolerance=tolerance, swap=not args.dry_run)
    except ValueError as error:  # a broken data file names itself
        print(f"retrain-categories: {error}", file=sys.stderr)
        return 1
    print(f"Trained on the project data + {result.corrections_trained} correction(s); "
          f"{result.corrections_held_out} held out to measure.")
    for name, before in result.before.items():
        after = result.after[name]
        print(f"{name:22s} before: {before.line()}")
        print(f"{'':22s} after:  {after.line()}")
    print(result.reason.capitalize() + ".")
    if agencies:
        print("Agency corrections (kabupaten/kota, suggested -> chosen, times): consider a local rule in agencies.yml")
        for (region, old, new), times in agencies[:20]:
            print(f"  {region or '-'}: {old or '-'} -> {new} ({times})")
    return 0
