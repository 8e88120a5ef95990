"""PIM for Groups role management policies: the 17 rules per group and role, their defaults and PATCH checks.

Ids and shapes follow [G-POL-LIST][G-POLA-LIST][G-RULES]: policy ``Group_{groupId}_{guid}``, assignment
``Group_{groupId}_{policyGuid}_{member|owner}``, rule ids such as ``Expiration_EndUser_Assignment``. Group
defaults are the [G-POLA-LIST] sample; the end-user activation rules start from :class:`sim.settings.Settings`
(``activation_max`` default PT8H, ``require_justification``/``require_ticket``/``require_mfa``,
``approval_required``) so the fake and the simulator share one configuration.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pim_fake.errors import bad_request
from sim.durations import DurationError, format_duration, parse_duration, to_iso8601
from sim.settings import RANGES, Settings

__all__ = ["ENABLEMENT_VALUES", "RULE_IDS", "Policy", "default_rules", "iso_duration", "validate_rule_patch"]

NS = "#microsoft.graph."
EXPIRATION = NS + "unifiedRoleManagementPolicyExpirationRule"
ENABLEMENT = NS + "unifiedRoleManagementPolicyEnablementRule"
APPROVAL = NS + "unifiedRoleManagementPolicyApprovalRule"
AUTH_CONTEXT = NS + "unifiedRoleManagementPolicyAuthenticationContextRule"
NOTIFICATION = NS + "unifiedRoleManagementPolicyNotificationRule"

ENABLEMENT_VALUES = ("MultiFactorAuthentication", "Justification", "Ticketing")
"""Allowed ``enabledRules`` values [G-ENABLE][G-RULES]."""

ELIGIBILITY_MAX = 365 * 86400.0
"""Group default ``Expiration_Admin_Eligibility.maximumDuration`` P365D [G-POLA-LIST][AWS-BLOG]."""

ASSIGNMENT_MAX = 180 * 86400.0
"""Group default ``Expiration_Admin_Assignment.maximumDuration`` P180D [G-POLA-LIST]."""

RULE_IDS: tuple[str, ...] = (
    "Expiration_Admin_Eligibility",
    "Enablement_Admin_Eligibility",
    "Notification_Admin_Admin_Eligibility",
    "Notification_Requestor_Admin_Eligibility",
    "Notification_Approver_Admin_Eligibility",
    "Expiration_Admin_Assignment",
    "Enablement_Admin_Assignment",
    "Notification_Admin_Admin_Assignment",
    "Notification_Requestor_Admin_Assignment",
    "Notification_Approver_Admin_Assignment",
    "Expiration_EndUser_Assignment",
    "Enablement_EndUser_Assignment",
    "Approval_EndUser_Assignment",
    "AuthenticationContext_EndUser_Assignment",
    "Notification_Admin_EndUser_Assignment",
    "Notification_Requestor_EndUser_Assignment",
    "Notification_Approver_EndUser_Assignment",
)
"""The 17 rule ids of a group policy [G-POL-LIST][G-RULES-OV]."""


def iso_duration(seconds: float) -> str:
    """Return ``seconds`` as Graph writes durations: ``P365D`` for whole days, else ``PT8H``-style [G-POLA-LIST]."""
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"P{int(seconds // 86400)}D"
    return to_iso8601(seconds)


def _target(caller: str, level: str) -> dict[str, Any]:
    return {
        "caller": caller,
        "operations": ["All"],
        "level": level,
        "inheritableSettings": [],
        "enforcedSettings": [],
    }


def default_rules(settings: Settings) -> list[dict[str, Any]]:
    """Return the 17 rules with the group defaults [G-POLA-LIST], activation rules taken from ``settings``."""
    end_user_enablement = [
        name
        for name, on in (
            ("MultiFactorAuthentication", settings.require_mfa),
            ("Justification", settings.require_justification),
            ("Ticketing", settings.require_ticket),
        )
        if on
    ]
    rules: list[dict[str, Any]] = []
    for rule_id in RULE_IDS:
        kind, *rest = rule_id.split("_")
        level = rest[-1]
        caller = rest[-2]
        if kind == "Expiration":
            maximum = {
                "Eligibility": ELIGIBILITY_MAX,
                "Assignment": settings.activation_max if caller == "EndUser" else ASSIGNMENT_MAX,
            }[level]
            rule: dict[str, Any] = {
                "@odata.type": EXPIRATION,
                "id": rule_id,
                "isExpirationRequired": True,
                "maximumDuration": iso_duration(maximum),
            }
        elif kind == "Enablement":
            enabled = {
                "Admin_Eligibility": [],
                "Admin_Assignment": ["Justification"],
                "EndUser_Assignment": end_user_enablement,
            }[f"{caller}_{level}"]
            rule = {"@odata.type": ENABLEMENT, "id": rule_id, "enabledRules": enabled}
        elif kind == "Approval":
            rule = {
                "@odata.type": APPROVAL,
                "id": rule_id,
                "setting": {
                    "isApprovalRequired": settings.approval_required,
                    "isApprovalRequiredForExtension": False,
                    "isRequestorJustificationRequired": True,
                    "approvalMode": "SingleStage",
                    "approvalStages": [
                        {
                            "approvalStageTimeOutInDays": 1,
                            "isApproverJustificationRequired": True,
                            "escalationTimeInMinutes": 0,
                            "isEscalationEnabled": False,
                            "primaryApprovers": [],
                            "escalationApprovers": [],
                        }
                    ],
                },
            }
        elif kind == "AuthenticationContext":
            rule = {"@odata.type": AUTH_CONTEXT, "id": rule_id, "isEnabled": False, "claimValue": None}
        else:
            recipient = rest[0]
            rule = {
                "@odata.type": NOTIFICATION,
                "id": rule_id,
                "notificationType": "Email",
                "recipientType": recipient,
                "notificationLevel": "All",
                "isDefaultRecipientsEnabled": True,
                "notificationRecipients": [],
            }
        rule["target"] = _target(caller, level)
        rules.append(rule)
    return rules


@dataclass
class Policy:
    """One group's policy for one role (``member`` or ``owner``)."""

    id: str
    group_id: str
    role: str
    assignment_id: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    last_modified: str | None = None
    last_modified_by: dict[str, Any] | None = None

    def rule(self, rule_id: str) -> dict[str, Any] | None:
        """Return the rule with ``rule_id`` (case-insensitive), or None."""
        return next((r for r in self.rules if r["id"].lower() == rule_id.lower()), None)

    def to_json(self, expand_rules: bool = False) -> dict[str, Any]:
        """Return the ``unifiedRoleManagementPolicy`` resource [G-POL-LIST]."""
        body: dict[str, Any] = {
            "id": self.id,
            "displayName": "Group",
            "description": "Group",
            "isOrganizationDefault": False,
            "scopeId": self.group_id,
            "scopeType": "Group",
            "lastModifiedDateTime": self.last_modified,
            "lastModifiedBy": self.last_modified_by,
        }
        if expand_rules:
            body["rules"] = copy.deepcopy(self.rules)
        return body

    def assignment_json(self, expand_policy: bool = False, expand_rules: bool = False) -> dict[str, Any]:
        """Return the ``unifiedRoleManagementPolicyAssignment`` resource [G-POLA-LIST]."""
        body: dict[str, Any] = {
            "id": self.assignment_id,
            "policyId": self.id,
            "scopeId": self.group_id,
            "scopeType": "Group",
            "roleDefinitionId": self.role,
        }
        if expand_policy:
            body["policy"] = self.to_json(expand_rules)
        return body

    # --- enforcement helpers -------------------------------------------------------------------------
    def expiration(self, caller: str, level: str) -> tuple[bool, float | None]:
        """Return ``(isExpirationRequired, maximumDuration seconds or None)`` of ``Expiration_{caller}_{level}``."""
        rule = self.rule(f"Expiration_{caller}_{level}") or {}
        maximum = rule.get("maximumDuration")
        return bool(rule.get("isExpirationRequired", False)), parse_duration(maximum) if maximum else None

    def enabled(self, caller: str, level: str) -> list[str]:
        """Return ``enabledRules`` of ``Enablement_{caller}_{level}``."""
        rule = self.rule(f"Enablement_{caller}_{level}") or {}
        return list(rule.get("enabledRules", []))

    def approval(self) -> dict[str, Any]:
        """Return the approval ``setting`` of ``Approval_EndUser_Assignment``."""
        rule = self.rule("Approval_EndUser_Assignment") or {}
        return dict(rule.get("setting", {}))

    def auth_context(self) -> tuple[bool, str | None]:
        """Return ``(isEnabled, claimValue)`` of ``AuthenticationContext_EndUser_Assignment``."""
        rule = self.rule("AuthenticationContext_EndUser_Assignment") or {}
        return bool(rule.get("isEnabled", False)), rule.get("claimValue")


