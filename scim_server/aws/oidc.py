"""The ``sso-oidc`` device-authorization flow (REST-JSON) that ``aws sso login`` and botocore's SSO token provider
use: RegisterClient → StartDeviceAuthorization → (user approves in a browser) → CreateToken [BC-oidc].

The browser step is the sandbox route ``POST /_sandbox/aws/device/approve`` (``{"user_code", "user_id" |
"user_name"}``): it signs the user in to the portal (:meth:`scim_server.aws.sessions.Sessions.sign_in`) and binds that portal session to
the device code, so CreateToken returns the portal access token and its remaining lifetime. Until approval
CreateToken answers ``AuthorizationPendingException``; after the device code expires, ``ExpiredTokenException``
[BC-oidc]. Errors are 400 (InvalidClientException 401) with ``x-amzn-ErrorType`` and ``{"error",
"error_description"}`` [BC-oidc][BC-parsers].

Numbers AWS does not document here (UNCONFIRMED, constants below): device code lifetime 600 s, polling interval
1 s, client registration lifetime 90 days. No refresh tokens are issued (botocore then simply re-logs in).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from .errors import AwsError
from .plane import AccessPlane

__all__ = ["DEVICE_CODE_LIFETIME", "DeviceAuthority", "oidc_error"]

DEVICE_CODE_LIFETIME = 600
"""Seconds a device code stays valid (UNCONFIRMED)."""
POLL_INTERVAL = 1
"""Seconds clients should wait between CreateToken polls (UNCONFIRMED)."""
CLIENT_LIFETIME = 90 * 86400
"""Seconds a registered client's secret stays valid (UNCONFIRMED)."""
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

_SNAKE = {
    "InvalidRequestException": "invalid_request",
    "InvalidClientException": "invalid_client",
    "InvalidGrantException": "invalid_grant",
    "UnsupportedGrantTypeException": "unsupported_grant_type",
    "AuthorizationPendingException": "authorization_pending",
    "ExpiredTokenException": "expired_token",
}


def oidc_error(code: str, description: str) -> AwsError:
    """Return an sso-oidc error (400, InvalidClientException 401) with the OAuth ``error`` member [BC-oidc]."""
    status = 401 if code == "InvalidClientException" else 400
    return AwsError(code, description, status, error=_SNAKE.get(code, "invalid_request"), error_description=description)


@dataclass
class _Client:
    client_id: str
    secret: str
    issued: float


@dataclass
class _Device:
    device_code: str
    user_code: str
    client_id: str
    expires: float
    portal_token: str | None = None
    redeemed: bool = False


class DeviceAuthority:
    """sso-oidc clients and device codes on the access plane's clock."""

    def __init__(self, plane: AccessPlane, base_url: str = "http://127.0.0.1") -> None:
        self.plane = plane
        self.base_url = base_url
        self.reset()

    def reset(self) -> None:
        """Forget every client and device code."""
        self.clients: dict[str, _Client] = {}
        self.devices: dict[str, _Device] = {}

    def _text(self, body: dict[str, Any], name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise oidc_error("InvalidRequestException", f"{name} is required")
        return value

    def _client(self, body: dict[str, Any]) -> _Client:
        client = self.clients.get(self._text(body, "clientId"))
        if client is None or client.secret != self._text(body, "clientSecret"):
            raise oidc_error("InvalidClientException", "Invalid client id or secret")
        if self.plane.now() >= client.issued + CLIENT_LIFETIME:
            raise oidc_error("InvalidClientException", "The client registration has expired; register again")
        return client

    def register_client(self, body: dict[str, Any]) -> dict[str, Any]:
        """``RegisterClient`` → client id and secret [BC-oidc]."""
        self._text(body, "clientName")
        if body.get("clientType") != "public":
            raise oidc_error("InvalidRequestException", f"clientType {body.get('clientType')!r} must be public")
        now = self.plane.now()
        alphabet = string.ascii_letters + string.digits
        client = _Client(self.plane.random_chars(alphabet, 22), self.plane.random_chars(alphabet, 64), now)
        self.clients[client.client_id] = client
        return {
            "clientId": client.client_id,
            "clientSecret": client.secret,
            "clientIdIssuedAt": int(now),
            "clientSecretExpiresAt": int(now + CLIENT_LIFETIME),
        }

    def start_device_authorization(self, body: dict[str, Any]) -> dict[str, Any]:
        """``StartDeviceAuthorization`` → device code, user code, verification URI [BC-oidc]."""
        client = self._client(body)
        self._text(body, "startUrl")
        letters = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = f"{self.plane.random_chars(letters, 4)}-{self.plane.random_chars(letters, 4)}"
        device = _Device(
            self.plane.random_chars(string.ascii_letters + string.digits + "-_", 43),
            user_code,
            client.client_id,
            self.plane.now() + DEVICE_CODE_LIFETIME,
        )
        self.devices[device.device_code] = device
        verify = self.base_url.rstrip("/") + "/_sandbox/aws/device/approve"
        return {
            "deviceCode": device.device_code,
            "userCode": user_code,
            "verificationUri": verify,
            "verificationUriComplete": f"{verify}?user_code={user_code}",
            "expiresIn": DEVICE_CODE_LIFETIME,
            "interval": POLL_INTERVAL,
        }

    def approve(self, user_code: Any, user_id: Any) -> dict[str, Any]:
        """The browser step: sign ``user_id`` in and bind the portal session to the device with ``user_code``."""
        device = next((d for d in self.devices.values() if d.user_code == user_code), None)
        if device is None:
            raise AwsError("ResourceNotFoundException", f"no device authorization with user_code {user_code!r}", 404)
        if self.plane.now() >= device.expires:
            raise oidc_error("ExpiredTokenException", "The device code has expired; start the login again")
        session = self.plane.sessions.sign_in(user_id)
        device.portal_token = session.token
        return {"user_code": device.user_code, "user_id": session.user_id, "approved": True}

    def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        """``CreateToken`` for the device-code grant → the portal access token [BC-oidc]."""
        client = self._client(body)
        grant = body.get("grantType")
        if grant != DEVICE_GRANT:
            raise oidc_error(
                "UnsupportedGrantTypeException", f"grantType {grant!r} is not supported; use {DEVICE_GRANT}"
            )
        device = self.devices.get(self._text(body, "deviceCode"))
        if device is None or device.client_id != client.client_id or device.redeemed:
            raise oidc_error("InvalidGrantException", "Invalid device code provided")
        if device.portal_token is None:
            if self.plane.now() >= device.expires:
                raise oidc_error("ExpiredTokenException", "The device code has expired")
            raise oidc_error("AuthorizationPendingException", "Authorization is still pending")
        session = self.plane.sessions.session(device.portal_token)
        device.redeemed = True
        return {
            "accessToken": session.token,
            "tokenType": "Bearer",
            "expiresIn": int(self.plane.entitlements.session_end(session) - self.plane.now()),
        }
