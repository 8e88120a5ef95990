"""The environment that points clients at a running sandbox: ``jitbox env`` and :meth:`jitbox.Sandbox.env`.

:func:`env_vars` turns the config dict (:meth:`jitbox.serve.RunningSandbox.config`, ``--config-out``) into
variables: the AWS SDKs' and CLI's ``AWS_ENDPOINT_URL`` (plus the per-service ``AWS_ENDPOINT_URL_*``), dummy
credentials and region, and ``JITBOX_*`` for the rest (SCIM URL and token, Graph URL and the admin's token, the
instance ARN and identity store id). :func:`render` prints them as shell ``export`` lines, a dotenv file or JSON.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

__all__ = ["FORMATS", "env_vars", "render"]

FORMATS = ("export", "dotenv", "json")


def env_vars(cfg: dict[str, Any]) -> dict[str, str]:
    """Return the environment variables for a sandbox config (AWS first, then ``JITBOX_*``)."""
    out: dict[str, str] = {}
    aws = cfg.get("aws_env") or {}
    if "aws_endpoint_url" in cfg:
        out["AWS_ENDPOINT_URL"] = str(cfg["aws_endpoint_url"])
    out.update({k: str(v) for k, v in aws.items()})
    simple = {
        "JITBOX_SCIM_URL": "scim_url",
        "JITBOX_SCIM_TOKEN": "scim_token",
        "JITBOX_GRAPH_URL": "graph_url",
        "JITBOX_MYROLES_URL": "myroles_url",
        "JITBOX_PORTAL_URL": "portal_url",
        "JITBOX_DASHBOARD_URL": "dashboard_url",
        "JITBOX_AWS_INSTANCE_ARN": "aws_instance_arn",
        "JITBOX_AWS_IDENTITY_STORE_ID": "aws_identity_store_id",
    }
    for var, key in simple.items():
        if cfg.get(key) is not None:
            out[var] = str(cfg[key])
    tokens = cfg.get("graph_tokens") or {}
    admins = [u["name"] for u in cfg.get("seeded_users", []) if u.get("admin")]
    if admins and admins[0] in tokens:
        out["JITBOX_GRAPH_TOKEN"] = str(tokens[admins[0]])
    return out


def render(values: dict[str, str], fmt: str = "export") -> str:
    """Return ``values`` as shell ``export`` lines, ``KEY=value`` dotenv lines, or a JSON object."""
    if fmt == "json":
        return json.dumps(values, indent=2)
    if fmt == "dotenv":
        return "\n".join(f"{k}={_dotenv_value(v)}" for k, v in values.items())
    if fmt == "export":
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in values.items())
    raise ValueError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")


def _dotenv_value(value: str) -> str:
    """Quote a dotenv value when it holds a space, ``#``, a quote or ``$``."""
    return json.dumps(value) if any(c in value for c in " #\"$'") else value
