"""The site registry: which county portals to crawl, and where their report lists are.

A registry is YAML (``sites: [...]``). Validation is strict and complete: every problem in
every entry is reported at once, naming the entry, and nothing runs on a bad registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from crawler.addresses import normalize, read_address, refusal
from nianbao.config import ConfigError, internal_addresses_allowed
from nianbao.cron import expression_problem, split_expressions

try:  # libyaml makes the 2,850-site national registry load in a fraction of the time
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader

NATIONAL = "national"
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_REQUIRED = ("id", "name", "home")
_OPTIONAL = ("province", "prefecture", "report_lists", "attachment_hosts", "obey_robots", "schedule", "delay",
             "concurrency")
#: A site's own pace: seconds between requests to each of its hosts, and requests at a time to each.
_MAX_DELAY, _MAX_CONCURRENCY = 3600, 16
#: A name of one label or more (``localhost`` is a name too, refused for what it is: crawler.addresses).
_HOST = re.compile(r"(?=.{1,253}$)([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}", re.IGNORECASE)


class RegistryError(ValueError):
    """A registry that cannot be used; the message lists every entry at fault."""


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    home: str
    province: str | None = None
    prefecture: str | None = None
    report_lists: tuple[str, ...] = ()
    attachment_hosts: tuple[str, ...] = ()
    #: robots.txt is obeyed unless the registry says otherwise for this site.
    obey_robots: bool = True
    #: Cron expressions replacing the scheduler's plan for this site (nianbao.cron); empty: the plan.
    schedule: tuple[str, ...] = ()
    #: Seconds between requests to each of the site's hosts, and requests at a time to each; None: DOWNLOAD_DELAY
    #: and CONCURRENT_REQUESTS_PER_DOMAIN (crawler.downloadermiddlewares.politeness).
    delay: float | None = None
    concurrency: int | None = None

    @property
    def full_name(self) -> str:
        """Province, prefecture and name as written together (江西省宜春市万载县); a part that repeats the one
        before it is said once: 香港特别行政区 is its own province, and has no prefecture."""
        parts: list[str] = []
        for part in (self.province, self.prefecture, self.name):
            if part and part not in parts:
                parts.append(part)
        return "".join(parts)

    @property
    def hosts(self) -> frozenset[str]:
        """Hosts whose pages belong to this site: its home, its lists and its file hosts."""
        urls = (self.home, *self.report_lists)
        return frozenset({urlsplit(u).hostname for u in urls} | set(self.attachment_hosts))


@dataclass
class Registry:
    sites: list[Site]
    source: str
    _by_id: dict[str, Site] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {site.id: site for site in self.sites}

    def __len__(self) -> int:
        return len(self.sites)

    def select(self, keys: list[str]) -> list[Site]:
        """Sites by id or by name (``万载县``, ``宜春市万载县``); every key must match exactly one."""
        chosen: list[Site] = []
        for key in keys:
            site = self._by_id.get(key)
            if site is None:
                matches = [s for s in self.sites if key in _names(s)]
                if not matches:
                    raise RegistryError(f"no site {key!r} in {self.source}")
                if len(matches) > 1:
                    options = ", ".join(f"{s.id} ({s.full_name})" for s in matches)
                    raise RegistryError(f"site name {key!r} is ambiguous in {self.source}: use one of {options}")
                site = matches[0]
            if site not in chosen:
                chosen.append(site)
        return chosen


def _names(site: Site) -> set[str]:
    parts = [p for p in (site.province, site.prefecture) if p]
    return {site.name, (site.prefecture or "") + site.name, "".join(parts) + site.name, site.full_name}


def load_registry(path: str | Path | None = None, allow_internal: bool | None = None) -> Registry:
    """The registry in ``path``, or the national default shipped with nianbao.

    ``allow_internal``: accept internal addresses (NIANBAO_ALLOW_INTERNAL_ADDRESSES, a lab or a test world);
    None: as the environment says, as the crawl will.
    """
    if path is None or str(path) == NATIONAL:
        text = resources.files("crawler").joinpath("data/county-portals.yaml").read_text("utf-8")
        return parse_registry(text, "the national registry", allow_internal)
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise RegistryError(f"registry file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"cannot read registry file {path}: {exc}") from None
    return parse_registry(text, str(path), allow_internal)


def parse_registry(text: str, source: str, allow_internal: bool | None = None) -> Registry:
    if allow_internal is None:
        try:
            allow_internal = internal_addresses_allowed()
        except ConfigError as exc:
            raise RegistryError(f"{source}: {exc}") from None
    try:
        # Aliases can expand a few hundred bytes into gigabytes ("billion laughs"); no registry needs them.
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=SafeLoader)):
            raise RegistryError(f"{source}: YAML aliases (*name) are not allowed in a registry")
        data = yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sites"), list):
        raise RegistryError(f"{source}: expected a mapping with a 'sites:' list")
    if not data["sites"]:
        raise RegistryError(f"{source}: the 'sites:' list is empty")
    errors: list[str] = []
    sites: list[Site] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(data["sites"], start=1):
        label = f"entry {number}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label += f" (id {entry['id']!r})"
        problems = _check_entry(entry, allow_internal)
        ident = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(ident, str):
            if ident in seen:
                problems.append(f"duplicate id, first used by entry {seen[ident]}")
            seen.setdefault(ident, number)
        if problems:
            errors.extend(f"{label}: {p}" for p in problems)
            continue
        sites.append(
            Site(
                id=entry["id"],
                name=entry["name"],
                home=entry["home"],
                province=entry.get("province"),
                prefecture=entry.get("prefecture"),
                report_lists=tuple(entry.get("report_lists") or ()),
                attachment_hosts=tuple(h.lower() for h in entry.get("attachment_hosts") or ()),
                obey_robots=entry.get("obey_robots", True),
                schedule=tuple(_expressions(entry.get("schedule"))),
                delay=float(entry["delay"]) if entry.get("delay") is not None else None,
                concurrency=entry.get("concurrency"),
            )
        )
    if errors:
        shown = errors[:20] + ([f"… and {len(errors) - 20} more"] if len(errors) > 20 else [])
        raise RegistryError(f"{source} has {len(errors)} problem(s):\n  " + "\n  ".join(shown))
    return Registry(sites, source)


def _check_entry(entry: Any, allow_internal: bool) -> list[str]:
    if not isinstance(entry, dict):
        return [f"expected a mapping of fields, got {type(entry).__name__}"]
    problems = [f"missing required field {name!r}" for name in _REQUIRED if entry.get(name) in (None, "")]
    problems += [f"unknown field {name!r}" for name in entry if name not in _REQUIRED + _OPTIONAL]
    ident = entry.get("id")
    if ident not in (None, "") and not (isinstance(ident, str) and _ID.fullmatch(ident)):
        problems.append(f"id {ident!r} must be text: lower-case letters, digits, '-' or '_'")
    for name in ("name", "home", "province", "prefecture"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            problems.append(f"{name} must be text")
    if isinstance(entry.get("home"), str) and entry["home"]:
        problems += _check_url("home", entry["home"], allow_internal)
    if not isinstance(entry.get("obey_robots", True), bool):
        problems.append("obey_robots must be true or false")
    if entry.get("schedule") is not None:
        problems += _check_schedule(entry["schedule"])
    problems += _check_pace(entry.get("delay"), entry.get("concurrency"))
    for name in ("report_lists", "attachment_hosts"):
        value = entry.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            problems.append(f"{name} must be a list")
            continue
        for item in value:
            if name == "report_lists":
                problems += _check_url(name, item, allow_internal)
            elif not isinstance(item, str) or not _is_host(item):
                problems.append(f"{name}: {item!r} is not a host name")
            elif refused := _refused(item, allow_internal):
                problems.append(f"{name}: {item!r} {refused}")
    return problems


def _expressions(value: Any) -> list[str]:
    """A site's ``schedule:``: one text (expressions separated by ';') or a list of expressions."""
    if not isinstance(value, str):
        return [e.strip() for e in value or ()]
    return split_expressions(value)


