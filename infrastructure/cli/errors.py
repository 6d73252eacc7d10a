"""How the CLI reports failure: one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import sys
from typing import NoReturn

from domain.errors import ConvTrackError


def fail(message: str, code: int = 1) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def fail_on(error: ConvTrackError) -> NoReturn:
    fail(str(error), error.exit_code)
