import collections

import pytest
import yaml

from storage.routing import categories
from storage.routing.categories import (
    CATEGORIES,
    HELDOUT_FILE,
    TRAIN_FILE,
    is_confident,
    load_examples,
    suggest_category,
    top_choices,
)

# Measured on the held-out part when the model was chosen: accuracy 0.93, macro F1 0.93.
ACCURACY_FLOOR = 0.88
MACRO_F1_FLOOR = 0.88


def test_the_training_data_has_at_least_fifty_texts_for_every_category():
    counts = collections.Counter(code for _, code in load_examples(TRAIN_FILE))
    assert set(counts) == set(CATEGORIES)
    assert min(counts.values()) >= 50


def test_the_held_out_part_covers_every_category_and_shares_no_text_with_training():
    train = {text.lower() for text, _ in load_examples(TRAIN_FILE)}
    heldout = load_examples(HELDOUT_FILE)
    assert {code for _, code in heldout} == set(CATEGORIES)
    assert not [text for text, _ in heldout if text.lower() in train]


def test_held_out_accuracy_and_macro_f1_stay_above_the_measured_floor():
    from sklearn.metrics import accuracy_score, f1_score

    heldout = load_examples(HELDOUT_FILE)
    predicted = categories.get_model().predict([text for text, _ in heldout])
    gold = [code for _, code in heldout]
    assert accuracy_score(gold, predicted) >= ACCURACY_FLOOR
    assert f1_score(gold, predicted, average="macro") >= MACRO_F1_FLOOR


@pytest.mark.parametrize("text, code", [
    ("air PDAM tidak mengalir sudah tiga hari di rumah kami", "pekerjaan_umum"),
    ("ada pungli waktu urus surat di kantor kelurahan", "politik_hukum"),
    ("kepala dinas diduga korupsi anggaran proyek", "politik_hukum"),
    ("listrik mati terus tiap malam", "energi"),
    ("gas lpg 3 kg langka dan mahal", "energi"),
    ("kantor kecamatan tidak punya ramp untuk kursi roda", "kesetaraan_inklusi"),
])
def test_the_issue_s_routing_examples_get_their_category(text, code):
    assert suggest_category(text)[0].code == code


def test_every_category_is_scored_once_and_sorted_with_confidences_summing_to_one():
    scores = suggest_category("jalan rusak parah di kab bandung dekat pasar")
    assert [score.code for score in scores].count("pekerjaan_umum") == 1
    assert {score.code for score in scores} == set(CATEGORIES)
    assert [score.confidence for score in scores] == sorted((score.confidence for score in scores), reverse=True)
    assert sum(score.confidence for score in scores) == pytest.approx(1.0, abs=0.01)
    assert scores[0].label == "Pekerjaan Umum dan Penataan Ruang"


def test_a_clear_complaint_is_confident_and_a_vague_one_offers_three_choices():
    assert is_confident(suggest_category("KTP elektronik saya belum jadi sudah enam bulan di disdukcapil"))
    vague = suggest_category("kami warga sudah lama menunggu tapi belum ada kabar")
    assert not is_confident(vague)
    assert len(top_choices(vague)) == 3


def test_confidence_is_the_calibrated_threshold_or_the_one_given():
    score = categories.CategoryScore
    assert not is_confident([score("energi", "", 0.49), score("tik", "", 0.1)], threshold=0.5)
    assert is_confident([score("energi", "", 0.50), score("tik", "", 0.40)], threshold=0.5)
    assert not is_confident([])
    threshold = categories.confident_threshold()
    assert 0.0 < threshold <= 1.0
    assert is_confident([score("energi", "", threshold)]) and not is_confident([score("energi", "", threshold - 0.01)])


def test_empty_text_falls_back_to_lainnya():
    assert suggest_category("   ")[0].code == "lainnya"