def _check_schedule(value: Any) -> list[str]:
    if not (isinstance(value, str) or isinstance(value, list) and all(isinstance(e, str) for e in value)):
        return ["schedule must be a cron expression or a list of them"]
    expressions = _expressions(value)
    if not expressions:
        return ["schedule is empty (leave it out for the scheduler's plan)"]
    return [f"schedule: {problem}" for problem in map(expression_problem, expressions) if problem]


def _check_pace(delay: Any, concurrency: Any) -> list[str]:
    problems = []
    number = isinstance(delay, int | float) and not isinstance(delay, bool)
    if delay is not None and not (number and 0 <= delay <= _MAX_DELAY):  # NaN and .inf are not either
        problems.append(f"delay must be a number of seconds from 0 to {_MAX_DELAY}, got {delay!r}")
    whole = isinstance(concurrency, int) and not isinstance(concurrency, bool)
    if concurrency is not None and not (whole and 1 <= concurrency <= _MAX_CONCURRENCY):
        problems.append(f"concurrency must be a whole number from 1 to {_MAX_CONCURRENCY}, got {concurrency!r}")
    return problems


def _check_url(name: str, url: Any, allow_internal: bool) -> list[str]:
    if not isinstance(url, str) or any(c.isspace() for c in url):
        return [f"{name}: {url!r} is not a URL"]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        return [f"{name}: {url!r} is not a valid URL ({exc})"]
    if parts.scheme not in {"http", "https"} or not parts.hostname or not _is_host(parts.hostname):
        return [f"{name}: {url!r} is not an http(s) URL with a host name"]
    refused = _refused(parts.hostname, allow_internal)
    return [f"{name}: {url!r} {refused}"] if refused else []


def _refused(host: str, allow_internal: bool) -> str | None:
    """The crawl's own refusal of an internal host (crawler.addresses), word for word, unless they are allowed."""
    what = None if allow_internal else refusal(host)
    return f"refused: {host} is {what}" if what else None


def _is_host(host: str) -> bool:
    """A host name or an IP address (``[::1]`` too, as attachment_hosts may write it)."""
    return bool(_HOST.fullmatch(host)) or read_address(normalize(host)) is not None
