"""Databases are compared by what they are (backend, host, port, name), not by URL text."""

from __future__ import annotations

from pathlib import Path

from infrastructure.database import database_identity, database_name


def test_an_engine_url_with_the_charset_added_names_the_same_database() -> None:
    configured = "mysql+pymysql://convtrack:secret@127.0.0.1:3306/app"
    assert database_identity(configured) == database_identity(configured + "?charset=utf8mb4")
    assert database_identity(configured) == database_identity("mysql+pymysql://other:pw@127.0.0.1/app")
    assert database_identity(configured) == database_identity("mariadb+pymysql://convtrack@127.0.0.1:3306/app")


def test_another_name_host_port_or_backend_is_another_database(tmp_path: Path) -> None:
    base = database_identity("mysql+pymysql://u:p@127.0.0.1:3306/app")
    assert base != database_identity("mysql+pymysql://u:p@127.0.0.1:3306/app_legacy")
    assert base != database_identity("mysql+pymysql://u:p@10.0.0.2:3306/app")
    assert base != database_identity("mysql+pymysql://u:p@127.0.0.1:3307/app")
    assert base != database_identity(f"sqlite:///{tmp_path / 'app'}")


def test_sqlite_files_compare_by_resolved_path(tmp_path: Path) -> None:
    assert database_identity(f"sqlite:///{tmp_path / 'a.sqlite3'}") == database_identity(
        f"sqlite:///{tmp_path / 'x' / '..' / 'a.sqlite3'}"
    )
    assert database_identity(f"sqlite:///{tmp_path / 'a.sqlite3'}") != database_identity(
        f"sqlite:///{tmp_path / 'b.sqlite3'}"
    )


def test_the_name_an_operator_types_is_the_database_or_the_file_name(tmp_path: Path) -> None:
    assert database_name("mysql+pymysql://u:p@h:3306/app?charset=utf8mb4") == "app"
    assert database_name(f"sqlite:///{tmp_path / 'tracker.sqlite3'}") == "tracker.sqlite3"
