"""``--log-level`` and ``--log-format`` of the long-running commands (``serve``,
``project``): they override ``CONVTRACK_LOG_LEVEL`` and ``CONVTRACK_LOG_FORMAT``."""

from __future__ import annotations

import typer

from infrastructure.observability.logs import LogFormat, LogLevel, configure_logging
from infrastructure.settings import Settings

LOG_LEVEL = typer.Option(
    None, "--log-level", case_sensitive=False, help="Lowest level logged (default: CONVTRACK_LOG_LEVEL, else info)"
)
LOG_FORMAT = typer.Option(
    None, "--log-format", case_sensitive=False, help="text or json lines on stderr (default: CONVTRACK_LOG_FORMAT)"
)


def logging_settings(level: LogLevel | None, log_format: LogFormat | None) -> Settings:
    """The settings with the options applied, logging set up from them."""
    chosen = {"log_level": level, "log_format": log_format}
    settings = Settings().model_copy(update={key: value for key, value in chosen.items() if value is not None})
    configure_logging(settings.log_level, settings.log_format)
    return settings
