"""Per-user timelines for the dashboard, built from what the fakes report over their APIs (no HTTP here).

For each user who activated a PIM group: the activation window (Graph ``assignmentScheduleRequests``), the Entra
membership (Graph ``auditLogs/directoryAudits``: PIM's add/remove of the member [E-ACT]), the Identity Center
membership (the Identity Center fake's recorded membership history, fed by SCIM), the portal sessions and role
sessions (the access plane's state), the time past the intended end, and the closed-form bound for the user's
settings (:func:`sim.bounds.worst_case`, the same function ``jitbox bound`` prints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sim.bounds import worst_case
from sim.durations import DurationError, parse_duration
from sim.settings import Settings, SettingsError

__all__ = ["Lane", "Span", "UserTimeline", "build_timelines", "ts"]

ADD = "Add member to role completed (PIM activation)"
REMOVES = ("Remove member from role (PIM activation expired)", "Remove member from role completed (PIM deactivate)")


def ts(value: Any) -> float | None:
    """Return Unix seconds from an ISO 8601 string (``Z`` allowed) or a number; None when absent."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Span:
    """One interval of a lane; ``end`` None while still open; ``access`` False when it gives no access to AWS (a
    portal session that lists nothing)."""

    start: float
    end: float | None
    label: str = ""
    access: bool = True


@dataclass
class Lane:
    """One row of a timeline."""

    name: str
    intervals: list[Span] = field(default_factory=list)


@dataclass
class UserTimeline:
    """One user's timeline and the numbers the dashboard shows beside it."""

    upn: str
    display_name: str
    group: str
    activation_start: float
    intended_end: float
    lanes: list[Lane]
    access_until: float
    """The last instant the user could act in AWS so far (role sessions, Identity Center membership)."""
    can_launch_until: float | None
    """While a live portal session may still launch: its end (+ the role session it could start)."""
    bound_end: float | None
    bound_text: str
    role_session: float
    """The longest permission-set session a launch would get (seconds)."""

    @property
    def possible_until(self) -> float:
        """The last instant the user may still act: observed access, or a launch from a live portal session at its
        last instant plus the role session it starts."""
        launch = self.can_launch_until + self.role_session if self.can_launch_until is not None else -math.inf
        return max(self.access_until, launch)

    @property
    def overhang(self) -> float:
        """Seconds of possible access past the intended end (0 when none)."""
        return max(0.0, self.possible_until - self.intended_end)


