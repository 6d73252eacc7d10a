"""The DDL our projected tables reproduce: the legacy tables (reference schema, used when
no legacy schema was captured) and the guide's changes, verbatim.

The DDL text is the one statement of each table: the column and index lists the rest of
the code needs (SQLAlchemy tables, SQLite DDL, the sample data) are read from it once, at
import, by :func:`columns_of` and :func:`indexes_of`."""

from __future__ import annotations

import re

from infrastructure.projections.names import CALL_QUEUE, USER_CALL_SCORES

ColumnSpec = tuple[str, str, bool, str | None]  # name, type as the server reports it, nullable, default
IndexSpec = tuple[str, list[str], bool]  # name, columns, unique

REFERENCE_LEGACY_CREATE = {
    USER_CALL_SCORES: """CREATE TABLE `user_call_scores` (
  `id` VARCHAR(191) NOT NULL,
  `user_id` BIGINT NOT NULL,
  `current_score` INTEGER NOT NULL DEFAULT 0,
  `total_attempts` INTEGER NOT NULL DEFAULT 0,
  `last_call_outcome` VARCHAR(191) NULL,
  `last_call_at` DATETIME(3) NULL,
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updated_at` DATETIME(3) NOT NULL,
  UNIQUE INDEX `user_call_scores_user_id_key`(`user_id`),
  PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci""",
    CALL_QUEUE: """CREATE TABLE `call_queue` (
  `id` VARCHAR(191) NOT NULL,
  `user_id` BIGINT NOT NULL,
  `queue_type` VARCHAR(191) NOT NULL,
  `priority_score` INTEGER NOT NULL DEFAULT 0,
  `status` VARCHAR(191) NOT NULL DEFAULT 'pending',
  `assigned_to_agent_id` INTEGER NULL,
  `assigned_at` DATETIME(3) NULL,
  `queue_reason` TEXT NULL,
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updated_at` DATETIME(3) NOT NULL,
  INDEX `call_queue_user_id_idx`(`user_id`),
  INDEX `call_queue_queue_type_status_idx`(`queue_type`, `status`),
  PRIMARY KEY (`id`),
  CONSTRAINT `call_queue_assigned_to_agent_id_fkey` FOREIGN KEY (`assigned_to_agent_id`) REFERENCES `agents`(`id`) ON DELETE SET NULL ON UPDATE CASCADE
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci""",
}

# The guide's step 1 and 5 columns, and step 8 indexes, as it writes them.
GUIDE_ALTERS = {
    USER_CALL_SCORES: [
        "ALTER TABLE {t} ADD COLUMN `is_active` BOOLEAN DEFAULT true, "
        "ADD COLUMN `current_queue_type` VARCHAR(191) NULL, "
        "ADD COLUMN `last_reset_date` DATETIME(3) NULL, "
        "ADD COLUMN `last_queue_check` DATETIME(3) NULL",
        "CREATE INDEX `user_call_scores_is_active_idx` ON {t}(`is_active`)",
        "CREATE INDEX `user_call_scores_current_queue_type_idx` ON {t}(`current_queue_type`)",
    ],
    CALL_QUEUE: [
        "ALTER TABLE {t} ADD COLUMN `callback_id` VARCHAR(191) NULL, "
        "ADD COLUMN `callback_scheduled_for` DATETIME(3) NULL, "
        "ADD COLUMN `callback_reason` TEXT NULL",
        "CREATE INDEX `call_queue_callback_id_idx` ON {t}(`callback_id`)",
    ],
}

CONVERSIONS_CREATE = """CREATE TABLE {t} (
    `id` VARCHAR(191) NOT NULL,
    `user_id` BIGINT NOT NULL,
    `previous_queue_type` VARCHAR(191) NOT NULL,
    `conversion_type` VARCHAR(191) NOT NULL,
    `conversion_reason` TEXT NULL,
    `final_score` INTEGER NULL,
    `total_call_attempts` INTEGER NOT NULL DEFAULT 0,
    `last_call_at` DATETIME(3) NULL,
    `converted_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `primary_agent_id` INTEGER NULL,
    `contributing_agents` JSON NULL,
    `documents_received` JSON NULL,
    `signature_obtained` BOOLEAN NOT NULL DEFAULT false,
    `requirements_met` JSON NULL,
    `claim_value` DECIMAL(10,2) NULL,
    `estimated_commission` DECIMAL(10,2) NULL,

    INDEX `conversions_user_id_idx`(`user_id`),
    INDEX `conversions_conversion_type_idx`(`conversion_type`),
    INDEX `conversions_converted_at_idx`(`converted_at`),
    INDEX `conversions_primary_agent_id_idx`(`primary_agent_id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"""

