"""One error hierarchy for the whole tracker.

The edges (HTTP, CLI) catch :class:`ConvTrackError` only and map each subclass to a
status code or exit code. Messages are written for the person who has to act on them.
"""


class ConvTrackError(Exception):
    """Any other error the tracker reports.

    The base of every error the tracker raises on purpose. The first line of each
    docstring here that introduces an exit code is what ``convtrack --help`` lists for it.
    """

    http_status = 400
    exit_code = 1


class InvalidValue(ConvTrackError):
    """Bad input: a value, option or setting that is not allowed (nothing was done).

    A value that does not satisfy a rule of the schema (length, range, precision), a
    command-line usage error, or a setting outside what it allows."""

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
    """Refused in this state or phase: the command names the next step (e.g. bootstrap twice)."""

    http_status = 409
    exit_code = 5


class WrongPhase(OperationRefused):
    """The command does not belong to the lifecycle's current phase (``domain/lifecycle.py``)."""

    http_status = 503


class StoreUnavailable(ConvTrackError):
    """The database could not be reached or refused the operation."""

    http_status = 503
    exit_code = 6


class ProjectionStuck(ConvTrackError):
    """A projection cannot apply an event (it is retried, never skipped)."""

    http_status = 500
    exit_code = 7


class VerificationFailed(ConvTrackError):
    """Verify found rows or values that differ (the report lists them)."""

    http_status = 409
    exit_code = 8


class KeptCopyChanged(ConvTrackError):
    """Rollback: the kept legacy tables differ from the bootstrap snapshot."""

    http_status = 409
    exit_code = 9


class PortInUse(ConvTrackError):
    """The port `convtrack serve` should listen on is in use."""

    http_status = 500
    exit_code = 10

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} on {host} is in use (by another server?); stop it or choose another port")
        self.host = host
        self.port = port


class Interrupted(ConvTrackError):
    """Interrupted (Ctrl-C) or aborted at a prompt."""

    exit_code = 130
