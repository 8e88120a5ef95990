"""SCIM 2.0 routes of the fake IAM Identity Center under ``/{tenant_id}/scim/v2/`` (thin layer over the store).

Every request goes through :func:`_dispatch`: bearer-token check (401 on a missing, wrong or expired token or a
wrong tenant [DG-req][DG-spc]), rate limit and injected faults (429 ThrottlingException / 500), the handler, and an
entry in the CloudTrail-like request log. Errors use AWS's body (``scim_server/errors.py``); unexpected exceptions
also answer in that shape, so no client input yields FastAPI's default error body.

Operations ([DG-apis]): Users POST/GET/GET list/PUT/PATCH/DELETE; Groups POST/GET/GET list/PATCH/DELETE;
ServiceProviderConfig, Schemas (list and by URN), ResourceTypes. ``/Me``, ``/Bulk``, ``/.search`` and PUT on groups
are not supported by AWS [DG-limits][DG-apis] and answer 400 ValidationException (exact AWS answer UNCONFIRMED).

Status codes: CreateUser/CreateGroup 201 [FLOCI], GetUser/ListUsers 200, PutUser 200 (switch ``put_user_status``,
UNCONFIRMED), PatchUser 200 with the user [FLOCI], PatchGroup 204 empty [GH-lichti][E-SCIM], Delete 204.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from scim2_models import Context, EnterpriseUser, Group, ResourceType, ScimFilter, User

from scim_server.errors import (
    DETAIL_INTERNAL,
    DETAIL_THROTTLED,
    DETAIL_UNAUTHORIZED,
    ScimError,
    error_body,
)
from scim_server.filters import Query, parse_group_filter, parse_user_filter
from scim_server.group_rules import validate_group
from scim_server.patch_rules import patch_user, plan_group_patch
from scim_server.records import Conflict, NotFound
from scim_server.sandbox import EVENT_SOURCE, apply_latency, mask_body, mask_query
from scim_server.scim_schema import GROUP_URN, ScimUser, user_schemas
from scim_server.user_rules import validate_user

if TYPE_CHECKING:
    from scim_server.app import IdcContext

__all__ = ["ERROR_CODES", "SERVICE_PROVIDER_CONFIG", "install"]

LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_COUNT = 100
"""Page size limit and default [DG-listusers][DG-listgroups]."""

_CURSOR_RE = re.compile(r"^[-a-zA-Z0-9+=/:_]*$")
"""Cursor pattern [DG-listusers]."""

ERROR_CODES = {
    400: "ValidationException",
    401: "UnauthorizedException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    409: "ConflictException",
    415: "ValidationException",
    429: "ThrottlingException",
    500: "InternalServerException",
}
"""Documented exception names per status [DG-createuser][DG-spc] (used in the request log, not in bodies)."""

SERVICE_PROVIDER_CONFIG: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "documentationUri": "https://docs.aws.amazon.com/singlesignon/latest/userguide/manage-your-identity-source-idp.html",
    "authenticationSchemes": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "documentationUri": "https://docs.aws.amazon.com/singlesignon/latest/userguide/provision-automatically.html",
            "primary": True,
        }
    ],
    "patch": {"supported": True},
    "bulk": {"supported": False, "maxOperations": 1, "maxPayloadSize": 1048576},
    "filter": {"supported": True, "maxResults": 50},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
}
"""The documented body, verbatim [DG-spc] (its ``maxResults`` 50 predates the 100-per-page change)."""

_JSON_TYPES = ("application/json", "application/scim+json")


def _schema_docs() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for model in (User, Group, EnterpriseUser):
        schema = model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        docs[str(schema["id"])] = schema
    return docs


def _resource_types() -> list[dict[str, Any]]:
    return [
        ResourceType.from_resource(ScimUser).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE),
        ResourceType.from_resource(Group).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE),
    ]


class _Reply:
    """A handler's successful answer: status and JSON body (None = empty)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


Handler = Callable[[Request, Any, dict[str, str]], _Reply]


