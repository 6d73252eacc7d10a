"""The one place environment variables are read.

Every field is a setting: the environment variable ``CONVTRACK_<NAME>``, the same in a
``.env`` file in the working directory, and the root option ``convtrack --<name> …``
(``infrastructure/cli/settings_options.py``). The table in docs/configuration.md is
generated from this class (``python -m infrastructure.settings_table --write``). A value
that is not allowed is refused with the setting's name and what it allows (exit 2)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infrastructure.database import SUPPORTED_URLS, checked_url
from infrastructure.observability.logs import LogFormat, LogLevel

DEFAULT_DATABASE_URL = "sqlite:///var/convtrack.sqlite3"
ENV_PREFIX = "CONVTRACK_"
ENV_FILE = ".env"


class Settings(BaseSettings):
    """Configuration, from ``CONVTRACK_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=ENV_FILE, extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="Event store and projections (the tracker's database)",
        json_schema_extra={"allowed": SUPPORTED_URLS},
    )
    legacy_url: str | None = Field(
        None,
        description="Legacy tables, read by the bootstrapper (unset: the database URL)",
        json_schema_extra={"allowed": SUPPORTED_URLS},
    )
    events_table: str = Field(
        "stored_events",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,47}$",
        description="Name of the stored events table",
        json_schema_extra={"allowed": "a table name: a letter or _, then letters, digits or _ (at most 48)"},
    )
    reports_dir: Path = Field(
        Path("reports"),
        description="Where verify, cutover and rollback write their reports, and export its file",
        json_schema_extra={"allowed": "a directory that exists or can be created, writable"},
    )
    api_host: str = Field("127.0.0.1", min_length=1, description="Address `convtrack serve` listens on")
    api_port: int = Field(8000, ge=1, le=65535, description="Port `convtrack serve` listens on")
    api_workers: int = Field(1, ge=1, le=64, description="API worker processes of `convtrack serve`")
    poll_interval_seconds: float = Field(
        0.2, gt=0, le=60, description="How often a caught-up projection follower polls for new events"
    )
    embedded_follower: bool = Field(
        True, description="Run the projection follower inside each API worker (serve sets false when it runs its own)"
    )
    log_level: LogLevel = Field(
        LogLevel.INFO, description="Lowest level logged (debug, info, warning, error, critical)"
    )
    log_format: LogFormat = Field(
        LogFormat.TEXT, description="Log lines as text (for a terminal) or json (one object a line, for collectors)"
    )
    metrics_require_key: bool = Field(
        False, description="GET /metrics needs an API key (X-API-Key) like the API's other routes"
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="convtrack project serves GET /metrics on this port (on api_host); none: off"
    )

    pause_at: str | None = Field(
        None,
        description="Testing only: cutover and rollback stop for good at this point (before-record, after-record, "
        "after-rename; rollback also after-writeback-batch) so a test can kill them there",
        json_schema_extra={"hidden": True},  # from `convtrack --help`; still in docs/configuration.md
    )

    @field_validator("legacy_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url", "legacy_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is not None:
            checked_url(value)
        return value

    @field_validator("reports_dir")
    @classmethod
    def _not_a_file(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError("is a file, not a directory")
        return value

    @property
    def effective_legacy_url(self) -> str:
        return self.legacy_url or self.database_url


def env_name(field: str) -> str:
    """The environment variable of a setting: ``api_port`` → ``CONVTRACK_API_PORT``."""
    return ENV_PREFIX + field.upper()


def option_name(field: str) -> str:
    """The root command-line option of a setting: ``api_port`` → ``--api-port``."""
    return "--" + field.replace("_", "-")
