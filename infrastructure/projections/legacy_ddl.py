"""The DDL our projected tables reproduce: the legacy tables (reference schema, used when
no legacy schema was captured) and the guide's changes, verbatim."""

from __future__ import annotations

REFERENCE_LEGACY_CREATE = {
    "user_call_scores": """CREATE TABLE `user_call_scores` (
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
    "call_queue": """CREATE TABLE `call_queue` (
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

REFERENCE_LEGACY_COLUMNS = {
    "user_call_scores": [
        ("id", "varchar(191)", False, None),
        ("user_id", "bigint", False, None),
        ("current_score", "int", False, "0"),
        ("total_attempts", "int", False, "0"),
        ("last_call_outcome", "varchar(191)", True, None),
        ("last_call_at", "datetime(3)", True, None),
        ("created_at", "datetime(3)", False, "current_timestamp(3)"),
        ("updated_at", "datetime(3)", False, None),
    ],
    "call_queue": [
        ("id", "varchar(191)", False, None),
        ("user_id", "bigint", False, None),
        ("queue_type", "varchar(191)", False, None),
        ("priority_score", "int", False, "0"),
        ("status", "varchar(191)", False, "'pending'"),
        ("assigned_to_agent_id", "int", True, None),
        ("assigned_at", "datetime(3)", True, None),
        ("queue_reason", "text", True, None),
        ("created_at", "datetime(3)", False, "current_timestamp(3)"),
        ("updated_at", "datetime(3)", False, None),
    ],
}

# The guide's step 1 and 5 columns, and step 8 indexes, as it writes them.
GUIDE_ALTERS = {
    "user_call_scores": [
        "ALTER TABLE {t} ADD COLUMN `is_active` BOOLEAN DEFAULT true, "
        "ADD COLUMN `current_queue_type` VARCHAR(191) NULL, "
        "ADD COLUMN `last_reset_date` DATETIME(3) NULL, "
        "ADD COLUMN `last_queue_check` DATETIME(3) NULL",
        "CREATE INDEX `user_call_scores_is_active_idx` ON {t}(`is_active`)",
        "CREATE INDEX `user_call_scores_current_queue_type_idx` ON {t}(`current_queue_type`)",
    ],
    "call_queue": [
        "ALTER TABLE {t} ADD COLUMN `callback_id` VARCHAR(191) NULL, "
        "ADD COLUMN `callback_scheduled_for` DATETIME(3) NULL, "
        "ADD COLUMN `callback_reason` TEXT NULL",
        "CREATE INDEX `call_queue_callback_id_idx` ON {t}(`callback_id`)",
    ],
}

GUIDE_NEW_COLUMNS = {
    "user_call_scores": [
        ("is_active", "tinyint(1)", True, "1"),
        ("current_queue_type", "varchar(191)", True, None),
        ("last_reset_date", "datetime(3)", True, None),
        ("last_queue_check", "datetime(3)", True, None),
    ],
    "call_queue": [
        ("callback_id", "varchar(191)", True, None),
        ("callback_scheduled_for", "datetime(3)", True, None),
        ("callback_reason", "text", True, None),
    ],
}

GUIDE_NEW_INDEXES = {
    "user_call_scores": [
        ("user_call_scores_is_active_idx", ["is_active"]),
        ("user_call_scores_current_queue_type_idx", ["current_queue_type"]),
    ],
    "call_queue": [("call_queue_callback_id_idx", ["callback_id"])],
}

LEGACY_INDEXES = {
    "user_call_scores": [("user_call_scores_user_id_key", ["user_id"], True)],
    "call_queue": [
        ("call_queue_user_id_idx", ["user_id"], False),
        ("call_queue_queue_type_status_idx", ["queue_type", "status"], False),
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

CONVERSIONS_COLUMNS = [
    ("id", "varchar(191)", False, None),
    ("user_id", "bigint", False, None),
    ("previous_queue_type", "varchar(191)", False, None),
    ("conversion_type", "varchar(191)", False, None),
    ("conversion_reason", "text", True, None),
    ("final_score", "int", True, None),
    ("total_call_attempts", "int", False, "0"),
    ("last_call_at", "datetime(3)", True, None),
    ("converted_at", "datetime(3)", False, "current_timestamp(3)"),
    ("primary_agent_id", "int", True, None),
    ("contributing_agents", "json", True, None),
    ("documents_received", "json", True, None),
    ("signature_obtained", "tinyint(1)", False, "0"),
    ("requirements_met", "json", True, None),
    ("claim_value", "decimal(10,2)", True, None),
    ("estimated_commission", "decimal(10,2)", True, None),
]

CONVERSIONS_INDEXES = [
    ("conversions_user_id_idx", ["user_id"], False),
    ("conversions_conversion_type_idx", ["conversion_type"], False),
    ("conversions_converted_at_idx", ["converted_at"], False),
    ("conversions_primary_agent_id_idx", ["primary_agent_id"], False),
]
