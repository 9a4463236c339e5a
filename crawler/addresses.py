"""Is a host internal? The one judge the registry, the downloader and the resolver all ask.

A host is read the way the machine that finally connects would read it: a resolver takes
``2852039166``, ``0xa9fea9fe``, ``0251.0376.0251.0376`` and ``169.254.43518`` for
169.254.169.254 (inet_aton), and a proxy does the same with whatever we send it; so an address
is judged after that reading, never by its spelling. Names are judged by what they are known to
mean (this machine, a cloud metadata service, a private name space, a wildcard-DNS service
that answers with the address spelled inside the name) and, when they are resolved here, by
every address they resolve to.
"""

from __future__ import annotations

import asyncio
import re
import socket
import unicodedata
from collections.abc import Iterable
from contextlib import suppress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import unquote

IPAddress = IPv4Address | IPv6Address

#: Names of cloud metadata services (AWS, GCP, Azure, Tencent Cloud …) and their short forms.
METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
    "metadata.azure.internal", "metadata.azure.com", "metadata.tencentyun.com", "metadata.platformequinix.com",
})
#: Name spaces that exist only on a machine or its network: never a county portal.
PRIVATE_SUFFIXES = ("localhost", "internal", "local", "localdomain", "lan", "intranet", "corp", "home",
                    "home.arpa", "svc", "cluster.local")
#: Public wildcard-DNS services that answer with the address written into the name (1.2.3.4.nip.io,
#: 1-2-3-4.sslip.io, 01020304.nip.io, the rebinding services' a.b.c.d-rebind-e.f.g.h …).
EMBEDDING_SERVICES = ("nip.io", "sslip.io", "xip.io", "traefik.me", "backname.io", "rbndr.us", "1u.ms",
                      "nip.direct")
#: Public names whose every subdomain resolves to 127.0.0.1.
LOOPBACK_SERVICES = ("localtest.me", "lvh.me", "vcap.me", "localho.st", "fuf.me", "lacolhost.com")
#: IANA's special-purpose IPv4 blocks that some Python versions count as global (192.0.0.8, the 6to4 relays).
_SPECIAL = (IPv4Network("192.0.0.0/24"), IPv4Network("192.88.99.0/24"))
#: NAT64 prefixes: a gateway turns 64:ff9b::a9fe:a9fe into a connection to 169.254.169.254.
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
_DOTTED = re.compile(r"(?<![0-9])(\d{1,3})[.-](\d{1,3})[.-](\d{1,3})[.-](\d{1,3})(?![0-9])")
_HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{8}(?![0-9a-f])")


def normalize(host: str) -> str:
    """The host as a resolver is finally asked for it: %-decoded, IDNA-mapped (full-width digits,
    ideographic full stops), lower case, without brackets or a trailing dot."""
    host = unicodedata.normalize("NFKC", unquote(host)).translate({0x3002: ".", 0xFF0E: ".", 0xFF61: "."})
    return host.strip().strip("[]").lower().rstrip(".")


def read_address(host: str) -> IPAddress | None:
    """The address a resolver reads in ``host`` (IPv6, or IPv4 in any inet_aton form), or None for a name."""
    try:
        return ip_address(host.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) changes nothing
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
        return None
    values = [int(p, 16) if p[:2] in ("0x", "0X") else int(p, 8) if p.startswith("0") else int(p) for p in parts]
    *front, last = values
    if any(v > 255 for v in front) or last >= 256 ** (5 - len(values)):
        return None
    return IPv4Address(sum(v << (8 * (3 - i)) for i, v in enumerate(front)) + last)


def internal(address: IPAddress) -> bool:
    """Loopback, private, link-local, shared, reserved, multicast — or an IPv6 form of one of those."""
    if isinstance(address, IPv6Address):
        embedded = _ipv4_in(address)
        if embedded is None and int(address) >> 32 == 0:  # ::a.b.c.d (IPv4-compatible), ::1, ::
            embedded = IPv4Address(int(address))
        if embedded is not None:
            return internal(embedded)
    return not address.is_global or address.is_multicast or any(address in net for net in _SPECIAL)


def _ipv4_in(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: IPv4-mapped, 6to4, Teredo's client, NAT64."""
    embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
    if embedded is None and any(address in net for net in _NAT64):
        embedded = IPv4Address(int(address) & 0xFFFFFFFF)
    return embedded


def refusal(host: str) -> str | None:
    """What ``host`` is, when that means it must never be fetched ("an internal address (127.0.0.1)",
    said of the host: "HOST is …"); None when the name alone does not say.

    Needs no network: what a name resolves to is judged by :func:`refused_answers`.
    """
    name = normalize(host)
    if not name:
        return None
    address = read_address(name)
    if address is not None:
        if not internal(address):
            return None
        shown = (_ipv4_in(address) if isinstance(address, IPv6Address) else None) or address
        return "an internal address" + ("" if str(shown) == name else f" ({shown})")
    if name in METADATA_NAMES:
        return "an internal address (a cloud metadata service)"
    if name == "localhost" or name.endswith(".localhost") or _under(name, LOOPBACK_SERVICES):
        return "an internal address (this machine)"
    if "." not in name or _under(name, PRIVATE_SUFFIXES):
        return "an internal address (a name of this machine's network)"
    service = _under(name, EMBEDDING_SERVICES)
    if service:
        embedded = _embedded(name.removesuffix(service))
        bad = [a for a in embedded if internal(a)]
        if bad:
            return f"an internal address ({service} answers {bad[0]})"
        if not embedded:
            return f"a name of the wildcard-DNS service {service} with no address in it"
    return None


def refused_answers(answers: Iterable[str]) -> str | None:
    """What a name resolved here is, when one of its answers is internal (said as :func:`refusal` says it)."""
    bad = sorted({a for a in answers if (address := read_address(a)) is None or internal(address)})
    return f"an internal address (it resolves to {', '.join(bad)})" if bad else None


def _under(name: str, suffixes: Iterable[str]) -> str | None:
    return next((s for s in suffixes if name == s or name.endswith("." + s)), None)


def _embedded(prefix: str) -> list[IPAddress]:
    """Addresses a wildcard-DNS service reads in the labels before its own name."""
    found: list[IPAddress] = [IPv4Address(".".join(m.groups())) for m in _DOTTED.finditer(prefix)
                              if all(int(g) <= 255 for g in m.groups())]
    found += [IPv4Address(int(h, 16)) for h in _HEX.findall(prefix)]
    for label in prefix.strip(".").split("."):  # sslip.io's IPv6: 2001-db8--1, --1
        if "--" in label or label.count("-") >= 2:
            with suppress(ValueError):
                found.append(IPv6Address(label.replace("-", ":")))
    return found


async def resolved_refusal(host: str) -> str | None:
    """What ``host`` resolves to, when that is internal (its lookup here, where no proxy resolves it)."""
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None  # let the download fail with the resolver's own, clearer error
    return refused_answers(a[4][0] for a in answers)
