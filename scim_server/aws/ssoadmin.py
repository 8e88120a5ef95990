"""The ``sso-admin`` JSON 1.1 API (``SWBExternalService.*``) over :class:`scim_server.aws.plane.AccessPlane`.

Shapes follow botocore's sso-admin model [BC-ssoadmin]. Account assignments and provisioning are asynchronous:
the status is IN_PROGRESS until the plane's ``assignment_delay`` has passed on the clock. ListAccountAssignments-
ForPrincipal returns the principal's direct assignments; whether AWS adds a user's group-derived assignments is
UNCONFIRMED, so the switch ``user_assignments_include_groups`` adds them (as GROUP rows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import validation
from .pagination import paginate
from .plane import AccessPlane

__all__ = ["SsoAdminApi"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SsoAdminApi:
    """Handlers for every ``SWBExternalService.*`` operation this fake serves, keyed by operation name."""

    def __init__(self, plane: AccessPlane) -> None:
        self.plane = plane
        self.operations: dict[str, Handler] = {
            "ListInstances": self.list_instances,
            "CreatePermissionSet": self.create_permission_set,
            "DescribePermissionSet": self.describe_permission_set,
            "UpdatePermissionSet": self.update_permission_set,
            "DeletePermissionSet": self.delete_permission_set,
            "ListPermissionSets": self.list_permission_sets,
            "CreateAccountAssignment": self.create_account_assignment,
            "DeleteAccountAssignment": self.delete_account_assignment,
            "DescribeAccountAssignmentCreationStatus": self.describe_creation_status,
            "DescribeAccountAssignmentDeletionStatus": self.describe_deletion_status,
            "ListAccountAssignments": self.list_account_assignments,
            "ListAccountAssignmentsForPrincipal": self.list_account_assignments_for_principal,
            "ProvisionPermissionSet": self.provision_permission_set,
            "DescribePermissionSetProvisioningStatus": self.describe_provisioning_status,
            "DescribeInstance": self.describe_instance,
            "AttachManagedPolicyToPermissionSet": self.attach_managed_policy,
            "DetachManagedPolicyFromPermissionSet": self.detach_managed_policy,
            "ListManagedPoliciesInPermissionSet": self.list_managed_policies,
            "PutInlinePolicyToPermissionSet": self.put_inline_policy,
            "GetInlinePolicyForPermissionSet": self.get_inline_policy,
            "DeleteInlinePolicyFromPermissionSet": self.delete_inline_policy,
        }

    def list_instances(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListInstances``: the one instance of this sandbox [BC-ssoadmin]."""
        page, token = paginate([self.plane.instance.to_json()], body, max_cap=100)
        return {"Instances": page, **token}

    def describe_instance(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DescribeInstance``; the model lists no ResourceNotFoundException for it, so an unknown ARN is a
        ``ValidationException`` naming this sandbox's instance [BC-ssoadmin]."""
        arn = body.get("InstanceArn")
        if arn != self.plane.instance.instance_arn:
            raise validation(
                f"InstanceArn {arn!r} is not an instance of this sandbox; use {self.plane.instance.instance_arn}"
            )
        return self.plane.instance.describe_json()

    def create_permission_set(self, body: dict[str, Any]) -> dict[str, Any]:
        """``CreatePermissionSet``; SessionDuration PT1H–PT12H else ValidationException [UG23-howto]."""
        self.plane.instance.check(body.get("InstanceArn"))
        ps = self.plane.permission_sets.create(
            body.get("Name"), body.get("Description"), body.get("SessionDuration"), body.get("RelayState")
        )
        return {"PermissionSet": ps.to_json()}

    def describe_permission_set(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DescribePermissionSet`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        return {"PermissionSet": self.plane.permission_sets.get_checked(body.get("PermissionSetArn")).to_json()}

    def update_permission_set(self, body: dict[str, Any]) -> dict[str, Any]:
        """``UpdatePermissionSet``; a new SessionDuration applies to later launches [UG23-howto]."""
        self.plane.instance.check(body.get("InstanceArn"))
        self.plane.permission_sets.update(
            body.get("PermissionSetArn"), body.get("Description"), body.get("SessionDuration"), body.get("RelayState")
        )
        return {}

    def delete_permission_set(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DeletePermissionSet`` (ConflictException while assigned) [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        self.plane.permission_sets.delete(body.get("PermissionSetArn"))
        return {}

    def list_permission_sets(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListPermissionSets`` → ARNs in creation order [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        page, token = paginate(list(self.plane.permission_sets), body, max_cap=100)
        return {"PermissionSets": page, **token}

    # --- policies ----------------------------------------------------------------------------------------
    def attach_managed_policy(self, body: dict[str, Any]) -> dict[str, Any]:
        """``AttachManagedPolicyToPermissionSet`` → ``{}`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        self.plane.permission_sets.attach_managed_policy(body.get("PermissionSetArn"), body.get("ManagedPolicyArn"))
        return {}

    def detach_managed_policy(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DetachManagedPolicyFromPermissionSet`` → ``{}`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        self.plane.permission_sets.detach_managed_policy(body.get("PermissionSetArn"), body.get("ManagedPolicyArn"))
        return {}

    def list_managed_policies(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListManagedPoliciesInPermissionSet`` → ``AttachedManagedPolicies[{Name, Arn}]`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        ps = self.plane.permission_sets.get_checked(body.get("PermissionSetArn"))
        page, token = paginate(ps.managed_policies_json(), body, max_cap=100)
        return {"AttachedManagedPolicies": page, **token}

    def put_inline_policy(self, body: dict[str, Any]) -> dict[str, Any]:
        """``PutInlinePolicyToPermissionSet`` → ``{}`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        self.plane.permission_sets.put_inline_policy(body.get("PermissionSetArn"), body.get("InlinePolicy"))
        return {}

    def get_inline_policy(self, body: dict[str, Any]) -> dict[str, Any]:
        """``GetInlinePolicyForPermissionSet`` → ``InlinePolicy`` (``""`` when none; UNCONFIRMED) [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        ps = self.plane.permission_sets.get_checked(body.get("PermissionSetArn"))
        return {"InlinePolicy": ps.inline_policy or ""}

    def delete_inline_policy(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DeleteInlinePolicyFromPermissionSet`` → ``{}`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        self.plane.permission_sets.delete_inline_policy(body.get("PermissionSetArn"))
        return {}

    # --- account assignments -----------------------------------------------------------------------------
    def _assignment_args(self, body: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any]:
        self.plane.instance.check(body.get("InstanceArn"))
        return (
            body.get("TargetId"),
            body.get("TargetType"),
            body.get("PermissionSetArn"),
            body.get("PrincipalType"),
            body.get("PrincipalId"),
        )

    def create_account_assignment(self, body: dict[str, Any]) -> dict[str, Any]:
        """``CreateAccountAssignment`` → IN_PROGRESS status [BC-ssoadmin]."""
        status = self.plane.assignments.create(*self._assignment_args(body))
        return {"AccountAssignmentCreationStatus": status.to_json()}

    def delete_account_assignment(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DeleteAccountAssignment`` → IN_PROGRESS status [BC-ssoadmin]."""
        status = self.plane.assignments.delete(*self._assignment_args(body))
        return {"AccountAssignmentDeletionStatus": status.to_json()}

    def describe_creation_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DescribeAccountAssignmentCreationStatus`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        status = self.plane.assignments.operation(body.get("AccountAssignmentCreationRequestId"), "create")
        return {"AccountAssignmentCreationStatus": status.to_json()}

    def describe_deletion_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DescribeAccountAssignmentDeletionStatus`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        status = self.plane.assignments.operation(body.get("AccountAssignmentDeletionRequestId"), "delete")
        return {"AccountAssignmentDeletionStatus": status.to_json()}

    def list_account_assignments(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListAccountAssignments`` of one account and permission set [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        account = body.get("AccountId")
        if not isinstance(account, str) or not account:
            raise validation("AccountId is required")
        ps = self.plane.permission_sets.get_checked(body.get("PermissionSetArn"))
        rows = [
            a.to_json()
            for a in self.plane.assignments.current()
            if a.account_id == account and a.permission_set_arn == ps.arn
        ]
        page, token = paginate(rows, body, max_cap=100)
        return {"AccountAssignments": page, **token}

    def list_account_assignments_for_principal(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListAccountAssignmentsForPrincipal`` (direct assignments, plus a user's group assignments with the
        ``user_assignments_include_groups`` switch; optional ``Filter.AccountId``)."""
        self.plane.instance.check(body.get("InstanceArn"))
        principal_id, principal_type = body.get("PrincipalId"), body.get("PrincipalType")
        if principal_type not in ("USER", "GROUP"):
            raise validation(f"PrincipalType {principal_type!r} must be USER or GROUP")
        if not isinstance(principal_id, str) or not principal_id:
            raise validation("PrincipalId is required")
        flt = body.get("Filter") or {}
        account = flt.get("AccountId") if isinstance(flt, dict) else None
        principals = {(principal_type, principal_id)}
        if principal_type == "USER" and self.plane.config.user_assignments_include_groups:
            principals |= {("GROUP", g) for g in self.plane.directory.groups_of(principal_id)}
        rows = [
            {
                "AccountId": a.account_id,
                "PermissionSetArn": a.permission_set_arn,
                "PrincipalId": a.principal_id,
                "PrincipalType": a.principal_type,
            }
            for a in self.plane.assignments.current()
            if (a.principal_type, a.principal_id) in principals and (account is None or a.account_id == account)
        ]
        page, token = paginate(rows, body, max_cap=100)
        return {"AccountAssignments": page, **token}

    def provision_permission_set(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ProvisionPermissionSet`` → IN_PROGRESS status [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        status = self.plane.assignments.provision(
            body.get("PermissionSetArn"), body.get("TargetType"), body.get("TargetId")
        )
        return {"PermissionSetProvisioningStatus": status.to_json()}

    def describe_provisioning_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DescribePermissionSetProvisioningStatus`` [BC-ssoadmin]."""
        self.plane.instance.check(body.get("InstanceArn"))
        status = self.plane.assignments.operation(body.get("ProvisionPermissionSetRequestId"), "provision")
        return {"PermissionSetProvisioningStatus": status.to_json()}
