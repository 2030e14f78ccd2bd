"""The errors lig raises on purpose, each knowing how it shows on GraphQL and on HTTP.

    LigError                      code          HTTP
    ├── InvalidInput              BAD_USER_INPUT 400   a field of the request is wrong (names it)
    ├── NotFound                  NOT_FOUND      404
    ├── Unauthenticated           UNAUTHENTICATED 401
    ├── Forbidden                 FORBIDDEN      403
    ├── LimitExceeded             LIMIT_EXCEEDED 400   a request asks for more than allowed
    ├── Conflict                  CONFLICT       409
    ├── Busy                      SERVICE_UNAVAILABLE 503 the database is busy: retry later
    └── MissingStandard           MISSING_STANDARD 422 a rule needs a figure nobody has set

Anything else escaping a request is a bug: it is logged in full and answered generically.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LigError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code}
        if self.field is not None:
            ext["field"] = self.field
        return ext


class InvalidInput(LigError):
    code = "BAD_USER_INPUT"
    http_status = 400

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.reason = reason
        self.problems: list[tuple[str, str]] = [(field, reason)]

    @classmethod
    def many(cls, problems: list[tuple[str, str]]) -> InvalidInput:
        """One error for several bad fields: `field` is the first, the message lists them all."""
        error = cls(*problems[0])
        error.problems = list(problems)
        error.message = "; ".join(f"{field}: {reason}" for field, reason in problems)
        error.args = (error.message,)
        return error


class NotFound(LigError):
    code = "NOT_FOUND"
    http_status = 404


class Unauthenticated(LigError):
    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(LigError):
    code = "FORBIDDEN"
    http_status = 403


class LimitExceeded(LigError):
    code = "LIMIT_EXCEEDED"
    http_status = 400


class Conflict(LigError):
    code = "CONFLICT"
    http_status = 409


class MissingStandard(LigError):
    code = "MISSING_STANDARD"
    http_status = 422


class Busy(LigError):
    """The database could not take the work now (SQLite's one write lock, or an agency's push
    turn, stayed taken past the wait allowed). Nothing was stored: retry, with the same key."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503
