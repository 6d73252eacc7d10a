"""Deterministic aggregate identity: the one place the uuid5 names are spelled.

Aggregate ids derive from the row's primary key, so a re-run or a resume of the
bootstrap can never create a second aggregate for the same legacy row, and the
service finds a user's score from the user id alone. Each aggregate's ``create_id``
calls the function here; the server-side seeder (``bootstrap/seed_sql.py``) builds the
same names from the prefixes below. Changing a name changes every stored id.
"""

import uuid

NAMESPACE = uuid.UUID("6f1c9d1e-3b52-4c5e-9a59-2f1d4a7c0b11")

SCORE_NAME_PREFIX = "/user_call_scores/user_id/"
"""A UserCallScore's name: this prefix and the user id."""
NEW_SCORE_ROW_NAME_PREFIX = "/user_call_scores/new/"
"""The row id (hex) of a score row the bootstrap registers for a user with no row: this prefix and the user id."""
QUEUE_ENTRY_NAME_PREFIX = "/call_queue/"
"""A CallQueueEntry's name: this prefix and the row id."""
CONVERSION_NAME_PREFIX = "/conversions/"
"""A Conversion's name: this prefix and the row id."""
BOOTSTRAP_RUN_NAME = "/bootstrap_run"
LEGACY_SCHEMA_NAME = "/legacy_schema"


def score_id(user_id: int) -> uuid.UUID:
    """One UserCallScore per user: ``user_id`` is unique in ``user_call_scores``."""
    return uuid.uuid5(NAMESPACE, f"{SCORE_NAME_PREFIX}{user_id}")


def new_score_row_id(user_id: int) -> str:
    """The row id of a user known only from queue rows: deterministic, so a re-run of the
    bootstrap registers the same row id."""
    return uuid.uuid5(NAMESPACE, f"{NEW_SCORE_ROW_NAME_PREFIX}{user_id}").hex


def queue_entry_id(row_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{QUEUE_ENTRY_NAME_PREFIX}{row_id}")


def conversion_id(row_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{CONVERSION_NAME_PREFIX}{row_id}")


def bootstrap_run_id() -> uuid.UUID:
    """The one BootstrapRun."""
    return uuid.uuid5(NAMESPACE, BOOTSTRAP_RUN_NAME)


def legacy_schema_id() -> uuid.UUID:
    """The one LegacySchema."""
    return uuid.uuid5(NAMESPACE, LEGACY_SCHEMA_NAME)


def new_row_id() -> str:
    """A fresh primary key for a row the tracker creates (fits VARCHAR(191))."""
    return uuid.uuid4().hex
