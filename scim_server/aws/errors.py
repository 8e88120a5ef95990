"""AWS error values raised by the access plane and rendered in each protocol's own error shape.

botocore reads the error code of a JSON 1.1 response from the body's ``__type`` and of a REST-JSON response from
the ``x-amzn-ErrorType`` header, and the request id from ``x-amzn-RequestId`` [BC-parsers]. The backend raises
:class:`AwsError`; :mod:`scim_server.aws.http` turns it into the right shape for the protocol that was called.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AwsError",
    "conflict",
    "forbidden",
    "not_found",
    "required_string",
    "unauthorized",
    "validation",
]


class AwsError(Exception):
    """An AWS service error: ``code`` (exception class name), ``message``, HTTP ``status`` and extra members."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


def validation(message: str, **fields: Any) -> AwsError:
    """Return a ``ValidationException`` (400) [BC-ids][BC-ssoadmin]."""
    return AwsError("ValidationException", message, 400, **fields)


def required_string(name: str, value: Any) -> str:
    """Return ``value`` when it is a non-empty string; else raise a ``ValidationException`` saying whether ``name``
    is missing or of the wrong type [BC-ids][BC-ssoadmin]."""
    if value is None or value == "":
        raise validation(f"{name} is required")
    if not isinstance(value, str):
        raise validation(f"{name} must be a string, got {type(value).__name__}")
    return value


def not_found(message: str, **fields: Any) -> AwsError:
    """Return a ``ResourceNotFoundException`` (404) [BC-ids][BC-ssoadmin][BC-sso]."""
    return AwsError("ResourceNotFoundException", message, 404, **fields)


def conflict(message: str, **fields: Any) -> AwsError:
    """Return a ``ConflictException`` (409) [BC-ids][BC-ssoadmin]."""
    return AwsError("ConflictException", message, 409, **fields)


def unauthorized(message: str = "Session token not found or invalid") -> AwsError:
    """Return the portal's ``UnauthorizedException`` (401) with the text users see for a dead token [GH-cli7340]."""
    return AwsError("UnauthorizedException", message, 401)


def forbidden(message: str = "No access") -> AwsError:
    """Return the portal's ``ForbiddenException`` (403) ``No access`` that GetRoleCredentials answers when the user
    is not entitled (field reports, e.g. github.com/ministryofjustice/modernisation-platform/pull/10161; not in the
    botocore model, so boto3 raises a plain ``ClientError`` with this code)."""
    return AwsError("ForbiddenException", message, 403)