class ScimApi:
    """The SCIM handlers bound to one :class:`IdcContext`."""

    def __init__(self, ctx: IdcContext) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self._rid_lock = threading.Lock()
        self._schemas = _schema_docs()
        self._resource_types = _resource_types()

    # --- plumbing ---------------------------------------------------------------------------------
    def request_id(self) -> str:
        """Return a fresh request id (seeded when the app was)."""
        with self._rid_lock:
            return str(uuid.UUID(int=self.ctx.rng.getrandbits(128), version=4))

    def user_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """Return a stored user body as AWS shows it: ``schemas`` first, then id, attributes, meta."""
        return {"schemas": user_schemas(body), **body}

    def group_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """Return a stored group body as AWS shows it: always ``members: []`` [DG-listgroups]."""
        return {"schemas": [GROUP_URN], **body, "members": []}

    # --- users ------------------------------------------------------------------------------------
    def create_user(self, request: Request, data: Any, _: dict[str, str]) -> _Reply:
        attrs = validate_user(data)
        try:
            body = self.store.create_user(attrs)
        except Conflict as exc:
            raise ScimError.conflict(str(exc)) from None
        location = str(request.url).rstrip("/") + "/" + body["id"]
        return _Reply(201, self.user_body(body), {"Location": location})

    def get_user(self, request: Request, _: Any, params: dict[str, str]) -> _Reply:
        _reject_params(request, users=True)
        return _Reply(200, self.user_body(self._user(params["id"])))

    def put_user(self, request: Request, data: Any, params: dict[str, str]) -> _Reply:
        self._user(params["id"])
        attrs = validate_user(data, replacing=True)
        try:
            body = self.store.replace_user(params["id"], attrs)
        except Conflict as exc:
            raise ScimError.conflict(str(exc)) from None
        except NotFound:
            raise ScimError.not_found("User", params["id"]) from None
        return _Reply(self.ctx.options.put_user_status, self.user_body(body))

    def patch_user(self, request: Request, data: Any, params: dict[str, str]) -> _Reply:
        with self.store.lock:
            current = self._user(params["id"])
            attrs = patch_user(current, data, string_booleans=self.ctx.options.string_booleans)
            try:
                body = self.store.replace_user(params["id"], attrs)
            except Conflict as exc:
                raise ScimError.conflict(str(exc)) from None
        return _Reply(200, self.user_body(body))

    def delete_user(self, request: Request, _: Any, params: dict[str, str]) -> _Reply:
        try:
            self.store.delete_user(params["id"])
        except NotFound:
            raise ScimError.not_found("User", params["id"]) from None
        return _Reply(204)

    def list_users(self, request: Request, _: Any, __: dict[str, str]) -> _Reply:
        return self._list(request, users=True)

    def _user_ids(self, query: Query) -> list[str]:
        terms = query.terms
        store = self.store
        if "userName" in terms:
            return _one(store.user_id_by_name(terms["userName"]))
        if "externalId" in terms:
            return _one(store.user_id_by_external_id(terms["externalId"]))
        if "groups.value" in terms:
            gid = terms["groups.value"]
            return store.member_ids(gid) if store.has_group(gid) else []
        uid = terms["id"]
        if not store.has_user(uid):
            return []
        if "manager" in terms:
            body = self.user_body(store.get_user(uid))
            body.pop("meta", None)
            model = ScimUser.model_validate(body)
            manager_filter = ScimFilter[ScimUser](
                f"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "
                f"{ScimFilter.quote(terms['manager'])}"
            )
            if not manager_filter.match(model):
                return []
        return [uid]

    def _user(self, user_id: str) -> dict[str, Any]:
        try:
            return self.store.get_user(user_id)
        except NotFound:
            raise ScimError.not_found("User", user_id) from None

    # --- groups -----------------------------------------------------------------------------------
    def create_group(self, request: Request, data: Any, _: dict[str, str]) -> _Reply:
        attrs, members = validate_group(data)
        with self.store.lock:
            for uid in members:
                if not self.store.has_user(uid):
                    raise ScimError.invalid(f"member {uid!r} is not a user (unknown id or a group; no nested groups)")
            try:
                body = self.store.create_group(attrs)
            except Conflict as exc:
                raise ScimError.conflict(str(exc)) from None
            if members:
                self.store.add_members(body["id"], members)
        location = str(request.url).rstrip("/") + "/" + body["id"]
        return _Reply(201, self.group_body(body), {"Location": location})

    def get_group(self, request: Request, _: Any, params: dict[str, str]) -> _Reply:
        _reject_params(request, users=False)
        return _Reply(200, self.group_body(self._group(params["id"])))

    def patch_group(self, request: Request, data: Any, params: dict[str, str]) -> _Reply:
        gid = params["id"]
        plan = plan_group_patch(data, replace_empty_members_quirk=self.ctx.options.replace_empty_members_quirk)
        with self.store.lock:
            current = self._group(gid)
            for action, ids in plan.steps:
                if action == "add":
                    for uid in ids:
                        if not self.store.has_user(uid):
                            raise ScimError.invalid(
                                f"member {uid!r} is not a user (unknown id or a group; IdC has no nested groups)"
                            )
            if plan.attrs or plan.removed_attrs:
                attrs = {k: v for k, v in current.items() if k not in ("id", "meta")}
                attrs.update(plan.attrs)
                for name in plan.removed_attrs:
                    attrs.pop(name, None)
                try:
                    self.store.replace_group(gid, attrs)
                except Conflict as exc:
                    raise ScimError.conflict(str(exc)) from None
            for action, ids in plan.steps:
                if action == "add":
                    self.store.add_members(gid, ids)
                else:
                    self.store.remove_members(gid, ids)
        return _Reply(204)

    def delete_group(self, request: Request, _: Any, params: dict[str, str]) -> _Reply:
        try:
            self.store.delete_group(params["id"])
        except NotFound:
            raise ScimError.not_found("Group", params["id"]) from None
        return _Reply(204)

    def list_groups(self, request: Request, _: Any, __: dict[str, str]) -> _Reply:
        return self._list(request, users=False)

    def _group_ids(self, query: Query) -> list[str]:
        terms = query.terms
        store = self.store
        if "displayName" in terms:
            return _one(store.group_id_by_name(terms["displayName"]))
        if "externalId" in terms:
            return _one(store.group_id_by_external_id(terms["externalId"]))
        if "members.value" in terms:
            uid = terms["members.value"]
            if not store.has_user(uid):
                raise ScimError.not_found("User", uid)  # [DG-listgroups]: non-existent member → 404
            return store.group_ids_of(uid)
        gid = terms["id"]
        return [gid] if store.is_member(gid, terms["member"]) else []

    def _group(self, group_id: str) -> dict[str, Any]:
        try:
            return self.store.get_group(group_id)
        except NotFound:
            raise ScimError.not_found("Group", group_id) from None

    # --- paging -----------------------------------------------------------------------------------
    def _list(self, request: Request, *, users: bool) -> _Reply:
        """List users or groups: no filter pages the creation order, a filter pages the ids it selects."""
        count, cursor = _paging(request, users=users)
        kind = "u" if users else "g"
        render = self.user_body if users else self.group_body
        text = request.query_params.get("filter")
        if text is None:
            pager = self.store.page_users if users else self.store.page_groups
            total = self.store.user_count if users else self.store.group_count
            return self._page_all(pager, count, cursor, kind, "", render, total)
        query = parse_user_filter(text) if users else parse_group_filter(text)
        ids = self._user_ids(query) if users else self._group_ids(query)
        get = self.store.get_user if users else self.store.get_group
        return self._page_ids(ids, count, cursor, kind, query, lambda i: render(get(i)))

    def _page_all(
        self,
        pager: Callable[[int, int], tuple[list[dict[str, Any]], int | None]],
        count: int,
        cursor: str | None,
        kind: str,
        key: str,
        render: Callable[[dict[str, Any]], dict[str, Any]],
        total: Callable[[], int],
    ) -> _Reply:
        after = _decode_cursor(cursor, kind, key) if cursor else 0
        with self.store.lock:
            bodies, last = pager(after, count)
            n = total()
        resources = [render(b) for b in bodies]
        return _list_reply(resources, cursor, None if last is None else _encode_cursor(kind, key, last), n)

    def _page_ids(
        self,
        ids: list[str],
        count: int,
        cursor: str | None,
        kind: str,
        query: Query,
        render: Callable[[str], dict[str, Any]],
    ) -> _Reply:
        seq_of = self.store.user_seq if kind == "u" else self.store.group_seq
        after = _decode_cursor(cursor, kind, query.key()) if cursor else 0
        with self.store.lock:
            pairs = sorted((seq_of(i), i) for i in ids)
            remaining = [(s, i) for s, i in pairs if s > after]
            page = remaining[:count]
            resources = [render(i) for _, i in page]
        nxt = _encode_cursor(kind, query.key(), page[-1][0]) if len(remaining) > count else None
        return _list_reply(resources, cursor, nxt, len(ids))

    # --- discovery --------------------------------------------------------------------------------
    def service_provider_config(self, request: Request, _: Any, __: dict[str, str]) -> _Reply:
        return _Reply(200, SERVICE_PROVIDER_CONFIG)

    def list_schemas(self, request: Request, _: Any, __: dict[str, str]) -> _Reply:
        items = list(self._schemas.values())
        return _Reply(
            200,
            {
                "schemas": [LIST_URN],
                "totalResults": len(items),
                "itemsPerPage": len(items),
                "startIndex": 1,
                "Resources": items,
            },
        )

    def get_schema(self, request: Request, _: Any, params: dict[str, str]) -> _Reply:
        wanted = params["urn"].lower()
        for urn, doc in self._schemas.items():
            if urn.lower() == wanted:
                return _Reply(200, doc)
        raise ScimError.not_found("Schema", params["urn"])

    def list_resource_types(self, request: Request, _: Any, __: dict[str, str]) -> _Reply:
        items = self._resource_types
        return _Reply(
            200,
            {
                "schemas": [LIST_URN],
                "totalResults": len(items),
                "itemsPerPage": len(items),
                "startIndex": 1,
                "Resources": items,
            },
        )

    def unsupported(self, request: Request, _: Any, __: dict[str, str]) -> _Reply:
        raise ScimError.invalid(
            f"{request.method} {request.url.path} is not supported by IAM Identity Center [DG-limits]"
        )

    def not_found(self, request: Request, _: Any, __: dict[str, str]) -> _Reply:
        raise ScimError(404, "Resource not found.", f"no SCIM resource at {request.url.path}")


