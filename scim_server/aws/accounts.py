"""The names and e-mail addresses the access portal lists for AWS accounts (registered via the sandbox)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import validation

__all__ = ["ACCOUNT_ID", "AccountNames"]

ACCOUNT_ID = re.compile(r"\d{12}")
"""A 12-digit AWS account id."""


class AccountNames:
    """Account id → (name, email) for the portal's ``ListAccounts``; unregistered ids get derived names."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self._changed = changed
        self.names: dict[str, tuple[str, str]] = {}

    def clear(self) -> None:
        """Forget every registered name."""
        self.names = {}

    def register(self, account_id: Any, name: Any, email: Any = None) -> None:
        """Give an account the name and email the portal lists."""
        if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
            raise validation(f"account_id {account_id!r} must be a 12-digit AWS account id")
        if not isinstance(name, str) or not name:
            raise validation("name is required")
        self.names[account_id] = (name, email if isinstance(email, str) else f"aws+{account_id}@example.com")
        self._changed()

    def to_json(self, account_id: str) -> dict[str, str]:
        """Return the portal's ``AccountInfo`` (names registered via the sandbox, else derived from the id)."""
        name, email = self.names.get(account_id, (f"account-{account_id}", f"aws+{account_id}@example.com"))
        return {"accountId": account_id, "accountName": name, "emailAddress": email}
