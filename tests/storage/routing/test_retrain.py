import yaml

from storage.models import RoutingCorrection
from storage.routing import categories
from storage.routing.corrections import agency_changes, category_examples, record_correction
from storage.routing.retrain import retrain

# A small project whose data files a tree touching a power line under energi (the power
# company), while this deployment's operators send tree pruning to the environment office.
PROJECT = {
    "energi": ["listrik padam sejak pagi", "token listrik tidak masuk", "tiang listrik miring mau roboh",
               "kabel listrik putus di jalan", "pohon menimpa kabel listrik sampai padam",
               "dahan pohon mengenai kabel listrik, lampu berkedip", "meteran listrik rusak",
               "tegangan listrik naik turun", "gas elpiji langka di warung"],
    "lingkungan": ["sampah menumpuk di tepi sungai", "pabrik membuang limbah ke kali", "asap pembakaran sampah",
                   "bau busuk dari tempat pembuangan sampah", "sungai tercemar limbah tahu",
                   "penebangan hutan lindung", "truk sampah tidak datang", "polusi debu dari pabrik semen"],
    "kesehatan": ["puskesmas tutup siang hari", "obat di apotek puskesmas kosong", "dokter jaga tidak ada",
                  "antrean rumah sakit lama", "bidan desa tidak datang", "ambulans desa rusak",
                  "pelayanan posyandu berhenti", "vaksin anak habis"],
}
WRITTEN_HELDOUT = {
    "energi": ["listrik di rumah kami mati tiga hari", "token listrik hilang setelah diisi"],
    "lingkungan": ["limbah pabrik bikin sungai hitam", "sampah pasar dibuang ke selokan"],
    "kesehatan": ["puskesmas kehabisan obat batuk", "dokter puskesmas jarang datang"],
}
CORRECTED = [
    "mohon perantingan pohon di depan rumah, dahannya sudah kena kabel",
    "pemangkasan pohon di jalan kami belum dilakukan, rantingnya menyentuh kabel",
    "pohon besar di pinggir jalan perlu dipangkas karena dahannya ke kabel",
    "ranting pohon mangga menyentuh kabel listrik, minta perantingan",
    "perantingan pohon angsana di depan sekolah, dahannya menjuntai ke kabel",
    "tolong pangkas pohon yang dahannya menempel di kabel depan gang",
    "pohon trembesi dekat tiang perlu pemangkasan, ranting kena kabel",
    "pemangkasan pohon ketapang di taman, dahannya kena kabel",
    "dahan pohon beringin menyentuh kabel, mohon perantingan segera",
    "pohon di trotoar sudah rimbun sampai kabel, perlu pemangkasan",
    "perantingan pohon mahoni depan kantor kelurahan, menyentuh kabel",
    "ranting pohon jambu sudah masuk ke kabel, minta dipangkas",
]
NEW_TEXT = "minta pemangkasan pohon di gang kami, rantingnya sudah menyentuh kabel"


def project_dir(tmp_path):
    root = tmp_path / "data"
    (root / "written").mkdir(parents=True)
    (root / "complaints_train.yml").write_text(yaml.safe_dump(PROJECT), encoding="utf-8")
    (root / "complaints_heldout.yml").write_text(yaml.safe_dump(WRITTEN_HELDOUT), encoding="utf-8")
    for code, texts in WRITTEN_HELDOUT.items():
        (root / "written" / f"{code}.yml").write_text(yaml.safe_dump({"train": [], "heldout": texts}), encoding="utf-8")
    return root


def test_an_operator_s_change_of_category_or_agency_is_stored_with_the_text(session, file_report):
    report = file_report(description="pohon di depan rumah dahannya kena kabel")
    report.category_code, report.agency = "energi", "PT PLN (Persero)"
    correction = record_correction(session, report, category="lingkungan",
                                   agency="Dinas Lingkungan Hidup Kabupaten Bandung", corrected_by="verifikator")
    assert (correction.old_category, correction.new_category) == ("energi", "lingkungan")
    assert (correction.old_agency, correction.new_agency) == ("PT PLN (Persero)", "Dinas Lingkungan Hidup Kabupaten Bandung")
    assert correction.text == "pohon di depan rumah dahannya kena kabel" and correction.corrected_by == "verifikator"
    assert (report.category_code, report.agency) == ("lingkungan", "Dinas Lingkungan Hidup Kabupaten Bandung")
    assert ("pohon di depan rumah dahannya kena kabel", "lingkungan") in category_examples(session)
    assert agency_changes(session) == [((None, "PT PLN (Persero)", "Dinas Lingkungan Hidup Kabupaten Bandung"), 1)]


def test_confirming_what_the_report_already_has_is_not_a_correction(session, file_report):
    report = file_report()
    report.category_code = "pekerjaan_umum"
    assert record_correction(session, report, category="pekerjaan_umum") is None
    assert session.query(RoutingCorrection).filter_by(report_id=report.id).count() == 0


def test_the_latest_correction_of_a_report_is_the_one_learnt(session, file_report):
    report = file_report(description="lampu jalan mati di gang kami")
    record_correction(session, report, category="energi")
    record_correction(session, report, category="pekerjaan_umum")
    texts = [pair for pair in category_examples(session) if pair[0] == "lampu jalan mati di gang kami"]
    assert texts == [("lampu jalan mati di gang kami", "pekerjaan_umum")]


def test_corrections_fix_a_systematic_local_error_and_the_model_is_swapped(tmp_path):
    root, cache = project_dir(tmp_path), tmp_path / "cache"
    assert categories.get_model(root, cache).scores(NEW_TEXT)[0].code == "energi"
    result = retrain([(text, "lingkungan") for text in CORRECTED], data_dir=root, cache_dir=cache)
    assert result.swapped, result.reason
    assert result.corrections_trained + result.corrections_held_out == len(CORRECTED)
    assert result.after["realistic held-out"].accuracy >= result.before["realistic held-out"].accuracy - 0.005
    assert result.after["corrections held-out"].accuracy > result.before["corrections held-out"].accuracy
    assert categories.get_model(root, cache).scores(NEW_TEXT)[0].code == "lingkungan"


def test_a_retrained_model_that_is_worse_is_not_swapped_in(tmp_path):
    root, cache = project_dir(tmp_path), tmp_path / "cache"
    wrong = [(text, "kesehatan") for texts in WRITTEN_HELDOUT.values() for text in texts] * 3
    result = retrain(wrong, data_dir=root, cache_dir=cache)
    assert not result.swapped and "worse" in result.reason
    assert not categories.deployed_file(cache).exists()


def test_a_deployed_model_trained_on_older_project_data_gives_way_to_the_project_model(tmp_path):
    root, cache = project_dir(tmp_path), tmp_path / "cache"
    assert retrain([(text, "lingkungan") for text in CORRECTED], data_dir=root, cache_dir=cache).swapped
    assert categories.get_model(root, cache).note.startswith("project + ")
    (root / "written" / "energi.yml").write_text(
        yaml.safe_dump({"train": ["listrik byarpet tiap malam"], "heldout": WRITTEN_HELDOUT["energi"]}), encoding="utf-8")
    assert categories.get_model(root, cache).note == "project"
