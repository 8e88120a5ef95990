"""AWS's SCIM error body and the exception the SCIM layer raises to produce it.

Body shape ([GH-lichti][GH-idp98], 2022+): both ``schema`` and ``schemas`` keys, ``status`` as a string, an
``exceptionRequestId`` and a ``timeStamp`` like ``2024-04-05 06:32:12.227``; no ``scimType`` was observed::

    {"schema": ["urn:ietf:params:scim:api:messages:2.0:Error"],
     "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
     "detail": "Request is unparsable, syntactically incorrect, or violates schema.",
     "status": "400", "exceptionRequestId": "<uuid>", "timeStamp": "2024-04-05 06:32:12.227"}

AWS's 400 detail is usually the generic text above ([GH-idp62][UG23-entra]); the documented specific texts are
used where the references quote them. The fake also records a ``reason`` (what exactly was wrong) in the
``/_sandbox/requests`` log — never in the body, so the body stays AWS's.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = [
    "DETAIL_DUPLICATE",
    "DETAIL_INVALID",
    "DETAIL_REPLACE_MEMBERS",
    "ERROR_SCHEMA",
    "ScimError",
    "aws_timestamp",
    "error_body",
]

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

DETAIL_INVALID = "Request is unparsable, syntactically incorrect, or violates schema."
"""AWS's generic 400 detail [GH-lichti][GH-idp62][UG23-entra]."""

DETAIL_DUPLICATE = "Refused to create a new, duplicate resource."
"""AWS's 409 detail [GH-idp45][UG-trouble]."""

DETAIL_REPLACE_MEMBERS = "Replacing group memberships is not supported."
"""AWS's 400 detail for ``replace`` of group members [GH-kc73]."""

DETAIL_PATHLESS = (
    'Current PATCH support allows omitting "path" attribute only for Add and Replace operations modifying a single '
    "attribute."
)
"""AWS's 400 detail for a path-less PATCH touching several attributes [GH-ak12321]."""

DETAIL_UNAUTHORIZED = "The security token included in the request is invalid."
"""401 detail (exact text UNCONFIRMED; the status and UnauthorizedException are [DG-spc])."""

DETAIL_THROTTLED = "Too many requests."
"""429 detail ([DG-spc] documents ThrottlingException "Too many requests ..."; exact text UNCONFIRMED)."""

DETAIL_INTERNAL = "An internal error occurred."
"""500 detail for injected faults (exact text UNCONFIRMED)."""


class ScimError(Exception):
    """An error answered in AWS's SCIM error shape: HTTP ``status``, AWS ``detail``, and a log-only ``reason``."""

    def __init__(
        self,
        status: int,
        detail: str = DETAIL_INVALID,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason or detail)
        self.status = status
        self.detail = detail
        self.reason = reason or detail
        self.headers = dict(headers or {})
        """Extra response headers (``Retry-After`` on an injected 429/500)."""

    @classmethod
    def invalid(cls, reason: str, detail: str = DETAIL_INVALID) -> ScimError:
        """Return a 400 ValidationException with the generic detail (``reason`` goes to the request log)."""
        return cls(400, detail, reason)

    @classmethod
    def not_found(cls, kind: str, resource_id: str) -> ScimError:
        """Return a 404 ResourceNotFoundException (detail text UNCONFIRMED)."""
        return cls(404, f"{kind} not found: {resource_id}", f"no {kind.lower()} with id {resource_id!r}")

    @classmethod
    def conflict(cls, reason: str) -> ScimError:
        """Return a 409 ConflictException with AWS's duplicate-resource detail."""
        return cls(409, DETAIL_DUPLICATE, reason)


def aws_timestamp(when: datetime) -> str:
    """Return ``YYYY-MM-DD HH:MM:SS.mmm`` in UTC, the ``timeStamp`` form AWS uses [GH-lichti]."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def error_body(status: int, detail: str, request_id: str, when: datetime) -> dict[str, object]:
    """Return AWS's SCIM error body for ``status`` (see the module docstring)."""
    return {
        "schema": [ERROR_SCHEMA],
        "schemas": [ERROR_SCHEMA],
        "detail": detail,
        "status": str(status),
        "exceptionRequestId": request_id,
        "timeStamp": aws_timestamp(when),
    }
