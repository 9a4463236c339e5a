"""Access to the dashboard and the API: one token, never repeated back.

Programs send it as ``Authorization: Bearer TOKEN``. People type it once into the login form
and get a session cookie (HttpOnly, SameSite=Strict) that carries an expiry and an HMAC
keyed by the token, not the token itself: the cookie is useless once the token changes, and
the token is never in a page, a URL (so never in an access log) or a cookie. Query-string
tokens are not accepted at all, precisely because access logs record URLs.

Guessing is slowed down per client address (:class:`Throttle`): a few wrong tokens in a row
are forgiven (typos), then each more one locks that address out for twice as long as the last.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

COOKIE = "nianbao_session"
#: A session lasts a working day; then the token is asked for again.
SESSION_SECONDS = 12 * 3600
#: Shorter tokens are refused: the token is the only thing between the network and the dashboard.
MIN_TOKEN_LENGTH = 16
#: Wrong tokens in a row from one address that cost nothing (typos, a stale script).
FREE_FAILURES = 5
#: The lockout after the first failure beyond those, in seconds; it doubles with each further one …
LOCKOUT_DELAY = 1.0
#: … up to this: one guess per quarter hour is no way to find a token of 16 characters or more.
LOCKOUT_MAX = 900.0
#: An address that has failed nothing for this long after its lockout starts again from zero.
LOCKOUT_QUIET = 3600.0
#: Addresses remembered at most (the least recently failing forgotten first): a flood of addresses costs bounded memory.
LOCKOUT_CLIENTS = 10_000

_bearer = HTTPBearer(auto_error=False, description="The dashboard token (NIANBAO_TOKEN).")


class LockedOut(Exception):  # noqa: N818 - an answer (429), not a fault
    """Too many wrong tokens from this address: nothing it presents is looked at for ``seconds`` more."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Too many wrong tokens from this address: try again in {math.ceil(seconds)} s.")
        self.seconds = seconds

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(math.ceil(self.seconds))}


class Throttle:
    """Wrong tokens per client address: after ``free`` in a row, the ``n``-th more one locks the address out for
    ``delay · 2^(n-1)`` seconds (at most ``cap``). A right token, or ``quiet`` seconds after the lockout without
    another failure, forgets the address. While locked out even the right token is refused: otherwise a lockout
    would only tell a guesser which guesses were wrong, and let the right one through."""

    def __init__(self, delay: float = LOCKOUT_DELAY, free: int = FREE_FAILURES, cap: float = LOCKOUT_MAX,
                 quiet: float = LOCKOUT_QUIET, clients: int = LOCKOUT_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.delay, self.free, self.cap, self.quiet, self.clients, self._clock = delay, free, cap, quiet, clients, clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # address → (failures, locked until)
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def check(self, client: str) -> None:
        """Raises LockedOut while ``client`` must wait."""
        with self._lock:
            failures, until = self._failures.get(client, (0, 0.0))
            now = self._clock()
            if failures and now > until + self.quiet:
                del self._failures[client]
            elif now < until:
                raise LockedOut(until - now)

    def failed(self, client: str) -> None:
        with self._lock:
            failures = self._failures.pop(client, (0, 0.0))[0] + 1
            beyond = failures - self.free
            wait = min(self.cap, self.delay * 2 ** min(beyond - 1, 64)) if beyond > 0 else 0.0
            self._failures[client] = (failures, self._clock() + wait)  # last: the most recently failing
            while len(self._failures) > self.clients:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


class TokenAuth:
    def __init__(self, token: str, throttle: Throttle | None = None) -> None:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the dashboard token must have at least {MIN_TOKEN_LENGTH} characters")
        self._token = token.encode()
        self._key = hmac.new(self._token, b"nianbao dashboard session", hashlib.sha256).digest()
        self.throttle = throttle or Throttle()

    def valid_token(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._token)

    def attempt(self, request: Request, presented: str) -> bool:
        """Whether ``presented`` is the token, counted against the client's address; raises LockedOut."""
        client = request.client.host if request.client else ""
        self.throttle.check(client)
        if self.valid_token(presented):
            self.throttle.succeeded(client)
            return True
        self.throttle.failed(client)
        return False

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
            return self.attempt(request, bearer.credentials)
        return self.valid_session(request.cookies.get(COOKIE))


class LoginRequired(Exception):  # noqa: N818 - a signal to redirect, not an error
    """A person without a session asked for a page: send them to the login form."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _auth(request: Request) -> TokenAuth:
    return request.app.state.auth


def require_token(request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """API routes: a bearer token, or the session cookie (the dashboard's own live updates)."""
    try:
        allowed = _auth(request).allows(request, bearer)
    except LockedOut as exc:
        raise HTTPException(429, str(exc), headers=exc.headers) from None
    if not allowed:
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