def _activations(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return provisioned selfActivate requests with ``start``/``end`` (end cut short by a selfDeactivate)."""
    out = []
    for r in requests:
        if r.get("action") != "selfActivate" or r.get("status") != "Provisioned":
            continue
        info = r.get("scheduleInfo") or {}
        start = ts(info.get("startDateTime")) or 0.0
        exp = info.get("expiration") or {}
        try:
            end = start + parse_duration(exp["duration"]) if exp.get("duration") else ts(exp.get("endDateTime"))
        except DurationError:
            end = None
        out.append({**r, "start": start, "end": end if end is not None else math.inf})
    for r in requests:
        if r.get("action") == "selfDeactivate" and r.get("status") in ("Revoked", "Provisioned"):
            at = ts(r.get("createdDateTime")) or 0.0
            for a in out:
                same = (a["principalId"], a["groupId"]) == (r.get("principalId"), r.get("groupId"))
                if same and a["start"] <= at < a["end"]:
                    a["end"] = at
    return out


def _entra_intervals(audits: list[dict[str, Any]], user_id: str, group_id: str) -> list[tuple[float, float | None]]:
    spans: list[tuple[float, float | None]] = []
    for event in sorted(audits, key=lambda e: str(e.get("activityDateTime"))):
        targets = {t.get("type"): t.get("id") for t in event.get("targetResources", [])}
        if targets.get("User") != user_id or targets.get("Group") != group_id:
            continue
        at = ts(event.get("activityDateTime")) or 0.0
        name = event.get("activityDisplayName")
        if name == ADD and (not spans or spans[-1][1] is not None):
            spans.append((at, None))
        elif name in REMOVES and spans and spans[-1][1] is None:
            spans[-1] = (spans[-1][0], at)
    return spans


def _role_session(base: Settings, plane: dict[str, Any]) -> float:
    sessions = [parse_duration(p["SessionDuration"]) for p in plane.get("permission_sets", [])]
    return max(sessions, default=base.permission_set_session)


def _bound(base: Settings, activation: float, plane: dict[str, Any]) -> tuple[float | None, str]:
    s = plane.get("settings", {})
    try:
        settings = base.replace(
            activation_max=activation,
            portal_session=float(s.get("portal_session", base.portal_session)),
            entitlement_mode=s.get("entitlement_mode", base.entitlement_mode),
            permission_set_session=_role_session(base, plane),
        )
    except (SettingsError, ValueError) as exc:
        return None, f"no closed-form bound for these settings: {exc}"
    bound = worst_case(settings)
    return bound.effective_end, bound.explain(settings)


def _portal_span(session: dict[str, Any]) -> Span:
    """Return a portal session's span, labelled with what it lists now (``GET /_sandbox/aws/access/{id}``)."""
    if not session["live"]:
        return Span(session["signin"], session["end"], "ended")
    listed = sorted({r["roleName"] for r in session["launchable"]})
    if not listed:
        return Span(session["signin"], session["end"], "lists nothing", access=False)
    return Span(session["signin"], session["end"], "lists " + ", ".join(listed))


def build_timelines(
    *,
    users: list[dict[str, Any]],
    groups: dict[str, str],
    requests: list[dict[str, Any]],
    audits: list[dict[str, Any]],
    idc: dict[str, Any],
    access: dict[str, dict[str, Any]],
    base: Settings,
    now: float,
) -> list[UserTimeline]:
    """Return one timeline per activation (latest first per user).

    ``users``: Graph users; ``groups``: Entra group id → displayName; ``requests``: Graph assignment schedule
    requests; ``audits``: Graph directory audits; ``idc``: the Identity Center fake's ``/_sandbox/state``;
    ``access``: Identity Center user id → ``/_sandbox/aws/access/{id}``; ``base``: the sandbox's settings.
    """
    idc_users = {u["userName"].lower(): u["id"] for u in idc.get("identity_store", {}).get("users", [])}
    idc_groups = {g["displayName"]: g["id"] for g in idc.get("identity_store", {}).get("groups", [])}
    plane = idc.get("access_plane", {})
    history = idc.get("membership_history", {}).get("memberships", [])
    by_id = {u["id"]: u for u in users}
    out: list[UserTimeline] = []
    for act in sorted(_activations(requests), key=lambda a: -a["start"]):
        user = by_id.get(act["principalId"])
        if user is None:
            continue
        upn, group = str(user["userPrincipalName"]), groups.get(act["groupId"], act["groupId"])
        idc_user, idc_group = idc_users.get(upn.lower()), idc_groups.get(group)
        window = Lane("Activation window", [Span(act["start"], act["end"])])
        entra = Lane(
            "Entra membership", [Span(a, b, group) for a, b in _entra_intervals(audits, user["id"], act["groupId"])]
        )
        idc_lane = Lane(
            "Identity Center membership",
            [
                Span(m["start"], m["end"], group)
                for m in history
                if m["user_id"] == idc_user
                and m["group_id"] == idc_group
                and (m["end"] is None or m["end"] > act["start"])
            ],
        )
        mine = access.get(idc_user or "", {})
        portal = Lane(
            "Portal session",
            [_portal_span(p) for p in mine.get("portal_sessions", []) if p["end"] > act["start"]],
        )
        role = Lane(
            "Role session",
            [
                Span(r["launch"], r["effective_end"], r["role_name"])
                for r in mine.get("role_sessions", [])
                if r["launch"] >= act["start"]
            ],
        )
        ends = [min(sp.end if sp.end is not None else now, now) for sp in idc_lane.intervals + role.intervals]
        live = [s for s in mine.get("portal_sessions", []) if s["live"] and s["launchable"]]
        can_launch = max((s["end"] for s in live), default=None)
        bound_end, text = _bound(base, act["end"] - act["start"], plane)
        out.append(
            UserTimeline(
                upn=upn,
                display_name=str(user.get("displayName") or upn),
                group=group,
                activation_start=act["start"],
                intended_end=act["end"],
                lanes=[window, entra, idc_lane, portal, role],
                access_until=max(ends, default=act["end"]),
                can_launch_until=can_launch,
                bound_end=act["start"] + bound_end if bound_end is not None else None,
                bound_text=text,
                role_session=_role_session(base, plane),
            )
        )
    return out
