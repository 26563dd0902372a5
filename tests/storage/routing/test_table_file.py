from pathlib import Path

from storage.routing.agencies import DEFAULT_TABLE_FILE, table_file

ROOT = Path(__file__).resolve().parents[3]


def test_no_configured_table_is_the_shipped_one_which_config_yml_names_too():
    assert table_file(ROOT, None) == table_file(ROOT, "") == DEFAULT_TABLE_FILE
    assert table_file(ROOT, "storage/routing/agencies.yml").resolve() == DEFAULT_TABLE_FILE


def test_a_configured_table_is_relative_to_the_root_unless_absolute(tmp_path):
    assert table_file(tmp_path, "mine/agencies.yml") == tmp_path / "mine" / "agencies.yml"
    assert table_file(ROOT, str(tmp_path / "agencies.yml")) == tmp_path / "agencies.yml"