CONVERSIONS_FK = (
    "ALTER TABLE {t} ADD CONSTRAINT `conversions_primary_agent_id_fkey` "
    "FOREIGN KEY (`primary_agent_id`) REFERENCES {agents}(`id`) ON DELETE SET NULL ON UPDATE CASCADE"
)

# ------------------------------------------------------------------ reading the DDL

_COLUMN = re.compile(r"^\s*(?:ADD COLUMN\s+)?`([^`]+)`\s+([A-Z]+(?:\([\d,]+\))?)(.*)$", re.IGNORECASE)
_INLINE_INDEX = re.compile(r"^\s*(UNIQUE\s+)?INDEX\s+`([^`]+)`\s*\(([^)]*)\)", re.IGNORECASE)
_CREATE_INDEX = re.compile(r"^CREATE\s+(UNIQUE\s+)?INDEX\s+`([^`]+)`\s+ON\s+\{t\}\s*\(([^)]*)\)", re.IGNORECASE)
_DEFAULT = re.compile(r"\bDEFAULT\s+('[^']*'|\S+)", re.IGNORECASE)
# how the server reports a declared type (information_schema.COLUMNS.COLUMN_TYPE)
_REPORTED_TYPE = {"integer": "int", "boolean": "tinyint(1)"}
_REPORTED_DEFAULT = {"true": "1", "false": "0"}


def _column(match: re.Match[str]) -> ColumnSpec:
    name, declared, rest = match.groups()
    default = _DEFAULT.search(rest)
    value = default.group(1).rstrip(",") if default else None
    if value is not None:
        value = _REPORTED_DEFAULT.get(value.lower(), value if value.startswith("'") else value.lower())
    return name, _REPORTED_TYPE.get(declared.lower(), declared.lower()), "NOT NULL" not in rest.upper(), value


def columns_of(*statements: str) -> list[ColumnSpec]:
    """The columns a CREATE TABLE (one per line) or ALTER TABLE ... ADD COLUMN declares,
    as the server reports them: ``INTEGER`` is ``int``, ``BOOLEAN DEFAULT true`` is
    ``tinyint(1)`` defaulting to ``1``, a column without ``NOT NULL`` is nullable."""
    parts = [part for statement in statements for part in re.split(r"\n|,?\s+(?=ADD COLUMN\b)", statement)]
    return [_column(match) for part in parts if (match := _COLUMN.match(part))]


def indexes_of(*statements: str) -> list[IndexSpec]:
    """The secondary indexes a CREATE TABLE declares inline, or CREATE INDEX statements add."""
    found: list[IndexSpec] = []
    for statement in statements:
        for line in statement.splitlines():
            match = _INLINE_INDEX.match(line) or _CREATE_INDEX.match(line)
            if match:
                unique, name, columns = match.groups()
                found.append((name, re.findall(r"`([^`]+)`", columns), bool(unique)))
    return found


REFERENCE_LEGACY_COLUMNS = {table: columns_of(ddl) for table, ddl in REFERENCE_LEGACY_CREATE.items()}
LEGACY_INDEXES = {table: indexes_of(ddl) for table, ddl in REFERENCE_LEGACY_CREATE.items()}
GUIDE_NEW_COLUMNS = {table: columns_of(*statements) for table, statements in GUIDE_ALTERS.items()}
GUIDE_NEW_INDEXES = {table: indexes_of(*statements) for table, statements in GUIDE_ALTERS.items()}
CONVERSIONS_COLUMNS = columns_of(CONVERSIONS_CREATE)
CONVERSIONS_INDEXES = indexes_of(CONVERSIONS_CREATE)
