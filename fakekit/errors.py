"""The one error body of every ``/_sandbox`` route, on every fake.

``{"error": {"code": "BadRequest", "field": "seconds", "message": "..."}}`` with the HTTP status that fits
(400 bad input, 404 unknown id, 409 conflict). The protocol routes keep their own formats (SCIM error, Graph
envelope, AWS error shape); this body is only for the sandbox's control plane.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from fakekit.body import BodyError

__all__ = ["SANDBOX_CODES", "bad_request", "body_error", "sandbox_error"]

SANDBOX_CODES: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
}
"""The ``code`` each status gets when the caller names none."""


def sandbox_error(status: int, field: str | None, message: str, code: str | None = None) -> JSONResponse:
    """Return the sandbox error response for ``status`` naming the bad ``field`` (None: no single field) and saying
    what to change; ``code`` defaults to the one :data:`SANDBOX_CODES` gives the status."""
    content = {"error": {"code": code or SANDBOX_CODES.get(status, "Error"), "field": field, "message": message}}
    return JSONResponse(status_code=status, content=content)


def bad_request(field: str, message: str) -> JSONResponse:
    """Return the sandbox's 400 error response naming the bad ``field``."""
    return sandbox_error(400, field, message)


def body_error(exc: BodyError, hint: str) -> JSONResponse:
    """Return the sandbox error for a body :mod:`fakekit.body` refused (413 too large, else 400), with ``hint``
    saying what body the route wants."""
    return sandbox_error(exc.status, "body", f"{exc.message}; {hint}")
