"""OpenAPI documents cut from a FastAPI app's own, for fuzzers and clients.

Routes that read their JSON body through :mod:`fakekit.body` (not a pydantic parameter) have no ``requestBody``
in FastAPI's document; :func:`spec_for` adds one (``application/json``, an object) to each such POST/PUT/PATCH so a
client or fuzzer knows a body is read. ``GET /_sandbox/openapi/graph.json`` (Entra) and
``GET /_sandbox/openapi/sandbox.json`` (every fake) are built this way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = ["spec_for"]

_BODY_METHODS = ("post", "put", "patch")


def spec_for(document: dict[str, Any], keep: Callable[[str], bool], title: str) -> dict[str, Any]:
    """Return ``document`` (an app's OpenAPI) with only the paths ``keep`` accepts, titled ``title``, and a JSON
    object body on every body-taking operation that declares none."""
    out = copy.deepcopy(document)
    out["info"] = {**out.get("info", {}), "title": title}
    out["paths"] = {path: ops for path, ops in out.get("paths", {}).items() if keep(path)}
    for ops in out["paths"].values():
        for method, op in ops.items():
            if method in _BODY_METHODS and "requestBody" not in op:
                op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    return out
