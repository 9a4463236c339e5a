"""Read a page in the charset it declares itself, when the HTTP header says Latin-1.

Chinese portals often serve GBK / GB18030 pages with a server default of ``charset=iso-8859-1``
in the header; browsers shrug, but Scrapy trusts the header, and every title would come out as
mojibake. A header naming a Latin-1 family charset is overruled by the page's own ``<meta>``:
the rule is archive.text's, so what the crawl read is what ``archive diff`` shows.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse, Response

from archive.text import page_charset


class CharsetMiddleware:
    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, HtmlResponse):
            return response
        charset = page_charset((response.headers.get("Content-Type") or b"").decode("latin-1"), response.body)
        return response.replace(encoding=charset) if charset else response
