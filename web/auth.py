"""Access to the dashboard and the API: one token, never repeated back.

Programs send it as ``Authorization: Bearer TOKEN``. People type it once into the login form
and get a session cookie (HttpOnly, SameSite=Strict) that carries an expiry and an HMAC
keyed by the token, not the token itself: the cookie is useless once the token changes, and
the token is never in a page, a URL (so never in an access log) or a cookie. Query-string
tokens are not accepted at all, precisely because access logs record URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

COOKIE = "nianbao_session"
#: A session lasts a working day; then the token is asked for again.
SESSION_SECONDS = 12 * 3600
#: Shorter tokens are refused: the token is the only thing between the network and the dashboard.
MIN_TOKEN_LENGTH = 16

_bearer = HTTPBearer(auto_error=False, description="The dashboard token (NIANBAO_TOKEN).")


class TokenAuth:
    def __init__(self, token: str) -> None:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the dashboard token must have at least {MIN_TOKEN_LENGTH} characters")
        self._token = token.encode()
        self._key = hmac.new(self._token, b"nianbao dashboard session", hashlib.sha256).digest()

    def valid_token(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._token)

    def _mac(self, expires: int) -> str:
        return hmac.new(self._key, str(expires).encode(), hashlib.sha256).hexdigest()

    def session(self) -> tuple[str, int]:
        """A new session cookie's value and lifetime."""
        expires = int(time.time()) + SESSION_SECONDS
        return f"{expires}.{self._mac(expires)}", SESSION_SECONDS

    def valid_session(self, value: str | None) -> bool:
        expires, _, mac = (value or "").partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(mac.encode(), self._mac(int(expires)).encode())

    def allows(self, request: Request, bearer: HTTPAuthorizationCredentials | None) -> bool:
        if bearer is not None:
            return self.valid_token(bearer.credentials)
        return self.valid_session(request.cookies.get(COOKIE))


class LoginRequired(Exception):  # noqa: N818 - a signal to redirect, not an error
    """A person without a session asked for a page: send them to the login form."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _auth(request: Request) -> TokenAuth:
    return request.app.state.auth


def require_token(request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """API routes: a bearer token, or the session cookie (the dashboard's own live updates)."""
    if not _auth(request).allows(request, bearer):
        raise HTTPException(401, "a token is required: Authorization: Bearer TOKEN",
                            headers={"WWW-Authenticate": "Bearer"})


def require_session(request: Request) -> None:
    """Pages: the session cookie, else the login form (then back here)."""
    if not _auth(request).valid_session(request.cookies.get(COOKIE)):
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))


def login_url(next_path: str) -> str:
    return f"/login?next={quote(safe_next(next_path), safe='')}"


def safe_next(next_path: str | None) -> str:
    """Only a path on this server: a login must never bounce a person to another site."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/"
    return next_path
