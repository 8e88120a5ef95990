"""The role management policies of a tenant: one per group and role, created when PIM first sees the group.

A group is onboarded to PIM on first use (a policy for ``member`` and one for ``owner``, audit
"Onboarded resource to PIM") [G-OVERVIEW]. Lists must be scoped to one group [G-POL-LIST]; rules are read and
patched one at a time [G-RULES]. The public methods take the tenant's lock.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any

from pim_fake.directory import Caller, iso
from pim_fake.errors import bad_request, not_found
from pim_fake.locking import synchronized
from pim_fake.pim_context import PimContext
from pim_fake.pim_terms import ACCESS_IDS
from pim_fake.policies import Policy, default_rules, validate_rule_patch

__all__ = ["PolicyStore"]


class PolicyStore:
    """Policies keyed by ``(group id, role)``."""

    def __init__(self, ctx: PimContext) -> None:
        self.ctx = ctx
        self.by_scope: dict[tuple[str, str], Policy] = {}

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Return the tenant's lock."""
        return self.ctx.lock

    def clear(self) -> None:
        """Forget every policy (sandbox reset)."""
        self.by_scope.clear()

    def policy(self, group_id: str, role: str = "member", caller: Caller | None = None) -> Policy:
        """Return the group's policy for ``role``, onboarding the group on first use [G-OVERVIEW]."""
        self.ctx.directory.group(group_id)
        key = (group_id, role)
        if key not in self.by_scope:
            self.ctx.mark(policy=group_id)
            for r in ACCESS_IDS:
                guid = self.ctx.directory.new_id()
                pid = f"Group_{group_id}_{guid}"
                self.by_scope[(group_id, r)] = Policy(pid, group_id, r, f"{pid}_{r}", default_rules(self.ctx.settings))
            self.ctx.audit.record(
                "Onboarded resource to PIM",
                initiated_by=caller,
                targets=[self.ctx.group_target(group_id)],
                correlation_id=self.ctx.directory.new_id(),
                operation="Add",
            )
        return self.by_scope[key]

    def _by_id(self, policy_id: str) -> Policy:
        for p in self.by_scope.values():
            if p.id.lower() == policy_id.lower():
                return p
        raise not_found("unifiedRoleManagementPolicy", policy_id)

    def _scoped(self, filter_text: str | None, caller: Caller) -> list[Policy]:
        """Return the policies matching a ``scopeId eq '...' and scopeType eq 'Group'`` filter [G-POL-LIST]."""
        match = re.search(r"scopeId\s+eq\s+'([^']*)'", filter_text or "", re.IGNORECASE)
        if match is None or not re.search(r"scopeType\s+eq\s+'Group'", filter_text or "", re.IGNORECASE):
            raise bad_request(
                "The filter must scope the request to a group: $filter=scopeId eq '{groupId}' and scopeType eq 'Group'."
            )
        self.policy(match.group(1), "member", caller)
        return [p for (g, _), p in self.by_scope.items() if g.lower() == match.group(1).lower()]

    def _rule(self, policy: Policy, rule_id: str) -> dict[str, Any]:
        rule = policy.rule(rule_id)
        if rule is None:
            raise not_found("unifiedRoleManagementPolicyRule", rule_id)
        return rule

    # --- policies --------------------------------------------------------------------------------------
    @synchronized
    def list_json(self, filter_text: str | None, caller: Caller, expand_rules: bool) -> list[dict[str, Any]]:
        """Return the group-scoped policies of ``filter_text`` as JSON [G-POL-LIST]."""
        return [p.to_json(expand_rules) for p in self._scoped(filter_text, caller)]

    @synchronized
    def get_json(self, policy_id: str, expand_rules: bool) -> dict[str, Any]:
        """Return one policy as JSON, or raise 404."""
        return self._by_id(policy_id).to_json(expand_rules)

    # --- rules -----------------------------------------------------------------------------------------
    @synchronized
    def rules(self, policy_id: str) -> list[dict[str, Any]]:
        """Return the policy's rules [G-RULES]."""
        return list(self._by_id(policy_id).rules)

    @synchronized
    def rule(self, policy_id: str, rule_id: str) -> dict[str, Any]:
        """Return one rule of the policy, or raise 404."""
        return self._rule(self._by_id(policy_id), rule_id)

    @synchronized
    def patch_rule(self, policy_id: str, rule_id: str, body: Any, caller: Caller) -> None:
        """Apply a rule PATCH (checked by :func:`pim_fake.policies.validate_rule_patch`) and audit it [G-RULES]."""
        policy = self._by_id(policy_id)
        rule = self._rule(policy, rule_id)
        self.ctx.mark(policy=policy.group_id)
        updated = validate_rule_patch(rule, body)
        policy.rules[policy.rules.index(rule)] = updated
        policy.last_modified = iso(self.ctx.clock.now())
        policy.last_modified_by = caller.identity_set()
        self.ctx.audit.record(
            "Update role setting in PIM",
            initiated_by=caller,
            targets=[{"id": policy.group_id, "displayName": None, "type": "Group"}],
            correlation_id=self.ctx.directory.new_id(),
            details={"RuleId": updated["id"]},
        )

    # --- policy assignments ----------------------------------------------------------------------------
    @synchronized
    def assignments_json(
        self, filter_text: str | None, caller: Caller, expand_policy: bool, expand_rules: bool
    ) -> list[dict[str, Any]]:
        """Return the group-scoped policy assignments of ``filter_text`` as JSON [G-POLA-LIST]."""
        return [p.assignment_json(expand_policy, expand_rules) for p in self._scoped(filter_text, caller)]

    @synchronized
    def assignment_json(self, assignment_id: str, expand_policy: bool, expand_rules: bool) -> dict[str, Any]:
        """Return one policy assignment as JSON, or raise 404."""
        for p in self.by_scope.values():
            if p.assignment_id.lower() == assignment_id.lower():
                return p.assignment_json(expand_policy, expand_rules)
        raise not_found("unifiedRoleManagementPolicyAssignment", assignment_id)
