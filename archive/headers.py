"""A capture's HTTP headers as the catalog keeps them: the bytes received, in order, repeats apart.

The ``headers`` column holds ``[[name, value], …]``, each name and value the bytes received read
as Latin-1: it maps every byte to one character, so encoding back gives exactly those bytes,
and JSON cannot hold bytes. A header sent twice (Set-Cookie, Link) is two pairs, since joining
them with ", " loses where one cookie ends. Catalogs written before kept a dict of name →
value (repeats joined): both forms are read, and old rows are never rewritten. Values are
decoded for people only where they are shown, never before they are stored or sent on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: The stored form: ``[[name, value], …]``, or, from catalogs before it, ``{name: value}``.
Stored = list[list[str]] | Mapping[str, str] | None


def stored_form(received: Iterable[tuple[bytes, Iterable[bytes]]]) -> list[list[str]]:
    """Headers as a client library gives them (name → its values, bytes) in the stored form."""
    return [[name.decode("latin-1"), value.decode("latin-1")] for name, values in received for value in values]


def pairs(stored: Stored | Any) -> list[tuple[str, str]]:
    """(name, value) in the order received, from either stored form."""
    if not stored:
        return []
    items = stored.items() if isinstance(stored, Mapping) else stored
    return [(str(name), str(value)) for name, value in items]


def get_all(stored: Stored | Any, name: str) -> list[str]:
    """Every value of ``name`` (any case), in order."""
    name = name.lower()
    return [value for key, value in pairs(stored) if key.lower() == name]


def get(stored: Stored | Any, name: str) -> str | None:
    """The first value of ``name`` (any case), or None."""
    found = get_all(stored, name)
    return found[0] if found else None


def freshen(stored: Stored | Any, fresh: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The stored headers updated by a 304's (RFC 9111 §4.3.4): each name the 304 sent replaces
    that name's values where they stood; everything else stays exactly as first received."""
    update: dict[str, list[tuple[str, str]]] = {}
    for name, value in fresh:
        update.setdefault(name.lower(), []).append((name, value))
    merged: list[list[str]] = []
    for name, value in pairs(stored):
        replacement = update.get(name.lower())
        if replacement is None:
            merged.append([name, value])
        elif replacement:
            merged.extend([n, v] for n, v in replacement)
            replacement.clear()  # placed once, where the name first stood
    merged.extend([n, v] for values in update.values() for n, v in values)
    return merged


def as_bytes(stored: Stored | Any) -> dict[bytes, list[bytes]]:
    """The stored headers as the bytes received, grouped by name (what Scrapy's Headers take as is)."""
    grouped: dict[bytes, list[bytes]] = {}
    for name, value in pairs(stored):
        grouped.setdefault(raw(name), []).append(raw(value))
    return grouped


def raw(text: str) -> bytes:
    """A stored name or value as the bytes received."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:  # not read from a response's bytes (written by hand): keep it readable
        return text.encode("utf-8")
