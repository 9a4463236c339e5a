"""The browser for pages that need a script to show their content (scrapy-playwright, Chromium).

Configured as a Scrapy add-on because the launch options depend on other settings (the proxy)
and on the machine (where Chromium is). Pages go to the browser only when a request asks for it
(``meta["playwright"]``); everything else keeps Scrapy's own downloader, and no browser is
started for a crawl that never needs one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urlsplit

from scrapy.settings import BaseSettings

from crawler.addresses import refusal, resolved_refusal
from nianbao.config import from_settings, internal_addresses_allowed

#: Where Chromium usually is: Debian's package, other distributions, Google's build.
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
              "/usr/bin/google-chrome-stable", "/snap/bin/chromium")
#: Quiet, sandbox-less (containers, root) and without calls home.
#: Chromium's own services (updates, sign-in, safe browsing), which call home whatever the flags say.
VENDOR_HOSTS = ("*.google.com", "*.googleapis.com", "*.gstatic.com", "*.gvt1.com", "*.gvt2.com",
                "*.googleusercontent.com", "*.doubleclick.net")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        # Those hosts never resolve, and bypass the proxy (below) so the rule applies: nothing leaves.
        "--host-resolver-rules=" + ", ".join(f"MAP {host} ~NOTFOUND" for host in VENDOR_HOSTS)]


def find_chromium(configured: str | None) -> str | None:
    """NIANBAO_CHROMIUM if set, else the first Chromium at a usual place; None: Playwright's own."""
    if configured:
        return configured
    return next((path for path in CANDIDATES if os.access(path, os.X_OK)), None) or shutil.which("chromium")


def proxy_option(proxy: str) -> dict[str, str]:
    parts = urlsplit(proxy)
    option = {"server": f"{parts.scheme}://{parts.hostname}:{parts.port}", "bypass": ",".join(VENDOR_HOSTS)}
    if parts.username:
        option.update(username=unquote(parts.username), password=unquote(parts.password or ""))
    return option


#: What a page loads only to look right: nothing the crawl reads, and each one more request to a small server.
LOOKS = frozenset({"image", "stylesheet", "font", "media"})


def browser_abort(proxy: str | None, allow_internal: bool = False) -> Callable[[object], Awaitable[bool]]:
    """PLAYWRIGHT_ABORT_REQUEST: what a page's own scripts ask for never passes Scrapy's middlewares, so
    the browser aborts what a page loads only to look right (LOOKS), and requests for internal addresses —
    named so, or, without a proxy (which would resolve them far away), resolving to one. Chromium resolves
    again when it connects: a name that changes its answer in between (DNS rebinding) is caught only by
    the proxy's own rules."""

    async def abort(request: object) -> bool:
        if getattr(request, "resource_type", "") in LOOKS:
            return True
        host = urlsplit(getattr(request, "url", "")).hostname or ""
        if not host or allow_internal:
            return False  # data:, about:blank; a lab
        return refusal(host) is not None or (not proxy and await resolved_refusal(host) is not None)

    return abort


class BrowserAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        handler = "crawler.downloadhandlers.http.HTTPDownloadHandler"  # scrapy-playwright's, bodies bounded
        settings.set("DOWNLOAD_HANDLERS", {**settings.getdict("DOWNLOAD_HANDLERS"), "http": handler, "https": handler},
                     priority="addon")
        options = {"headless": True, "args": ARGS, **settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")}
        chromium = find_chromium(settings.get("NIANBAO_CHROMIUM") or os.environ.get("NIANBAO_CHROMIUM"))
        if chromium:
            options.setdefault("executable_path", chromium)
        proxy = from_settings(settings).proxy
        if proxy:
            options.setdefault("proxy", proxy_option(proxy))
        settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", options, priority="addon")
        if not settings.get("PLAYWRIGHT_ABORT_REQUEST"):
            allow = internal_addresses_allowed(settings.get("NIANBAO_ALLOW_INTERNAL_ADDRESSES"))
            settings.set("PLAYWRIGHT_ABORT_REQUEST", browser_abort(proxy, allow), priority="addon")
