from sqlalchemy import func, select

from storage.models import RoutingSuggestion
from storage.routing.suggest import route_report, suggest_routing


def test_the_issue_s_example_arrives_routed_to_kabupaten_bandung(session, file_report):
    report = file_report(description="jalan rusak parah di kab bandung dekat pasar", location="kab bandung")
    suggestion = route_report(session, report)
    assert (suggestion.category_code, suggestion.region_code, suggestion.region_level) == (
        "pekerjaan_umum", "32.04", "kabupaten")
    assert suggestion.agency == "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Bandung"
    assert suggestion.agency_level == "kabupaten"
    assert 0.5 <= suggestion.category_confidence <= 1.0
    assert "Kabupaten Bandung" in suggestion.reason and "Pekerjaan Umum" in suggestion.reason
    assert (report.category_code, report.region_code, report.region_name, report.agency) == (
        "pekerjaan_umum", "32.04", "Kabupaten Bandung, Jawa Barat",
        "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Bandung")


def test_an_ambiguous_place_leaves_the_region_for_the_user_and_says_why(session, file_report):
    report = file_report(description="KTP elektronik saya belum jadi sudah 6 bulan", location="Bandung")
    suggestion = route_report(session, report)
    assert suggestion.region_code is None and report.region_code is None
    assert "Kota Bandung" in suggestion.reason and "Kabupaten Bandung" in suggestion.reason
    assert suggestion.agency_level == "nasional"


def test_routing_again_replaces_the_suggestion_and_keeps_choices_already_made(session, file_report):
    report = file_report(description="air pdam mati tiga hari", location="Bandung")
    route_report(session, report)
    report.region_code, report.region_name = "32.73", "Kota Bandung, Jawa Barat"
    report.agency = "Perumda Tirtawening Kota Bandung"
    suggestion = route_report(session, report)
    count = session.execute(select(func.count()).select_from(RoutingSuggestion)
                            .where(RoutingSuggestion.report_id == report.id)).scalar_one()
    assert count == 1
    assert suggestion.region_code == "32.73"
    assert suggestion.agency == "Perusahaan Umum Daerah Air Minum Kota Bandung"
    assert report.agency == "Perumda Tirtawening Kota Bandung"


def test_a_category_the_citizen_picked_wins_over_the_model():
    result = suggest_routing("tolong dibantu", "Surabaya", category_code="kesehatan")
    assert (result.category.code, result.category.confidence, result.category_confident) == ("kesehatan", 1.0, True)
    assert result.agency.agency == "Dinas Kesehatan Kota Surabaya"
