"""Which hosts a site's crawl may fetch from.

A county's pages live on its own host(s), its configured file hosts and other hosts under the
same ``*.gov.cn`` registrable domain (``file.wanzai.gov.cn`` for ``www.wanzai.gov.cn``);
mirror copies on other domains are never followed. The spider asks before following a link;
crawler.downloadermiddlewares.scope asks again of every request sent, redirects' targets included.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .addresses import normalize
from .registry import Site


def registrable_domain(host: str) -> str:
    labels = host.lower().rstrip(".").split(".")
    if labels[-2:] == ["gov", "cn"] and len(labels) >= 3:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


class Scope:
    def __init__(self, site: Site) -> None:
        self.hosts = {normalize(h) for h in site.hosts}
        self.domains = {registrable_domain(h) for h in self.hosts if h.endswith(".gov.cn")}

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        host = normalize(parts.hostname or "")
        if parts.scheme not in {"http", "https"} or not host:
            return False
        return host in self.hosts or any(host == d or host.endswith("." + d) for d in self.domains)
