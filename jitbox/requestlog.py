"""The dashboard's request log: what each fake recorded, merged on one time axis and filterable by user.

- SCIM: the Identity Center fake's CloudTrail-like log (``GET /_sandbox/requests``): every call Entra's provisioning
  job made, with its status; the user is the one a PATCH adds or removes, or the one a path names;
- Graph: Entra's directory audit log (PIM requests, activations, expiries) for the target user;
- AWS: the access plane's portal sign-ins and ``GetRoleCredentials`` launches (``GET /_sandbox/state``).
"""

from __future__ import annotations

from typing import Any

from jitbox.timeline import ts

__all__ = ["request_log"]

LIMIT = 60


def _ops(event: dict[str, Any]) -> list[Any]:
    """Return a SCIM PATCH's ``Operations`` (empty for other calls)."""
    body = (event.get("requestParameters") or {}).get("httpBody")
    ops = body.get("Operations") if isinstance(body, dict) else None
    return ops if isinstance(ops, list) else []


def _scim_users(event: dict[str, Any]) -> set[str]:
    """Return the Identity Center user ids a SCIM call concerns."""
    ids = set()
    for op in _ops(event):
        if not isinstance(op, dict):
            continue
        for v in op.get("value", []) if isinstance(op.get("value"), list) else []:
            if isinstance(v, dict) and isinstance(v.get("value"), str):
                ids.add(v["value"])
    path = str(event.get("path") or "")
    if "/Users/" in path:
        ids.add(path.rsplit("/", 1)[-1])
    return ids


def request_log(data: dict[str, Any], user: str = "") -> list[dict[str, Any]]:
    """Return the newest :data:`LIMIT` entries ``{t, source, what, status, user}`` (only ``user``'s when given)."""
    idc_upn = {u["id"]: u["userName"] for u in data["idc"].get("identity_store", {}).get("users", [])}
    rows: list[dict[str, Any]] = []
    for e in data["scim"]:
        upns = sorted(idc_upn.get(i, i) for i in _scim_users(e))
        ops = _ops(e)
        op = f" {ops[0].get('op')} {ops[0].get('path', '')}".rstrip() if ops and isinstance(ops[0], dict) else ""
        rows.append(
            {
                "t": ts(e["eventTime"]),
                "source": "SCIM",
                "what": f"{e.get('eventName')}{op}",
                "status": str(e.get("status", "")),
                "user": ", ".join(upns),
            }
        )
    for a in data["audits"]:
        target: dict[str, Any] = next((t for t in a.get("targetResources", []) if t.get("type") == "User"), {})
        group = next((t.get("displayName") for t in a.get("targetResources", []) if t.get("type") == "Group"), None)
        rows.append(
            {
                "t": ts(a["activityDateTime"]),
                "source": "Graph",
                "what": f"{a.get('activityDisplayName')}" + (f" — {group}" if group else ""),
                "status": str(a.get("result", "")),
                "user": str(target.get("userPrincipalName") or ""),
            }
        )
    plane = data["idc"].get("access_plane", {})
    for p in plane.get("portal_sessions", []):
        rows.append(
            {
                "t": p["signin"],
                "source": "AWS",
                "what": "Portal sign-in (portal session starts)",
                "status": "200",
                "user": idc_upn.get(p["user_id"], p["user_id"]),
            }
        )
    for r in plane.get("role_sessions", []):
        rows.append(
            {
                "t": r["launch"],
                "source": "AWS",
                "what": f"GetRoleCredentials {r['role_name']}",
                "status": "200",
                "user": idc_upn.get(r["user_id"], r["user_id"]),
            }
        )
    if user:
        rows = [r for r in rows if user.lower() in r["user"].lower().split(", ")]
    rows.sort(key=lambda r: r["t"] or 0.0, reverse=True)
    return rows[:LIMIT]
