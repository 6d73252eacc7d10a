"""Checks of the options that name where a command writes (``--reports-dir``, ``export
--output``) or which database it fills (``sample-data --url``): run while the command line
is parsed, before the phase check or anything else, so a path that cannot be written or a
URL that cannot be used is one ``error:`` line (exit 2) and nothing is done."""

from __future__ import annotations

from pathlib import Path

from domain.errors import InvalidValue
from infrastructure.configuration import check_reports_dir, unusable_path
from infrastructure.database import checked_url, masked_url
from infrastructure.settings import Settings


def reports_dir_option(value: Path | None) -> Path | None:
    """Typer callback of ``--reports-dir``."""
    return None if value is None else check_reports_dir(value, "--reports-dir")


def output_file_option(value: Path | None) -> Path | None:
    """Typer callback of ``export --output``: a file that can be written (not a directory)."""
    if value is not None and (problem := unusable_path(value, directory=False)):
        raise InvalidValue("--output", f"{problem}; give the path of a file to write")
    return value


def reports_dir_in(option: Path | None, settings: Settings) -> Path:
    """Where the command writes its reports: the option, else the setting, checked."""
    return option if option is not None else check_reports_dir(settings.reports_dir)


def database_url_option(value: str) -> str:
    """Typer callback of an option naming a database (``sample-data --url``)."""
    try:
        checked_url(value)
    except ValueError as error:
        raise InvalidValue("--url", f"{masked_url(value)!r} {error}") from None
    return value
