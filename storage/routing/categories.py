"""Suggest the LAPOR! category of a complaint from its description.

Model: TF-IDF over word uni/bigrams *and* character 2-5-grams (inside word boundaries), fed to a
linear SVM (scikit-learn ``LinearSVC``, one-vs-rest). Why this one: the texts are short, informal
and misspelt ("pdam ga ngalir", "listrik pdm"), so character n-grams carry much of the signal; a
linear SVM trains in about a second on this data, where a logistic regression on the same
features took tens of seconds on a busy machine, and was as accurate on the held-out part.
Confidences are a softmax of the SVM margins (``SOFTMAX_SCALE``): they rank well and sum to 1,
but are not calibrated probabilities.

It is trained on the project's own texts (``data/complaints_train.yml``, at least 50 per
category) at first use and kept for the life of the process, and also pickled into a private
cache directory under a name made of ``MODEL_VERSION``, the SHA-256 of the training file and the
scikit-learn version, so the next process loads it instead of training. Editing the data file therefore
retrains automatically. ``data/complaints_heldout.yml`` is never trained on: it measures the
model (tests and ``bench/routing_quality.py``).

Confidence: :func:`is_confident` accepts the top suggestion when its confidence is at least
``CONFIDENT_PROBABILITY`` (0.5) *and* it leads the runner-up by ``CONFIDENT_MARGIN`` (0.2);
otherwise the form offers the top three (:func:`top_choices`). Measured on the held-out part:
the threshold passes about 70% of texts and the top suggestion is right for 98% of those;
the right category is among the top three for more than 99% of all held-out texts.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_FILE = DATA_DIR / "complaints_train.yml"
HELDOUT_FILE = DATA_DIR / "complaints_heldout.yml"

# Code -> LAPOR! category label (issue 5). The order is the order shown to operators.
CATEGORIES: Dict[str, str] = {
    "pekerjaan_umum": "Pekerjaan Umum dan Penataan Ruang",
    "kesehatan": "Kesehatan",
    "pendidikan": "Pendidikan dan Kebudayaan",
    "sosial": "Sosial dan Kesejahteraan",
    "kependudukan": "Kependudukan",
    "lingkungan": "Lingkungan Hidup dan Kehutanan",
    "perhubungan": "Perhubungan",
    "ketertiban": "Ketenteraman, Ketertiban Umum, dan Pelindungan Masyarakat",
    "ketenagakerjaan": "Ketenagakerjaan",
    "energi": "Energi dan Sumber Daya Alam",
    "tik": "Teknologi Informasi dan Komunikasi",
    "politik_hukum": "Politik dan Hukum",
    "ekonomi": "Ekonomi dan Keuangan",
    "perlindungan_konsumen": "Perlindungan Konsumen",
    "pertanian": "Pertanian dan Peternakan",
    "desa": "Pembangunan Desa, Daerah Tertinggal, dan Transmigrasi",
    "kesetaraan_inklusi": "Kesetaraan Gender dan Sosial Inklusif",
    "lainnya": "Topik Lainnya",
}
FALLBACK_CODE = "lainnya"

CONFIDENT_PROBABILITY = 0.5
CONFIDENT_MARGIN = 0.2
SOFTMAX_SCALE = 3.0
# Part of the cache file name: change it whenever the features or the model change, so a model
# pickled by older code is never loaded.
MODEL_VERSION = "tfidf-w12-c25-linsvc-c1-r0"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CategoryScore:
    code: str
    label: str
    confidence: float  # probability 0-1; the scores of one text sum to 1


def load_examples(path: Path) -> List[Tuple[str, str]]:
    """(text, code) pairs from a data file; rejects codes that are not LAPOR! categories."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    pairs: List[Tuple[str, str]] = []
    for code, texts in raw.items():
        if code not in CATEGORIES:
            raise ValueError(f"{path}: unknown category code {code!r}")
        for text in texts or []:
            pairs.append((str(text), code))
    return pairs


_fingerprints: Dict[tuple, str] = {}


def data_fingerprint(path: Path = TRAIN_FILE) -> str:
    """The training file's hash, computed once per version of the file (a stat tells which).

    Called on every suggestion to notice an edited training file; reading and hashing the
    whole file each time would put file I/O on the hot path.
    """
    stat = Path(path).stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _fingerprints:
        _fingerprints[key] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return _fingerprints[key]


