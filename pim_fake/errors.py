"""Microsoft Graph error envelope [G-ERR] and the PIM error codes the fake returns [ARM-ERR].

Every error the fake answers has the Graph shape::

    {"error": {"code": "...", "message": "...",
               "innerError": {"date": "...", "request-id": "...", "client-request-id": "..."}}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["GraphError", "bad_request", "forbidden", "not_found", "policy_failed"]


@dataclass
class GraphError(Exception):
    """An error answered to a Graph caller; ``status`` is the HTTP status, ``code`` Graph's error code."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def envelope(self, date: str, request_id: str, client_request_id: str | None) -> dict[str, Any]:
        """Return the JSON body in Graph's error envelope [G-ERR]."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": date,
                    "request-id": request_id,
                    "client-request-id": client_request_id or request_id,
                },
            }
        }


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    """Return a 400 Graph error (``BadRequest`` unless a more specific code is given)."""
    return GraphError(400, code, message)


def not_found(what: str, ident: str) -> GraphError:
    """Return Graph's 404 ``Request_ResourceNotFound`` for ``what`` with id ``ident`` [GH ScubaGear#1305]."""
    return GraphError(404, "Request_ResourceNotFound", f"Resource '{ident}' of type '{what}' does not exist.")


def forbidden(message: str = "Insufficient privileges to complete the operation.") -> GraphError:
    """Return Graph's 403 ``Authorization_RequestDenied``."""
    return GraphError(403, "Authorization_RequestDenied", message)


def policy_failed(rules: list[str]) -> GraphError:
    """Return 400 ``RoleAssignmentRequestPolicyValidationFailed`` naming the failed rules [ARM-ERR].

    The message format is ``The following policy rules failed: ["ExpirationRule"]``; several rules are listed
    in one array [GH: MicrosoftDocs/azure-docs#80426].
    """
    listed = ",".join(f'"{r}"' for r in rules)
    return GraphError(
        400, "RoleAssignmentRequestPolicyValidationFailed", f"The following policy rules failed: [{listed}]"
    )