def _reject_params(request: Request, *, users: bool) -> None:
    params = {k.lower(): v for k, v in request.query_params.items()}
    if "startindex" in params:
        raise ScimError.invalid("startIndex is not supported; use cursor [DG-listusers]")
    if "attributes" in params:
        raise ScimError.invalid("attributes is not supported [DG-listusers]")
    excluded = params.get("excludedattributes")
    if excluded is not None and (users or excluded.strip().lower() != "members"):
        # Entra asks for groups with excludedAttributes=members [E-SCIM]; members are always empty anyway.
        raise ScimError.invalid("excludedAttributes is not supported [DG-listusers]")


def _one(found: str | None) -> list[str]:
    return [found] if found else []


def _paging(request: Request, *, users: bool) -> tuple[int, str | None]:
    _reject_params(request, users=users)
    raw = request.query_params.get("count")
    count = MAX_COUNT
    if raw is not None:
        try:
            count = int(raw)
        except ValueError:
            raise ScimError.invalid(f"count must be an integer from 1 to {MAX_COUNT}, got {raw!r}") from None
        if not 1 <= count <= MAX_COUNT:
            raise ScimError.invalid(f"count must be from 1 to {MAX_COUNT}, got {count} [DG-listusers]")
    cursor = request.query_params.get("cursor")
    if cursor is not None and not _CURSOR_RE.match(cursor):
        raise ScimError.invalid("cursor does not match [-a-zA-Z0-9+=/:_]* [DG-listusers]")
    return count, cursor