def validate_rule_patch(current: dict[str, Any], body: Any) -> dict[str, Any]:
    """Return the rule after applying the PATCH ``body`` [G-RULES], or raise a 400 naming the bad field.

    ``@odata.type`` must be given and match the rule's type [G-RULES]. Checks: ``maximumDuration`` is ISO 8601
    days/hours/minutes/seconds [G-EXP]; the end-user activation maximum stays in 30 min – 24 h
    [AWS-BLOG][E-SET]; ``enabledRules`` ⊆ {MultiFactorAuthentication, Justification, Ticketing} [G-ENABLE];
    approval needs at least one primary approver and a 1-day stage timeout (24 h, not configurable) [E-SET][E-APPRV].
    """
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    otype = body.get("@odata.type")
    if not isinstance(otype, str):
        raise bad_request("Property '@odata.type' is required to update a rule (e.g. " + current["@odata.type"] + ").")
    if otype.lower().lstrip("#") != current["@odata.type"].lower().lstrip("#"):
        raise bad_request(f"@odata.type {otype!r} does not match rule {current['id']!r} ({current['@odata.type']}).")
    rid = body.get("id")
    if rid is not None and str(rid).lower() != current["id"].lower():
        raise bad_request(f"Property 'id' {rid!r} does not match the rule in the URL ({current['id']}).")
    allowed = set(current) | {"id", "@odata.type"}
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise bad_request(f"Property '{unknown[0]}' does not exist on type '{current['@odata.type'].lstrip('#')}'.")
    updated = copy.deepcopy(current)
    for key, value in body.items():
        if key in ("@odata.type", "id"):
            continue
        updated[key] = copy.deepcopy(value)
    t = current["@odata.type"]
    if t == EXPIRATION:
        _check_expiration(updated)
    elif t == ENABLEMENT:
        enabled = updated.get("enabledRules")
        if not isinstance(enabled, list) or any(v not in ENABLEMENT_VALUES for v in enabled):
            raise bad_request(
                f"enabledRules must be a list drawn from {', '.join(ENABLEMENT_VALUES)}; got {enabled!r}."
            )
    elif t == APPROVAL:
        _check_approval(updated)
    elif t == AUTH_CONTEXT:
        if not isinstance(updated.get("isEnabled"), bool):
            raise bad_request("isEnabled must be true or false.")
        if updated["isEnabled"] and not updated.get("claimValue"):
            raise bad_request("claimValue is required when the authentication context rule is enabled.")
    elif t == NOTIFICATION and updated.get("notificationLevel") not in ("All", "Critical", "None"):
        raise bad_request("notificationLevel must be All, Critical or None.")
    return updated


