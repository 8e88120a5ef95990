"""``jitbox env``: print the environment that points boto3, the AWS CLI and scripts at a running sandbox.

``eval "$(jitbox env)"`` after ``jitbox serve`` (LocalStack-style). The values come from the running sandbox's
``GET /_sandbox/config`` (default ``http://127.0.0.1:6470``, ``jitbox serve``'s fixed port) or from a
``--config-out`` file; ``--format export`` (default), ``dotenv`` or ``json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

__all__ = ["env", "register"]

DEFAULT_URL = "http://127.0.0.1:6470"


def env(
    url: Annotated[
        str, typer.Option("--url", help="the running sandbox (either port); default jitbox serve's AWS port")
    ] = DEFAULT_URL,
    config: Annotated[
        Path | None, typer.Option("--config", help="read a `jitbox serve --config-out` file instead of --url")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="export | dotenv | json")] = "export",
) -> None:
    """Print AWS_ENDPOINT_URL, dummy credentials and JITBOX_* (SCIM, Graph) for a running sandbox."""
    from jitbox.env import FORMATS, env_vars, render

    if fmt not in FORMATS:
        _fail(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    cfg = _from_file(config) if config is not None else _from_url(url)
    typer.echo(render(env_vars(cfg), fmt))


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"--config {path}: {exc.strerror}")
    except ValueError:
        _fail(f"--config {path}: not a JSON config file (write one with `jitbox serve --config-out FILE`)")
    if not isinstance(data, dict):
        _fail(f"--config {path}: the top level must be a JSON object")
    return data


def _from_url(url: str) -> dict[str, Any]:
    import httpx2

    target = url.rstrip("/") + "/_sandbox/config"
    try:
        response = httpx2.get(target, timeout=10.0)
    except httpx2.HTTPError as exc:
        _fail(f"--url {url}: no sandbox answers there ({type(exc).__name__}); start one with `jitbox serve`")
    if response.status_code != 200:
        _fail(f"--url {url}: GET /_sandbox/config answered {response.status_code}; is this a jitbox serve port?")
    data = response.json()
    if not isinstance(data, dict):
        _fail(f"--url {url}: GET /_sandbox/config did not return a JSON object")
    return data


def _fail(message: str) -> NoReturn:
    typer.echo(f"jitbox env: {message}", err=True)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``env`` to the ``jitbox`` command line."""
    app.command("env")(env)