def _encode_cursor(kind: str, key: str, seq: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(f"{kind}:{digest}:{seq}".encode()).decode()


def _decode_cursor(cursor: str, kind: str, key: str) -> int:
    try:
        k, digest, seq = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        value = int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ScimError.invalid("cursor is not one this endpoint returned") from None
    if k != kind or digest != hashlib.sha256(key.encode()).hexdigest()[:12]:
        raise ScimError.invalid(
            "cursor belongs to another resource type or filter (filters cannot change between pages)"
        )
    return value


def _list_reply(resources: list[dict[str, Any]], cursor: str | None, next_cursor: str | None, total: int) -> _Reply:
    if cursor is None:
        # Without cursor: classic ListResponse; beyond one page it is truncated (UNCONFIRMED).
        return _Reply(
            200,
            {
                "schemas": [LIST_URN],
                "totalResults": total,
                "itemsPerPage": len(resources),
                "startIndex": 1,
                "Resources": resources,
            },
        )
    body: dict[str, Any] = {"schemas": [LIST_URN], "itemsPerPage": len(resources), "Resources": resources}
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    return _Reply(200, body)


_EVENTS: dict[tuple[str, str], str] = {
    ("POST", "Users"): "CreateUser",
    ("GET", "Users"): "ListUsers",
    ("GET", "Users/{id}"): "GetUser",
    ("PUT", "Users/{id}"): "PutUser",
    ("PATCH", "Users/{id}"): "PatchUser",
    ("DELETE", "Users/{id}"): "DeleteUser",
    ("POST", "Groups"): "CreateGroup",
    ("GET", "Groups"): "ListGroups",
    ("GET", "Groups/{id}"): "GetGroup",
    ("PATCH", "Groups/{id}"): "PatchGroup",
    ("DELETE", "Groups/{id}"): "DeleteGroup",
    ("GET", "ServiceProviderConfig"): "GetServiceProviderConfig",
    ("GET", "Schemas"): "ListSchemas",
    ("GET", "Schemas/{urn}"): "GetSchema",
    ("GET", "ResourceTypes"): "ListResourceTypes",
}


def _route(api: ScimApi, method: str, rest: str) -> tuple[Handler, dict[str, str], str]:
    """Map ``METHOD rest`` (path after ``/scim/v2/``) to a handler, its path params and its event name."""
    parts = [p for p in rest.split("/") if p]
    if not parts:
        return api.not_found, {}, "Unknown"
    head = parts[0]
    lower = head.lower()
    if lower in ("me", "bulk", ".search") or (len(parts) == 2 and parts[1].lower() == ".search"):
        return api.unsupported, {}, f"Unsupported{head.strip('.').capitalize()}"
    table: dict[str, dict[str, Handler]]
    if head == "Users":
        table = {
            "": {"POST": api.create_user, "GET": api.list_users},
            "id": {"GET": api.get_user, "PUT": api.put_user, "PATCH": api.patch_user, "DELETE": api.delete_user},
        }
    elif head == "Groups":
        table = {
            "": {"POST": api.create_group, "GET": api.list_groups},
            "id": {"GET": api.get_group, "PATCH": api.patch_group, "DELETE": api.delete_group},
        }
    elif head == "ServiceProviderConfig" and len(parts) == 1:
        table = {"": {"GET": api.service_provider_config}}
    elif head == "Schemas":
        table = {"": {"GET": api.list_schemas}, "id": {"GET": api.get_schema}}
    elif head == "ResourceTypes" and len(parts) == 1:
        table = {"": {"GET": api.list_resource_types}}
    else:
        return api.not_found, {}, "Unknown"
    if len(parts) > 2:
        return api.not_found, {}, "Unknown"
    slot = "" if len(parts) == 1 else "id"
    handlers = table.get(slot)
    if handlers is None:
        return api.not_found, {}, "Unknown"
    params = {} if slot == "" else ({"urn": parts[1]} if head == "Schemas" else {"id": parts[1]})
    handler = handlers.get(method)
    shape = head if slot == "" else f"{head}/{{urn}}" if head == "Schemas" else f"{head}/{{id}}"
    if handler is None:
        return api.unsupported, params, f"Unsupported{method.capitalize()}{head}"
    return handler, params, _EVENTS.get((method, shape), "Unknown")


async def _read_json(request: Request) -> Any:
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in _JSON_TYPES and not ctype.endswith("+json"):
        raise ScimError(415, "Unsupported Media Type.", f"Content-Type {ctype!r} is not JSON (application/scim+json)")
    if not raw.strip():
        raise ScimError.invalid("the request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ScimError.invalid("the request body is not valid JSON") from None


def _json(status: int, body: Any, headers: dict[str, str]) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers)
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content=data, status_code=status, headers=headers, media_type="application/json")


