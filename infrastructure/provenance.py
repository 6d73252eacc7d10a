"""Who is acting, outside HTTP: the operator of this process (``user@host``), and fresh
request ids for the metadata every recorded event carries (``domain/event_metadata.py``)."""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from functools import cache


@cache
def operator_actor() -> str:
    """``user@host`` of this process (the CLI's actor, and any caller that names none)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the password database
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def new_request_id() -> str:
    return uuid.uuid4().hex