def test_an_unknown_code_in_the_data_file_is_rejected(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump({"jalan": ["jalan rusak"]}), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown category code 'jalan'"):
        load_examples(path)


def test_the_model_is_reloaded_from_the_cache_keyed_by_the_data(tmp_path, monkeypatch):
    path = tmp_path / "train.yml"
    path.write_text(yaml.safe_dump({"energi": ["listrik padam", "token listrik error", "gas elpiji langka"],
                                    "kesehatan": ["puskesmas tutup", "obat kosong", "dokter tidak ada"]}),
                    encoding="utf-8")
    first = categories.CategoryModel.train(load_examples(path), categories.data_fingerprint(path), calibrate=False)
    categories._store_cached(tmp_path / "cache", first)
    loaded = categories._load_cached(tmp_path / "cache", categories.data_fingerprint(path))
    assert loaded is not None and loaded.predict(["listrik mati"]) == ["energi"]
    path.write_text(path.read_text(encoding="utf-8") + "  - dokter galak\n", encoding="utf-8")
    assert categories._load_cached(tmp_path / "cache", categories.data_fingerprint(path)) is None


def write_data(root, flat, written):
    root.mkdir(parents=True, exist_ok=True)
    (root / "complaints_train.yml").write_text(yaml.safe_dump(flat, allow_unicode=True), encoding="utf-8")
    (root / "complaints_heldout.yml").write_text(yaml.safe_dump(flat, allow_unicode=True), encoding="utf-8")
    (root / "written").mkdir(exist_ok=True)
    for code, parts in written.items():
        (root / "written" / f"{code}.yml").write_text(yaml.safe_dump(parts, allow_unicode=True), encoding="utf-8")
    return root


FLAT = {"energi": ["listrik padam", "token listrik error", "gas elpiji langka"],
        "kesehatan": ["puskesmas tutup", "obat kosong", "dokter tidak ada"]}


def test_every_written_train_list_is_trained_on_and_no_written_heldout_text(tmp_path):
    root = write_data(tmp_path / "data", FLAT, {
        "energi": {"train": ["meteran listrik rusak sejak kemarin"], "heldout": ["listrik mati satu kampung"]},
        "kesehatan": {"train": ["antrean rumah sakit umum daerah lama sekali"], "heldout": ["bidan desa jarang ada"]},
    })
    trained = categories.training_examples(root)
    assert ("meteran listrik rusak sejak kemarin", "energi") in trained
    assert ("antrean rumah sakit umum daerah lama sekali", "kesehatan") in trained
    assert not {text for text, _ in categories.realistic_heldout(root)} & {text for text, _ in trained}
    assert categories.realistic_heldout(root) == [("listrik mati satu kampung", "energi"),
                                                   ("bidan desa jarang ada", "kesehatan")]


def test_a_written_file_not_named_after_a_category_or_with_an_unknown_part_is_rejected(tmp_path):
    root = write_data(tmp_path / "data", FLAT, {"jalan": {"train": ["jalan rusak"]}})
    with pytest.raises(ValueError, match="must be a category code"):
        categories.training_examples(root)
    root = write_data(tmp_path / "other", FLAT, {"energi": {"latih": ["listrik padam"]}})
    with pytest.raises(ValueError, match="unknown part 'latih'"):
        categories.training_examples(root)


def test_adding_or_editing_any_data_file_changes_the_key_of_the_cached_model(tmp_path):
    root = write_data(tmp_path / "data", FLAT, {})
    first = categories.data_fingerprint(categories.training_files(root))
    write_data(root, FLAT, {"energi": {"train": ["listrik byarpet tiap malam"], "heldout": []}})
    second = categories.data_fingerprint(categories.training_files(root))
    (root / "written" / "energi.yml").write_text("train: [listrik byarpet tiap sore]\n", encoding="utf-8")
    third = categories.data_fingerprint(categories.training_files(root))
    assert len({first, second, third}) == 3


@pytest.mark.parametrize("text, kept, gone", [
    ("Assalamualaikum wr wb, selamat pagi min. Lampu jalan mati. Mohon bantuannya, terima kasih",
     "lampu jalan mati", ["assalamualaikum", "bantuannya", "terima kasih", "selamat pagi"]),
    ("Mau tanya, bagaimana cara daftar BPJS? Mohon ditindaklanjuti", "daftar bpjs", ["tanya", "cara", "ditindaklanjuti"]),
    ("bantuan sosial PKH belum cair", "bantuan sosial pkh belum cair", []),
])
def test_politeness_formulas_and_question_frames_are_stripped_before_featurising(text, kept, gone):
    stripped = " ".join(categories.strip_formulas(text).replace(".", " ").replace(",", " ").replace("?", " ").split())
    assert kept in stripped
    for word in gone:
        assert word not in stripped


@pytest.mark.parametrize("text, code", [
    ("Assalamualaikum, mohon bantuannya pak, lampu PJU di depan gang kami mati sudah dua minggu, gelap sekali. "
     "Mohon ditindaklanjuti, terima kasih", "pekerjaan_umum"),
    ("Selamat siang min, mohon dibantu, obat di puskesmas kosong terus, terima kasih", "kesehatan"),
    ("mau tanya min, bagaimana cara mengurus akta kelahiran anak yang lahir di luar kota?", "kependudukan"),
    ("min mau tanya, apakah bisa bayar tagihan PDAM lewat aplikasi? air di rumah juga sering mati", "pekerjaan_umum"),
])
def test_formulas_do_not_pull_to_sosial_and_questions_belong_to_their_topic(text, code):
    assert suggest_category(text)[0].code == code


def test_the_calibration_sets_the_lowest_threshold_that_keeps_the_target_precision():
    import numpy as np

    rng = np.random.default_rng(0)
    rows, gold = [], []
    for i in range(400):
        confident = i % 2 == 0
        true = i % 3
        margin = np.full(3, -1.0)
        if confident:
            margin[true] = 1.5 + rng.random()
        else:  # a coin toss between the right class and a wrong one
            wrong = (true + 1) % 3
            margin[true], margin[wrong] = 0.1 + 0.1 * rng.random(), 0.1 + 0.1 * rng.random()
        rows.append(margin)
        gold.append(true)
    calibration = categories.fit_calibration(np.array(rows), np.array(gold), target=0.93)
    assert calibration.precision >= 0.93
    assert 0.5 <= calibration.coverage <= 0.65
    assert calibration.size == 400


def test_confident_suggestions_are_right_ninety_percent_of_the_time_on_the_realistic_held_out():
    from storage.routing.quality import evaluate

    heldout = categories.realistic_heldout()
    if len(heldout) < 200:
        pytest.skip("the realistic held-out part is still being written")
    figures = evaluate(categories.get_model(), heldout)
    assert figures.confident_precision >= 0.90
    assert figures.top3 >= 0.90


def test_the_realistic_held_out_shares_no_text_with_any_training_text():
    trained = {" ".join(text.lower().split()) for text, _ in categories.training_examples()}
    shared = [text for text, _ in categories.realistic_heldout() if " ".join(text.lower().split()) in trained]
    assert shared == []
