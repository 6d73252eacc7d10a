"""The one place environment variables are read."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infrastructure.observability.logs import LogFormat, LogLevel

DEFAULT_DATABASE_URL = "sqlite:///var/convtrack.sqlite3"


class Settings(BaseSettings):
    """Configuration, from ``CONVTRACK_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="CONVTRACK_", env_file=".env", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="Event store and projections: sqlite:///path or mysql+pymysql://user:pw@host:port/db",
    )
    legacy_url: str | None = Field(
        None, description="Legacy tables, read by the bootstrapper (defaults to database_url)"
    )
    events_table: str = Field("stored_events", description="Name of the stored events table")
    reports_dir: Path = Field(Path("reports"), description="Where verify, cutover and rollback write their reports")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = 1
    poll_interval_seconds: float = 0.2
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
    )

    @property
    def effective_legacy_url(self) -> str:
        return self.legacy_url or self.database_url
