"""Configuration from flags and the environment, resolved in one place.

Every layer (Scrapy settings, the archive CLI, later the scheduler) asks this module, so
``NIANBAO_*`` variables mean the same thing everywhere.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """Configuration that cannot work; the message names the setting at fault."""


#: Seconds to wait for the S3 endpoint or the catalog database to accept a connection, and then for each
#: answer to begin (NIANBAO_ARCHIVE_TIMEOUT): a server that accepts and never answers stops the command,
#: naming it, instead of hanging it.
ARCHIVE_TIMEOUT = 15.0


@dataclass(frozen=True)
class S3Credentials:
    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    secure: bool = True
    #: Keep every version of every key in a bucket nianbao creates (S3 versioning), so that not even a
    #: credential that can overwrite or delete loses an archived body.
    versioning: bool = True
    timeout: float = ARCHIVE_TIMEOUT


@dataclass(frozen=True)
class Config:
    home: Path
    storage: str
    catalog: str = field(repr=False)  # URLs that may hold a password
    proxy: str | None = field(repr=False)
    s3: S3Credentials | None
    timeout: float = ARCHIVE_TIMEOUT

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None, **overrides: str | None) -> Config:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = overrides.get(name.removeprefix("NIANBAO_").lower())
            return value if value is not None else (env.get(name) or None)

        home = Path(get("NIANBAO_HOME") or "./var").resolve()
        storage = get("NIANBAO_STORAGE") or (home / "objects").as_uri()
        catalog = get("NIANBAO_CATALOG") or f"sqlite:///{home / 'catalog.sqlite3'}"
        if get("NIANBAO_CATALOG"):
            _check_catalog_dir(catalog, home)
        proxy = get("NIANBAO_PROXY")  # checked by the commands that fetch (check_proxy_url)
        timeout = _seconds("NIANBAO_ARCHIVE_TIMEOUT", get("NIANBAO_ARCHIVE_TIMEOUT"))
        s3 = None
        scheme = urlsplit(storage).scheme
        if scheme == "s3":
            endpoint = get("NIANBAO_S3_ENDPOINT")
            if not endpoint:
                raise ConfigError("NIANBAO_STORAGE is s3://… but NIANBAO_S3_ENDPOINT is not set")
            secure = _flag("NIANBAO_S3_SECURE", get("NIANBAO_S3_SECURE"), True)
            given = urlsplit(endpoint).scheme if "://" in endpoint else None
            if given and get("NIANBAO_S3_SECURE") is not None and secure != (given == "https"):
                raise ConfigError(f"NIANBAO_S3_ENDPOINT={endpoint!r} says {given}, NIANBAO_S3_SECURE "
                                  f"{get('NIANBAO_S3_SECURE')!r} says otherwise: give one of them")
            s3 = S3Credentials(
                endpoint=endpoint,
                access_key=get("NIANBAO_S3_ACCESS_KEY") or "",
                secret_key=get("NIANBAO_S3_SECRET_KEY") or "",
                secure=secure,
                versioning=_flag("NIANBAO_S3_VERSIONING", get("NIANBAO_S3_VERSIONING"), True),
                timeout=timeout,
            )
        elif scheme != "file" or not storage.startswith("file:///"):  # file:objects, file://objects: meant where?
            raise ConfigError(f"NIANBAO_STORAGE={storage!r}: expected file:///ABSOLUTE/PATH or s3://BUCKET[/PREFIX]")
        return cls(home=home, storage=storage, catalog=catalog, proxy=proxy, s3=s3, timeout=timeout)


def _true(value: str) -> bool:
    return value.lower() not in {"0", "false", "no", "off"}


_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _flag(name: str, value: str | None, default: bool) -> bool:
    """A yes/no setting; anything else (``maybe``, ``ture``) is refused rather than guessed at."""
    if value is None:
        return default
    try:
        return _FLAGS[value.strip().lower()]
    except KeyError:
        raise ConfigError(f"{name}={value!r}: expected true or false (also 1/0, yes/no)") from None


def _seconds(name: str, value: str | None) -> float:
    if value is None:
        return ARCHIVE_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{name}={value!r}: expected a number of seconds above 0")
    return seconds


def _check_catalog_dir(url: str, home: Path) -> None:
    """A catalog named explicitly outside NIANBAO_HOME goes where it says or nowhere: its directory is never
    made up (a typo would otherwise start an empty archive beside the real one)."""
    from sqlalchemy.engine import make_url  # only here: configuration needs no database driver otherwise
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # the catalog says what is wrong with the URL itself
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" \
            or parsed.database.startswith("file:"):
        return
    directory = Path(parsed.database).resolve().parent
    if not directory.is_dir() and not directory.is_relative_to(home):
        raise ConfigError(f"NIANBAO_CATALOG={redact(url)!r}: directory {directory} does not exist "
                          "(create it first; nianbao makes directories only under NIANBAO_HOME)")


def check_proxy_url(proxy: str) -> str:
    """The proxy URL if it is usable: http(s), a host, a numeric port."""
    try:
        parts = urlsplit(proxy)
        port = parts.port
    except ValueError:  # urllib's message may quote the password: say what is wrong in our words
        raise ConfigError(f"proxy {redact(proxy)!r}: malformed host or port") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"proxy {redact(proxy)!r}: expected http://[USER:PASSWORD@]HOST:PORT")
    if port is None:
        raise ConfigError(f"proxy {redact(proxy)!r}: no port")
    return proxy


def reach_proxy(proxy: str, timeout: float) -> None:
    """A proxy that is not there would turn every site into an error: said (ConfigError) before crawling."""
    parts = urlsplit(check_proxy_url(proxy))
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"proxy {redact(proxy)!r} is unreachable: {exc.strerror or exc}") from None


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and messages (even when the URL is malformed).

    Everything between ``://`` and the last ``@`` is user information, whatever characters
    (``/``, ``#``, ``?``) an unescaped password contains.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{hostpart}"


def from_settings(settings: object) -> Config:
    """The Config a Scrapy crawl runs with: ``NIANBAO_*`` settings first, then the environment."""
    get = settings.get  # type: ignore[attr-defined]
    names = ("home", "storage", "catalog", "proxy", "archive_timeout")
    return Config.from_env(**{name: _text(get(f"NIANBAO_{name.upper()}")) for name in names})


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def internal_addresses_allowed(value: object = None, env: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """NIANBAO_ALLOW_INTERNAL_ADDRESSES (a lab, a test world): the setting when given, else the environment.

    Asked alike by the registry and the crawl, so neither accepts an address the other refuses; strict,
    because a misspelt "false" must not open the crawler to the machine's own network.
    """
    if value is None:
        value = (os.environ if env is None else env).get("NIANBAO_ALLOW_INTERNAL_ADDRESSES") or "false"
    text = str(value).strip().lower()
    if text not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
        raise ConfigError(f"NIANBAO_ALLOW_INTERNAL_ADDRESSES={value!r}: expected true or false")
    return _true(text)
