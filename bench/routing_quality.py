"""How good are the routing suggestions? ``python bench/routing_quality.py [--ablation]``

Prints, on data the model never trained on:

* the category model: what it was trained on and its calibration (fitted on out-of-fold
  predictions over the realistic training texts, never on a held-out set);
* on the realistic held-out (the ``heldout`` lists of ``storage/routing/data/written/*.yml``)
  and, separately, on the old ``complaints_heldout.yml``: accuracy, macro F1, right category in
  the top three, the share of "confident" suggestions (accepted without asking) and how often
  those are right, and the reliability table (confidence bins against accuracy);
* with ``--ablation``: the same model without stripping politeness formulas, to show what the
  stripping is worth;
* region resolution on ``data/addresses_heldout.yml`` (full addresses: exact, right at a
  coarser level, wrong, ambiguous, unknown) and on ``PLACES`` (messy short names), and how long
  ``resolve_region`` takes on whole complaints;
* rows per second of the batch ``route`` path (category, region and agency per line).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import FrozenSet, List, Tuple, Union

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Expected = Union[str, FrozenSet[str]]


def ambiguous(*codes: str) -> FrozenSet[str]:
    return frozenset(codes)


PLACES: List[Tuple[str, Expected]] = [
    ("jl. soekarno hatta kota bandung", "32.73"),
    ("kab bandung, dekat soreang", "32.04"),
    ("Bandung", ambiguous("32.04", "32.73")),
    ("bdg", ambiguous("32.04", "32.73")),
    ("kota bdg", "32.73"),
    ("Kab. Bandung Barat", "32.17"),
    ("surabaya", "35.78"),
    ("SBY", "35.78"),
    ("surabya jawa timur", "35.78"),
    ("kec rungkut surabaya", "35.78.03"),
    ("genteng", ambiguous("35.10.09", "35.78.07")),
    ("kec. genteng kab banyuwangi", "35.10.09"),
    ("jaksel", "31.74"),
    ("Jakarta Selatan", "31.74"),
    ("jakarta selatn", "31.74"),
    ("kec tebet jaksel", "31.74.01"),
    ("jaktim cakung", "31.75.06"),
    ("Jakbar, Kalideres", "31.73.06"),
    ("jakpus", "31.71"),
    ("jakut", "31.72"),
    ("Cilandak", "31.74.06"),
    ("jogja", "34.71"),
    ("Yogya", "34.71"),
    ("Jogjakarta", "34.71"),
    ("sleman", "34.04"),
    ("kec mlati sleman", "34.04.06"),
    ("kab. bantul", "34.02"),
    ("Gunung Kidul", "34.03"),
    ("semarang", ambiguous("33.22", "33.74")),
    ("kota smg", "33.74"),
    ("tembalang semarang", "33.74.10"),
    ("solo", "33.72"),
    ("surakarta", "33.72"),
    ("kab klaten", "33.10"),
    ("banyumas", "33.02"),
    ("Makassar", "73.71"),
    ("mks", "73.71"),
    ("makasar sulsel", "73.71"),
    ("maros", "73.09"),
    ("parepare", "73.72"),
    ("palembang", "16.71"),
    ("plg", "16.71"),
    ("kota medan", "12.71"),
    ("deli serdang", "12.07"),
    ("denpasar", "51.71"),
    ("kuta, badung", "51.03.01"),
    ("ubud gianyar bali", "51.04.05"),
    ("bekasi", ambiguous("32.16", "32.75")),
    ("kota bekasi", "32.75"),
    ("kab bekasi cikarang", "32.16"),
    ("bogor", ambiguous("32.01", "32.71")),
    ("cibinong kab bogor", "32.01.01"),
    ("depok jawa barat", "32.76"),
    ("Kota Depok", "32.76"),
    ("tangsel", "36.74"),
    ("ciputat tangerang selatan", "36.74.04"),
    ("kota malang", "35.73"),
    ("lowokwaru malang", "35.73.05"),
    ("malang", ambiguous("35.07", "35.73")),
    ("sidoarjo", "35.15"),
    ("kab. gresik", "35.25"),
    ("jember", "35.09"),
    ("Kab Garut", "32.05"),
    ("garrut", "32.05"),
    ("sumedang", "32.11"),
    ("cimahi", "32.77"),
    ("karawang", "32.15"),
    ("purwakarta", "32.14"),
    ("kota cirebon", "32.74"),
    ("balikpapan", "64.71"),
    ("samarinda kaltim", "64.72"),
    ("kutai kartanegara", "64.02"),
    ("pekanbaru riau", "14.71"),
    ("sukajadi pekanbaru", "14.71.01"),
    ("sukajadi kota bandung", "32.73.07"),
    ("pontianak", "61.71"),
    ("banjarmasin", "63.71"),
    ("manado", "71.71"),
    ("kota kupang", "53.71"),
    ("mataram ntb", "52.71"),
    ("lombok timur", "52.03"),
    ("ambon", "81.71"),
    ("ternate", "82.71"),
    ("kota jayapura", "91.71"),
    ("batam", "21.71"),
    ("bandar lampung", "18.71"),
    ("kota jambi", "15.71"),
    ("bengkulu", "17.71"),
    ("padang", "13.71"),
    ("bukittinggi", "13.75"),
    ("cilegon", "36.72"),
    ("serang", ambiguous("36.04", "36.73")),
    ("palu sulteng", "72.71"),
    ("kendari", "74.71"),
    ("banyuwangi", "35.10"),
    ("lamongan", "35.24"),
]


def region_accuracy() -> Tuple[int, int, List[str]]:
    from storage.routing.regions import resolve_region

    right, misses = 0, []
    for text, expected in PLACES:
        resolution = resolve_region(text)
        if isinstance(expected, str):
            ok = resolution.status == "unique" and resolution.best.code == expected
            got = resolution.best.code if resolution.best else None
        else:
            got = frozenset(c.code for c in resolution.candidates)
            ok = resolution.status == "ambiguous" and got == expected
        right += ok
        if not ok:
            misses.append(f"  {text!r}: expected {sorted(expected) if not isinstance(expected, str) else expected}, "
                          f"got {resolution.status} {sorted(got) if isinstance(got, frozenset) else got}")
    return right, len(PLACES), misses


def print_figures(title: str, figures) -> None:
    from storage.routing.quality import reliability_table

    print(f"{title} ({figures.n} texts)")
    if not figures.n:
        print("  (none yet)")
        return
    print(f"  accuracy            {figures.accuracy:.3f}")
    print(f"  macro F1            {figures.macro_f1:.3f}")
    print(f"  right in top three  {figures.top3:.3f}")
    print(f"  confident share     {figures.confident_share:.3f}  (accepted without asking; threshold "
          f"{figures.threshold:.3f})")
    print(f"  confident precision {figures.confident_precision:.3f}")
    print(reliability_table(figures))


def per_category(model, examples) -> str:
    from collections import defaultdict

    totals, right = defaultdict(int), defaultdict(int)
    predicted = model.predict([text for text, _ in examples])
    for (_, gold), guess in zip(examples, predicted):
        totals[gold] += 1
        right[gold] += gold == guess
    return "  " + "  ".join(f"{code}={right[code] / totals[code]:.2f}" for code in sorted(totals))


def formula_pull(model, examples) -> str:
    """How often politeness and question frames still pull texts to sosial and lainnya."""
    import re

    predicted = model.predict([text for text, _ in examples])
    bantu = [(gold, guess) for (text, gold), guess in zip(examples, predicted)
             if gold != "sosial" and re.search(r"\bbantu", text.lower())]
    questions = [(gold, guess) for (text, gold), guess in zip(examples, predicted)
                 if gold != "lainnya" and re.search(r"\b(mau tanya|bagaimana cara|gimana cara|apakah bisa)\b",
                                                    text.lower())]
    lainnya = sum(guess == "lainnya" for guess in predicted) / len(predicted)
    gold_lainnya = sum(gold == "lainnya" for _, gold in examples) / len(examples)
    return (f"  non-sosial texts with \"bantu\" predicted sosial: "
            f"{sum(g == 'sosial' for _, g in bantu) / max(1, len(bantu)):.3f} ({len(bantu)} texts)\n"
            f"  questions (mau tanya, bagaimana cara, ...) not about lainnya predicted lainnya: "
            f"{sum(g == 'lainnya' for _, g in questions) / max(1, len(questions)):.3f} ({len(questions)} texts)\n"
            f"  share of predictions that are lainnya: {lainnya:.3f} (of the texts: {gold_lainnya:.3f})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ablation", action="store_true", help="also train without stripping formulas")
    args = parser.parse_args(argv)

    from storage.routing import categories
    from storage.routing.quality import evaluate, evaluate_addresses, load_addresses
    from storage.routing.regions import resolve_region, warm_up

    started = time.perf_counter()
    model = categories.get_model()
    load_seconds = time.perf_counter() - started
    training = categories.training_examples()
    realistic = categories.realistic_heldout()
    old = categories.old_heldout()
    calibration = model.calibration
    print(f"Category model ({model.note}): {len(training)} training texts from "
          f"{len(categories.training_files())} files, ready in {load_seconds:.1f} s (train or cache load)")
    print(f"  calibration: softmax scale {calibration.scale:.2f}, confident from {calibration.threshold:.3f}; on the "
          f"calibration split ({calibration.size} texts) {calibration.coverage:.3f} confident, "
          f"{calibration.precision:.3f} of those right")
    realistic_figures = evaluate(model, realistic)
    print_figures("Realistic held-out (written/*.yml heldout)", realistic_figures)
    if realistic:
        print("  accuracy per category:")
        print(per_category(model, realistic))
    if realistic:
        print(formula_pull(model, realistic))
    print_figures("Old held-out (complaints_heldout.yml)", evaluate(model, old))
    if args.ablation and realistic:
        plain = categories.train_project_model(strip=False, calibrate=False)
        print("Ablation: without stripping politeness formulas and question frames")
        plain_figures = evaluate(plain, realistic)
        print(f"  realistic held-out accuracy {plain_figures.accuracy:.3f}, macro F1 {plain_figures.macro_f1:.3f} "
              f"(with stripping {realistic_figures.accuracy:.3f}, {realistic_figures.macro_f1:.3f})")
        print(formula_pull(plain, realistic))
        before = categories.CategoryModel.train(old_train := categories.load_examples(categories.TRAIN_FILE),
                                                calibrate=False, strip=False)
        before_figures = evaluate(before, realistic)
        print(f"Before issue 14 (only complaints_train.yml, {len(old_train)} texts, no stripping): realistic held-out "
              f"accuracy {before_figures.accuracy:.3f}, macro F1 {before_figures.macro_f1:.3f}, "
              f"top-3 {before_figures.top3:.3f}")
        print(formula_pull(before, realistic))

    warm_up()
    addresses = evaluate_addresses(load_addresses())
    print(f"Region resolution on held-out full addresses ({addresses.n}, all 38 provinces)")
    print(f"  right (exact or a coarser level inside the right kabupaten/kota) {addresses.right / addresses.n:.3f}")
    print(f"  exact (deepest level)  {addresses.exact / addresses.n:.3f}")
    print(f"  wrong unique answers   {addresses.wrong}   ambiguous (asks) {addresses.ambiguous}   "
          f"unknown {addresses.unknown}")
    for miss in addresses.misses[:15]:
        print(miss)
    right, total, misses = region_accuracy()
    print(f"Region normalisation ({total} messy place names)")
    print(f"  accuracy            {right / total:.3f}  ({right}/{total})")
    for miss in misses:
        print(miss)
    texts = [text for text, _ in realistic or training[-500:]]
    timings = []
    for text in texts:
        begun = time.perf_counter()
        resolve_region(text)
        timings.append((time.perf_counter() - begun) * 1000)
    timings.sort()
    print(f"  resolve_region on whole complaints ({len(texts)}): median {statistics.median(timings):.1f} ms, "
          f"p95 {timings[int(0.95 * (len(timings) - 1))]:.1f} ms, max {timings[-1]:.1f} ms")

    import io
    import json

    from bot.commands.route import route_stream
    from storage.routing.agencies import default_table

    table = default_table()
    rows = [{"text": text, "location": ""} for text in texts]
    source = io.StringIO("".join(json.dumps(row) + "\n" for row in rows))
    begun = time.perf_counter()
    route_stream(source, io.StringIO(), table)
    seconds = time.perf_counter() - begun
    print(f"Batch routing: {len(rows) / seconds:.0f} rows per second ({len(rows)} rows, category + region + agency)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
