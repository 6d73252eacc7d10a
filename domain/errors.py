"""One error hierarchy for the whole tracker.

The edges (HTTP, CLI) catch :class:`ConvTrackError` only and map each subclass to a
status code or exit code. Messages are written for the person who has to act on them.
"""


class ConvTrackError(Exception):
    """Base of every error the tracker raises on purpose."""

    http_status = 400
    exit_code = 1


class InvalidValue(ConvTrackError):
    """A value does not satisfy a rule of the schema (length, range, precision)."""

    http_status = 422
    exit_code = 2

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(ConvTrackError):
    """The thing the command names does not exist."""

    http_status = 404
    exit_code = 3


class UnknownUser(NotFound):
    pass


class UnknownQueueEntry(NotFound):
    pass


class UnknownConversion(NotFound):
    pass


class UnknownAgent(NotFound):
    pass


class RuleViolation(ConvTrackError):
    """The command is well formed but the current state forbids it."""

    http_status = 409
    exit_code = 4


class AlreadyConverted(RuleViolation):
    pass


class ConversionAlreadyReversed(RuleViolation):
    pass


class EntryClosed(RuleViolation):
    """The queue entry is completed or cancelled and accepts no further change."""


class InvalidTransition(RuleViolation):
    pass


class UserInactive(RuleViolation):
    pass


class AlreadyExists(RuleViolation):
    pass


class ConcurrencyConflict(RuleViolation):
    """Another writer changed the same aggregate and retries did not resolve it."""


class IdempotencyKeyReused(RuleViolation):
    """The same idempotency key was sent with a different command or body."""


class OperationRefused(ConvTrackError):
    """An operator command refuses to run in the current state (e.g. bootstrap twice)."""

    http_status = 409
    exit_code = 5


class WrongPhase(OperationRefused):
    """The command does not belong to the lifecycle's current phase (``domain/lifecycle.py``)."""

    http_status = 503
