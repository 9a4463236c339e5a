"""Read a page in the charset it declares itself, when the HTTP header says Latin-1.

Chinese portals often serve GBK / GB18030 pages with a server default of ``charset=iso-8859-1``
in the header; browsers shrug, but Scrapy trusts the header, and every title would come out as
mojibake. A header naming a Latin-1 family charset is overruled by the page's own ``<meta>``.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse, Response
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

#: What iso-8859-1, latin1, us-ascii and cp1252 all resolve to.
_LATIN = {resolve_encoding("iso-8859-1"), resolve_encoding("ascii")}


class CharsetMiddleware:
    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, HtmlResponse):
            return response
        header = http_content_type_encoding((response.headers.get("Content-Type") or b"").decode("latin-1"))
        if header is None or resolve_encoding(header) not in _LATIN:
            return response
        declared = html_body_declared_encoding(response.body)
        if declared and resolve_encoding(declared) not in _LATIN:
            return response.replace(encoding=resolve_encoding(declared))
        return response
