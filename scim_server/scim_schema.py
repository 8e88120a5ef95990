"""What every AWS SCIM rule builds on: the URNs, the scim2-models types and policy, and the shared attribute checks.

scim2-models does the SCIM part (resource models, PATCH parsing and application, path/filter syntax); the rule
modules add what AWS restricts on top:

- :mod:`scim_server.user_rules` — CreateUser/PutUser bodies [DG-createuser][DG-putuser];
- :mod:`scim_server.group_rules` — CreateGroup bodies [DG-creategroup];
- :mod:`scim_server.patch_rules` — PatchUser and PatchGroup operations [DG-patchuser][DG-patchgroup].

Every rule names its source tag; each raises :class:`ScimError` (400 unless said). All of them are pure functions:
no HTTP, no store.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, ValidationError
from scim2_models import Email, EnterpriseUser, SCIMException, ScimPolicy, User

from scim_server.errors import ScimError

__all__ = [
    "ENTERPRISE_URN",
    "GROUP_URN",
    "MODEL_ERRORS",
    "PATCH_URN",
    "POLICY",
    "USER_URN",
    "ScimUser",
    "check_boolean",
    "check_email_syntax",
    "check_string",
    "error_reason",
    "invalid",
    "known_schemas",
    "lower_keys",
    "user_schemas",
]

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

_LABEL = re.compile(r"^(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?$")
"""One domain label: letters (any script), digits and inner hyphens, 1–63 characters."""


def check_email_syntax(value: str | None) -> str | None:
    """Return ``value`` when it is a syntactically valid address, else raise ValueError.

    AWS documents no rule against special-use or reserved domains (``user@corp.local``, ``user@example.test``), and
    internal domains are common in synced directories, so only the syntax is checked: the local part as the
    ``email-validator`` library checks it, the domain as at least two labels ending in a letter. (scim2-models'
    ``EmailStr`` also refuses special-use names — "a special-use or reserved name" — a library default, not AWS's.)
    """
    if value is None:
        return None
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    if not at or not local or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a valid email address")
    if not labels[-1][-1].isalpha() or len(domain) > 253:
        raise ValueError(f"{value!r} is not a valid email address: the domain must end in a top-level name")
    try:
        validate_email(f"{local}@example.com", check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid email address: {exc}") from None
    return value


class AwsEmail(Email):
    """A user's email: any syntactically valid address (:func:`check_email_syntax`)."""

    value: Annotated[str | None, AfterValidator(check_email_syntax)] = None


class _AwsUser(User[EnterpriseUser]):
    """The SCIM user with the enterprise extension, emails checked by syntax only."""

    emails: list[AwsEmail] | None = None  # type: ignore[assignment]


ScimUser = _AwsUser

POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.forbid,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
"""Entra's PATCH forms ([E-SCIM][E-COMPAT]): a ``remove`` with a ``value``; a filtered path creating its entry."""

MODEL_ERRORS = (ValidationError, SCIMException, ValueError, TypeError)
"""What scim2-models raises for a payload it refuses (answered as 400 with :func:`error_reason` in the log)."""


def invalid(reason: str) -> ScimError:
    """Return a 400 ValidationException with AWS's generic detail; ``reason`` goes to the request log."""
    return ScimError.invalid(reason)


def lower_keys(data: dict[str, Any]) -> dict[str, str]:
    """Return a map from each lower-cased key of ``data`` to the key as sent (attribute names are case-insensitive)."""
    return {k.lower(): k for k in data}


def check_string(name: str, value: Any, *, required: bool, max_len: int = 1024) -> None:
    """Return None when ``value`` is an acceptable string attribute, else raise 400 saying what is wrong.

    Strings are at most 1024 characters unless said otherwise [BC-ids][DG-putuser].
    """
    if value is None:
        if required:
            raise invalid(f"{name} is required")
        return
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string")
    if required and not value.strip():
        raise invalid(f"{name} must not be empty")
    if len(value) > max_len:
        raise invalid(f"{name} is longer than {max_len} characters")


def check_boolean(name: str, value: Any) -> None:
    """Return None when ``value`` is a JSON boolean or absent (None), else raise 400: SCIM's boolean attributes take
    ``true``/``false`` only; pydantic's coercion of ``"yes"``, ``"on"``, ``1`` or ``1.0`` is not AWS's. (Entra's legacy
    ``"False"`` string is a PATCH form, turned into a boolean first when ``string_booleans`` is on [E-COMPAT].)"""
    if value is not None and not isinstance(value, bool):
        raise invalid(f"{name} must be a JSON boolean (true or false), got {value!r}")


def error_reason(exc: Exception) -> str:
    """Return a short text for a scim2-models/pydantic failure (the first three errors), for the request log."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return "; ".join(parts) or "invalid SCIM payload"
    return str(exc) or type(exc).__name__


def known_schemas(schemas: Any, allowed: tuple[str, ...], required: str) -> list[str]:
    """Return the URNs of ``allowed`` that ``schemas`` lists (case-insensitively); 400 unless it lists ``required``.

    Other URNs (e.g. Entra's ``.../ADSCIM/2.0/Group``) are accepted and dropped.
    """
    if schemas is None:
        raise invalid(f"schemas is required and must list {required}")
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise invalid("schemas must be a list of URN strings")
    lowered = {s.lower() for s in schemas}
    if required.lower() not in lowered:
        raise invalid(f"schemas must list {required}")
    return [s for s in allowed if s.lower() in lowered]


def user_schemas(attrs: dict[str, Any]) -> list[str]:
    """Return the ``schemas`` list of a stored user: core, plus enterprise when the extension has values."""
    return [USER_URN, ENTERPRISE_URN] if attrs.get(ENTERPRISE_URN) else [USER_URN]
