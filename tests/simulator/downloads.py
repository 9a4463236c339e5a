"""Files behind a download endpoint or on other hosts, as seen on many county sites.

Files rotate over three places: `/download.jsp?id=N` on the site itself, whose link says only 下载附件
and whose real name is ONLY in Content-Disposition (alternately raw GBK bytes and RFC 5987
`filename*=UTF-8''…`); a provincial file host on another registrable domain (listed in the site's
`attachment_hosts`); and an object-storage host under the county's own domain (oss.{county}.gov.cn, not
listed: in scope by domain alone).
"""

from __future__ import annotations

import itertools
import random
from urllib.parse import quote

from .files import CONTENT_TYPES
from .html_portal import FilePlacer
from .pages import SiteConfig
from .plan import Entry

DOWNLOAD = "/download.jsp"


def disposition(name: str, fallback: str, style: str) -> str:
    """`gbk`: the name as raw GBK bytes (the server writes headers as latin-1); `rfc5987`: ASCII + filename*."""
    if style == "gbk":
        return f'attachment; filename="{name.encode("gbk", "replace").decode("latin-1")}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def placer(site: SiteConfig, file_host: str, oss_host: str, rng: random.Random) -> FilePlacer:
    """Round-robin over download.jsp (GBK, then RFC 5987), the provincial host and the county's OSS host."""
    turn = itertools.count()
    ids = itertools.count(rng.randint(1000, 5000), 7)
    downloads = itertools.count()

    def place(e: Entry, ext: str, name: str) -> tuple[str, dict[str, str], str, str]:
        k = next(turn) % 3
        token = f"{rng.getrandbits(96):024x}"
        if k == 0:
            style = ("gbk", "rfc5987")[next(downloads) % 2]
            headers = {"Content-Disposition": disposition(name, f"{token}.{ext}", style)}
            return site.url(f"{DOWNLOAD}?id={next(ids)}"), headers, "application/octet-stream", "下载附件"
        if k == 1:
            return f"http://{file_host}/{site.id}/{e.published:%Y}/{token}.{ext}", {}, CONTENT_TYPES[ext], name
        return f"http://{oss_host}/xxgk/{e.published:%Y%m}/{token}.{ext}", {}, CONTENT_TYPES[ext], name

    return place
