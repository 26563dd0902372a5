import pytest

from bot.cluster import postgres


def test_missing_postgresql_binaries_fail_with_install_advice(monkeypatch, tmp_path):
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    monkeypatch.setenv("PG_BIN_DIR", str(tmp_path))
    with pytest.raises(postgres.PostgresUnavailable, match="apt-get install -y postgresql"):
        with postgres.running_postgres():
            pass


def test_newest_installed_version_is_preferred(monkeypatch, tmp_path):
    for version in ("9.6", "15", "13"):
        directory = tmp_path / version / "bin"
        directory.mkdir(parents=True)
        (directory / "initdb").touch()
        (directory / "pg_ctl").touch()
    monkeypatch.delenv("PG_BIN_DIR", raising=False)
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [str(tmp_path / v / "bin") for v in ("9.6", "15", "13")])
    assert postgres.find_bin_dir() == tmp_path / "15" / "bin"


def test_postgres_url_points_at_a_running_server(postgres_url):
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    assert url.host == "127.0.0.1" and url.database == "sapalapor_test"
    connection = psycopg2.connect(host=url.host, port=url.port, user=url.username, dbname=url.database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version_num")
            assert int(cursor.fetchone()[0]) >= 120000
    finally:
        connection.close()
