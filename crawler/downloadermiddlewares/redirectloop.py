"""A redirect back into its own chain is a failure that names the loop.

Left to Scrapy, the repeat of a URL already requested is dropped as a duplicate by the scheduler, silently:
the list behind a redirect loop would vanish without a failure. Runs before RedirectMiddleware (600) sees
the answer.
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from w3lib.url import safe_url_string

_REDIRECTS = {301, 302, 303, 307, 308}


class RedirectLoop(IgnoreRequest):
    """The chain of redirects came back to a URL it had passed."""


class RedirectLoopMiddleware:
    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get("Location")
        if response.status not in _REDIRECTS or not location or request.meta.get("dont_redirect"):
            return response
        target = urljoin(request.url, safe_url_string(location.decode("latin-1")))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoop("redirect loop: " + " → ".join([*chain[chain.index(target):], target])[:300])
        return response
