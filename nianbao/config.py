"""Configuration from flags and the environment, resolved in one place.

Every layer (Scrapy settings, the archive CLI, later the scheduler) asks this module, so
``NIANBAO_*`` variables mean the same thing everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """Configuration that cannot work; the message names the setting at fault."""


@dataclass(frozen=True)
class S3Credentials:
    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    secure: bool = True
    #: Keep every version of every key in a bucket nianbao creates (S3 versioning), so that not even a
    #: credential that can overwrite or delete loses an archived body.
    versioning: bool = True


@dataclass(frozen=True)
class Config:
    home: Path
    storage: str
    catalog: str = field(repr=False)  # URLs that may hold a password
    proxy: str | None = field(repr=False)
    s3: S3Credentials | None

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None, **overrides: str | None) -> Config:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = overrides.get(name.removeprefix("NIANBAO_").lower())
            return value if value is not None else (env.get(name) or None)

        home = Path(get("NIANBAO_HOME") or "./var").resolve()
        storage = get("NIANBAO_STORAGE") or (home / "objects").as_uri()
        catalog = get("NIANBAO_CATALOG") or f"sqlite:///{home / 'catalog.sqlite3'}"
        proxy = get("NIANBAO_PROXY")  # checked by the commands that fetch (check_proxy_url)
        s3 = None
        scheme = urlsplit(storage).scheme
        if scheme == "s3":
            endpoint = get("NIANBAO_S3_ENDPOINT")
            if not endpoint:
                raise ConfigError("NIANBAO_STORAGE is s3://… but NIANBAO_S3_ENDPOINT is not set")
            s3 = S3Credentials(
                endpoint=endpoint,
                access_key=get("NIANBAO_S3_ACCESS_KEY") or "",
                secret_key=get("NIANBAO_S3_SECRET_KEY") or "",
                secure=_true(get("NIANBAO_S3_SECURE") or "true"),
                versioning=_true(get("NIANBAO_S3_VERSIONING") or "true"),
            )
        elif scheme != "file":
            raise ConfigError(f"NIANBAO_STORAGE={storage!r}: expected file:///ABSOLUTE/PATH or s3://BUCKET")
        return cls(home=home, storage=storage, catalog=catalog, proxy=proxy, s3=s3)


def _true(value: str) -> bool:
    return value.lower() not in {"0", "false", "no", "off"}


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
    return Config.from_env(**{name: get(f"NIANBAO_{name.upper()}") for name in ("home", "storage", "catalog", "proxy")})
