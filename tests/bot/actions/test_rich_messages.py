import pytest

from bot.actions.conversation import report_from_message
from bot.actions.report_form import place_in_story


@pytest.mark.parametrize(
    "text, expected",
    [
        ("jalan di desa sukamaju kec cibeber kab cianjur rusak parah, sejak 2 minggu lalu",
         "jalan di desa sukamaju kec cibeber kab cianjur"),
        ("Lampu mati di Jl. Merdeka No 5 RT 03 RW 02 Kel. Citarum, Kec. Bandung Wetan, Kota Bandung. Mohon dibantu",
         "RT 03 RW 02 Kel. Citarum, Kec. Bandung Wetan, Kota Bandung"),
        ("bantuan bpnt dipotong di kulon progo, kec. wates, tadi pagi", "kulon progo, kec. wates"),
        ("petugas kelurahan minta uang untuk mengurus kartu keluarga", None),
        ("usul laporan dana desa dipasang di papan pengumuman balai desa", "papan pengumuman balai desa"),
        ("kantor kelurahan tutup lebih awal dari jam yang tertera", None),
        ("sampah menumpuk dan bau sekali", None),
    ],
)
def test_the_place_inside_a_story_is_the_part_that_names_it(text, expected):
    found = place_in_story(text)
    assert (found[0] if found else None) == expected


@pytest.mark.parametrize(
    "text, kind",
    [
        ("bagaimana cara daftar bpjs pbi untuk orang tua saya yang sudah lansia?", "permintaan_informasi"),
        ("jalan di depan rumah saya berlubang besar sejak bulan lalu dan sering ada motor jatuh", "pengaduan"),
        ("saya usul agar dibangun taman bermain ramah anak difabel di dekat balai desa kami", "aspirasi"),
        ("hmm", None), ("/", None), ("", None),
    ],
)
def test_a_message_no_intent_fits_starts_a_report_when_it_tells_one(text, kind):
    events = report_from_message(text)
    if kind is None:
        assert events is None
    else:
        assert events[0] == {"event": "slot", "timestamp": None, "name": "report_type", "value": kind}
        assert events[-1]["event"] == "followup" and events[-1]["name"] == "report_form"


def test_a_place_after_di_counts_as_marked_only_with_its_own_marker_word():
    assert place_in_story("bantuan bpnt dipotong di kulon progo, kec. wates, tadi pagi") == ("kulon progo, kec. wates", True)
    assert place_in_story("usul laporan dana desa dipasang di papan pengumuman balai desa")[1] is False
    assert place_in_story("kursi roda tidak bisa masuk di pematangsiantar, jalan sutomo") == ("pematangsiantar, jalan sutomo", False)
