"""The Identity Center app served by uvicorn with boto3 clients, shared by the boto3 API tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import httpx2 as httpx
import pytest
from botocore.exceptions import ClientError

from scim_server.app import create_app
from scim_server.aws.plane import AccessPlane
from scim_server.aws.testing import boto3_kwargs, serve
from scim_server.store import Store
from sim.clock import ManualClock

__all__ = ["ACCOUNT", "Sandbox", "error_of", "served_sandbox"]

ACCOUNT = "123456789012"


class Sandbox:
    """The served app plus boto3 clients and helpers."""

    def __init__(self, url: str, clock: ManualClock, store: Store) -> None:
        self.url = url
        self.clock = clock
        self.store = store
        self.ids = boto3.client("identitystore", **boto3_kwargs(url))
        self.admin = boto3.client("sso-admin", **boto3_kwargs(url))
        self.sso = boto3.client("sso", **boto3_kwargs(url))
        self.http = httpx.Client(base_url=url)
        self.plane: AccessPlane

    def load_instance(self) -> None:
        instance = self.admin.list_instances()["Instances"][0]
        self.sid: str = instance["IdentityStoreId"]
        self.arn: str = instance["InstanceArn"]

    def advance(self, seconds: float) -> None:
        assert self.http.post("/_sandbox/clock/advance", json={"seconds": seconds}).status_code == 200

    def user(self, name: str, **extra: Any) -> str:
        body = {
            "userName": name,
            "displayName": name.title(),
            "name": {"givenName": name.title(), "familyName": "Tester"},
            "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
            **extra,
        }
        user_id: str = self.store.create_user(body)["id"]
        return user_id

    def group(self, name: str, **extra: Any) -> str:
        group_id: str = self.store.create_group({"displayName": name, **extra})["id"]
        return group_id

    def signin(self, user_id: str) -> str:
        response = self.http.post("/_sandbox/aws/signin", json={"user_id": user_id})
        assert response.status_code == 200, response.text
        token: str = response.json()["accessToken"]
        return token


@contextmanager
def served_sandbox() -> Iterator[Sandbox]:
    """Serve a fresh Identity Center app (seed 7, manual clock) and yield the :class:`Sandbox` around it."""
    clock = ManualClock()
    app = create_app(clock, seed=7)
    with serve(app) as url:
        sandbox = Sandbox(url, clock, app.state.idc.store)
        sandbox.plane = app.state.aws.plane
        sandbox.load_instance()
        yield sandbox


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]