def install(app: FastAPI, ctx: IdcContext) -> None:
    """Mount the SCIM endpoint on ``app`` (one catch-all route under ``/{tenant_id}/scim/v2/``)."""
    api = ScimApi(ctx)
    ctx.extras["scim_api"] = api

    async def dispatch(request: Request) -> Response:
        return await _dispatch(api, request)

    app.add_api_route(
        "/{tenant_id}/scim/v2/{rest:path}",
        dispatch,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )


async def _dispatch(api: ScimApi, request: Request) -> Response:
    ctx = api.ctx
    rid = api.request_id()
    tenant = request.path_params.get("tenant_id", "")
    rest = request.path_params.get("rest", "")
    method = request.method
    handler, params, event = _route(api, method, rest)
    resource = rest.strip("/").split("/")[0] if rest else ""
    data: Any = None
    status = 500
    reason: str | None = None
    detail: str | None = None
    response: Response
    try:
        if not _authorized(ctx, request, tenant):
            raise ScimError(401, DETAIL_UNAUTHORIZED, "missing, wrong or expired bearer token, or wrong tenant id")
        if not ctx.limiter.allow():
            raise ScimError(
                429, DETAIL_THROTTLED, f"rate limit of {ctx.limiter.rps:g} requests/s exceeded (UNCONFIRMED)"
            )
        fault = ctx.faults.decide(method, resource)
        await apply_latency(fault)
        if fault is not None and fault.status is not None:
            detail = DETAIL_THROTTLED if fault.status == 429 else DETAIL_INTERNAL
            raise ScimError(fault.status, detail, "injected fault (POST /_sandbox/faults)")
        data = await _read_json(request)
        reply = handler(request, data, params)
        status = reply.status
        response = _json(reply.status, reply.body, {"x-amzn-RequestId": rid, **reply.headers})
    except ScimError as exc:
        status, reason, detail = exc.status, exc.reason, exc.detail
        response = _json(
            exc.status, error_body(exc.status, exc.detail, rid, ctx.clock.now()), {"x-amzn-RequestId": rid}
        )
    except Exception as exc:  # a bug must still answer in AWS's shape, and be visible in the log
        status, reason, detail = 500, f"{type(exc).__name__}: {exc}", DETAIL_INTERNAL
        response = _json(500, error_body(500, DETAIL_INTERNAL, rid, ctx.clock.now()), {"x-amzn-RequestId": rid})
    _log(ctx, rid, event, method, request, tenant, status, data, reason, detail)
    return response


def _authorized(ctx: IdcContext, request: Request, tenant: str) -> bool:
    if tenant != ctx.tenant_id:
        return False
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return ctx.tokens.check(token.strip())


def _log(
    ctx: IdcContext,
    rid: str,
    event: str,
    method: str,
    request: Request,
    tenant: str,
    status: int,
    data: Any,
    reason: str | None,
    detail: str | None,
) -> None:
    entry: dict[str, Any] = {
        "eventTime": ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": EVENT_SOURCE,
        "eventName": event,
        "userIdentity": {"type": "WebIdentityUser"},
        "requestID": rid,
        "httpMethod": method,
        "path": request.url.path,
        "query": mask_query(dict(request.query_params)) or None,
        "status": status,
        "requestParameters": {"httpBody": mask_body(data) if data is not None else None, "tenantId": tenant},
    }
    if status >= 400:
        entry["errorCode"] = ERROR_CODES.get(status, "ValidationException")
        entry["errorMessage"] = detail
        entry["reason"] = reason
    ctx.requests.add(entry)
