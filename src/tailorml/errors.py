"""The few exception types tailorml raises, and the one JSON shape they take.

Every error a user can cause is a :class:`TailorError`. Each subclass maps to one CLI exit
code and one HTTP status, so the CLI and (later) the HTTP API report the same problem the
same way. Messages name the field or file, the value received, what is allowed, and the fix.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DataError",
    "NotFoundError",
    "SpecError",
    "TailorError",
    "error_body",
]


class TailorError(Exception):
    """Base class for every error a user can cause and fix.

    Parameters
    ----------
    message:
        What went wrong, naming the field or file and the value received.
    hint:
        How to fix it; shown on its own line by the CLI.
    details:
        Structured extras (a list of problems, a line number) for ``--json`` and HTTP.
    """

    exit_code = 1
    http_status = 400
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class SpecError(TailorError):
    """``tailor.yaml`` is missing, unreadable or invalid."""

    exit_code = 2
    http_status = 422
    kind = "spec_error"


class DataError(TailorError):
    """A data file cannot be read, or the data cannot serve the spec."""

    exit_code = 3
    http_status = 422
    kind = "data_error"


class NotFoundError(TailorError):
    """A named thing (data version, file, project folder) does not exist."""

    exit_code = 4
    http_status = 404
    kind = "not_found"


def error_body(error: TailorError) -> dict[str, Any]:
    """Return the one JSON shape every error takes, on the CLI (``--json``) and over HTTP."""
    body: dict[str, Any] = {"type": error.kind, "message": error.message}
    if error.hint:
        body["hint"] = error.hint
    if error.details is not None:
        body["details"] = error.details
    return {"error": body}