def _check_expiration(rule: dict[str, Any]) -> None:
    required = rule.get("isExpirationRequired")
    if not isinstance(required, bool):
        raise bad_request("isExpirationRequired must be true or false.")
    maximum = rule.get("maximumDuration")
    if maximum is None:
        if required:
            raise bad_request("maximumDuration is required when isExpirationRequired is true.")
        return
    if not isinstance(maximum, str) or not maximum.upper().startswith("P"):
        raise bad_request(f"maximumDuration {maximum!r} must be an ISO 8601 duration such as PT8H or P365D.")
    try:
        seconds = parse_duration(maximum)
    except DurationError as exc:
        raise bad_request(f"maximumDuration: {exc}") from None
    if rule["id"] == "Expiration_EndUser_Assignment":
        low, high, source = RANGES["activation_max"]
        if not low <= seconds <= high:
            raise bad_request(
                f"maximumDuration {maximum} is outside the activation range "
                f"{format_duration(low)} – {format_duration(high)} ({source})."
            )
    elif seconds <= 0:
        raise bad_request("maximumDuration must be positive.")


def _check_approval(rule: dict[str, Any]) -> None:
    setting = rule.get("setting")
    if not isinstance(setting, dict):
        raise bad_request("setting must be an approvalSettings object.")
    required = setting.get("isApprovalRequired")
    if not isinstance(required, bool):
        raise bad_request("setting.isApprovalRequired must be true or false.")
    stages = setting.get("approvalStages") or []
    if not isinstance(stages, list) or len(stages) > 1:
        raise bad_request("setting.approvalStages must hold one stage (approvalMode SingleStage).")
    for stage in stages:
        if not isinstance(stage, dict):
            raise bad_request("setting.approvalStages[0] must be an object.")
        if stage.get("approvalStageTimeOutInDays", 1) != 1:
            raise bad_request("approvalStageTimeOutInDays must be 1: the 24-hour approval window isn't configurable.")
        approvers = stage.get("primaryApprovers") or []
        if not isinstance(approvers, list):
            raise bad_request("primaryApprovers must be a list of singleUser / groupMembers subjects.")
        for a in approvers:
            if not isinstance(a, dict) or not (a.get("userId") or a.get("groupId")):
                raise bad_request(
                    "each primary approver needs @odata.type #microsoft.graph.singleUser with userId or "
                    "#microsoft.graph.groupMembers with groupId."
                )
    if required and not any((s.get("primaryApprovers") or []) for s in stages):
        raise bad_request("At least one approver is required when isApprovalRequired is true.")