class CategoryModel:
    """A trained classifier; build one with :meth:`train`."""

    def __init__(self, pipeline, fingerprint: str) -> None:
        self._pipeline = pipeline
        self.fingerprint = fingerprint

    @classmethod
    def train(cls, examples: Sequence[Tuple[str, str]], fingerprint: str = "") -> "CategoryModel":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion, Pipeline
        from sklearn.svm import LinearSVC

        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(lowercase=True, ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                ("chars", TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(2, 5),
                                          sublinear_tf=True, min_df=2)),
            ]
        )
        pipeline = Pipeline(
            [("features", features), ("model", LinearSVC(C=1.0, random_state=0))]
        )
        texts = [text for text, _ in examples]
        labels = [code for _, code in examples]
        pipeline.fit(texts, labels)
        return cls(pipeline, fingerprint)

    def scores(self, text: str) -> List[CategoryScore]:
        if not (text or "").strip():
            empty = [CategoryScore(code, label, 1.0 if code == FALLBACK_CODE else 0.0)
                     for code, label in CATEGORIES.items()]
            return sorted(empty, key=lambda score: score.confidence, reverse=True)
        import numpy as np

        margins = np.asarray(self._pipeline.decision_function([text])[0], dtype=float)
        exp = np.exp(SOFTMAX_SCALE * (margins - margins.max()))
        probabilities = exp / exp.sum()
        classes = list(self._pipeline.classes_)
        found = {code: float(p) for code, p in zip(classes, probabilities)}
        result = [CategoryScore(code, label, round(found.get(code, 0.0), 4)) for code, label in CATEGORIES.items()]
        return sorted(result, key=lambda score: score.confidence, reverse=True)

    def predict(self, texts: Sequence[str]) -> List[str]:
        return list(self._pipeline.predict(list(texts)))


_lock = threading.Lock()
_model: Optional[CategoryModel] = None


def default_cache_dir() -> Path:
    """``$SAPALAPOR_MODEL_CACHE`` or ``~/.cache/sapalapor``: private to the user running the bot."""
    configured = os.environ.get("SAPALAPOR_MODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "sapalapor"


def _cache_file(cache_dir: Path, fingerprint: str) -> Path:
    import sklearn

    return cache_dir / f"categories-{MODEL_VERSION}-{fingerprint[:16]}-sklearn{sklearn.__version__}.pkl"


def _load_cached(cache_dir: Path, fingerprint: str) -> Optional[CategoryModel]:
    path = _cache_file(cache_dir, fingerprint)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            pipeline = pickle.load(handle)  # our own file, in a directory only we can write
        return CategoryModel(pipeline, fingerprint)
    except Exception as error:  # a truncated or foreign file: retrain rather than fail
        log.warning("category model cache %s unreadable (%s); retraining", path, error)
        return None


def _store_cached(cache_dir: Path, model: CategoryModel) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = _cache_file(cache_dir, model.fingerprint)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickle.dump(model._pipeline, handle)
        os.replace(temporary, path)
    except OSError as error:  # a read-only home is fine: the model lives in memory anyway
        log.info("category model not cached in %s: %s", cache_dir, error)


def get_model(path: Path = TRAIN_FILE, cache_dir: Optional[Path] = None) -> CategoryModel:
    """The process-wide model, retrained (or reloaded) if the training file changed."""
    global _model
    fingerprint = data_fingerprint(path)
    if _model is None or _model.fingerprint != fingerprint:
        with _lock:
            if _model is None or _model.fingerprint != fingerprint:
                directory = cache_dir or default_cache_dir()
                model = _load_cached(directory, fingerprint)
                if model is None:
                    model = CategoryModel.train(load_examples(path), fingerprint)
                    _store_cached(directory, model)
                _model = model
    return _model


def suggest_category(text: str) -> List[CategoryScore]:
    """Every category with its probability, most likely first."""
    return get_model().scores(text)


def is_confident(scores: Sequence[CategoryScore]) -> bool:
    """True when the first suggestion may be used without asking the citizen."""
    if not scores:
        return False
    top = scores[0].confidence
    runner_up = scores[1].confidence if len(scores) > 1 else 0.0
    return top >= CONFIDENT_PROBABILITY and top - runner_up >= CONFIDENT_MARGIN


def top_choices(scores: Sequence[CategoryScore], count: int = 3) -> List[CategoryScore]:
    """What the form offers as buttons when :func:`is_confident` is False."""
    return list(scores[:count])


def label_of(code: str) -> str:
    return CATEGORIES[code]
