"""Page chrome shared by the three platforms: site config, HTML skeleton, list items, article pages.

Real portals wrap every page in heavy chrome (nav, footer, off-site links) and some serve GBK with the
charset only in a <meta>; the simulator does the same so spiders meet that on every page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .plan import Entry


@dataclass
class Column:
    """One report list (栏目) of a site."""

    list_url: str  # first page, absolute
    base: str  # directory path of the list, e.g. /xxgk/zfxxgknb/
    name: str = "政府信息公开年报"
    col_id: int = 0  # Hanweb columnid
    unitid: str = ""  # Hanweb unitid


@dataclass
class SiteConfig:
    id: str
    name: str
    province: str
    prefecture: str | None
    host: str
    platform: str  # "html" | "hanweb" | "trs"
    columns: list[Column] = field(default_factory=list)
    encoding: str = "utf-8"  # "gbk" pages declare their charset only in <meta>
    meta: str = "charset"  # "charset" (<meta charset>) | "http-equiv"
    pager: str = "index_n"  # html only: "index_n" (index_2.html) | "query" (index.html?page=2)
    per_page: int = 15
    file_host: str | None = None  # separate attachment host (Hanweb object storage)
    disposition: str = "rfc5987"  # Hanweb downfile Content-Disposition: "rfc5987" | "gbk"
    webid: int = 0
    # Hard-world knobs; the defaults leave the pages of `build_world()` byte for byte as they were.
    header_charset: str | None = None  # charset sent in the HTTP header even when it is wrong (iso-8859-1)
    nav: list[tuple[str, str]] | None = None  # (href, text) nav links instead of one per report column
    list_footer: str = ""  # extra markup under every list page's pager (links to traps)
    article_path: str | None = None  # html only: where articles live, "/Xxgknb/show/{id}.html" (Anhui)

    @property
    def home(self) -> str:
        return f"http://{self.host}/"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"


def root_href(site: SiteConfig, url: str) -> str:
    """Root-relative link for same-host URLs (how CMSs write them), absolute for other hosts."""
    parts = urlsplit(url)
    if parts.hostname != site.host:
        return url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _charset_meta(site: SiteConfig) -> str:
    if site.encoding == "utf-8":
        return '<meta charset="utf-8">'
    if site.encoding == "gb18030":  # characters outside GBK (㮾梨街道) need the full GB18030
        return '<meta http-equiv="Content-Type" content="text/html; charset=gb18030">'
    if site.meta == "http-equiv":  # real GBK sites usually declare gb2312 while serving GBK
        return '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    return '<meta charset="gbk">'


def encode(site: SiteConfig, markup: str) -> tuple[bytes, str]:
    """Body bytes and Content-Type; GBK sites send no charset in the header (only in the page).

    `header_charset` overrides the header's charset, even with a wrong one, as misconfigured servers do.
    """
    if site.encoding == "utf-8":
        body, ctype = markup.encode("utf-8"), "text/html; charset=utf-8"
    else:
        body, ctype = markup.encode(site.encoding, "xmlcharrefreplace"), "text/html"
    if site.header_charset:
        ctype = f"text/html; charset={site.header_charset}"
    return body, ctype


def document(site: SiteConfig, title: str, main: str, head: str = "") -> str:
    links = site.nav if site.nav is not None else [(c.list_url, c.name) for c in site.columns]
    nav = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head>
{_charset_meta(site)}
<title>{html.escape(title)}_{site.name}人民政府</title>
<meta name="SiteName" content="{site.name}人民政府">
<meta name="SiteDomain" content="{site.host}">
{head}<link rel="stylesheet" href="/css/style.css">
</head><body>
<div class="header"><a href="/"><img src="/images/logo.png" alt="{site.name}人民政府"></a>
<form action="/jsearch/search.do" method="get"><input name="q"><button>搜索</button></form></div>
<div class="nav"><ul><li><a href="{site.home}">首页</a></li><li><a href="{site.home}">政务公开</a></li>{nav}
<li><a href="http://www.gov.cn/">中国政府网</a></li></ul></div>
<div class="main">
{main}
</div>
<div class="footer"><p>主办：{site.name}人民政府办公室　承办：{site.name}大数据中心</p>
<p>地址：{site.province}{site.prefecture or ""}{site.name}　<a href="http://bszs.conac.cn/">党政机关</a>
　<a href="https://beian.miit.gov.cn/">ICP备案</a></p></div>
</body></html>
"""


def list_item(href: str, e: Entry) -> str:
    title = f' title="{html.escape(e.title)}"' if e.title_attr else ""
    day = e.published.strftime("%Y-%m-%d")
    text = html.escape(e.list_text)
    return f'<li><a href="{html.escape(href)}"{title} target="_blank">{text}</a><span>{day}</span></li>'


def article(site: SiteConfig, e: Entry, container: str, metas: bool,
            inline: Sequence[tuple[str, str]] = (), listed: Sequence[tuple[str, str]] = ()) -> str:
    """An article page; `container` opens the body element(s) (#zoom, .TRS_Editor …).

    `inline` attachment links go inside the body, `listed` ones in a block after it.
    """
    body = e.body.replace("\x00LINK\x00", e.link_to.url) if e.link_to else e.body
    body += "".join(f'<p>附件：<a href="{html.escape(href)}">{html.escape(text)}</a></p>' for href, text in inline)
    source = e.agency or f"{site.name}人民政府办公室"
    head = ""
    if metas:
        head = (f'<meta name="ArticleTitle" content="{html.escape(e.title)}">\n'
                f'<meta name="PubDate" content="{e.published:%Y-%m-%d %H:%M}">\n'
                f'<meta name="ContentSource" content="{html.escape(source)}">\n')
    files = "".join(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>' for href, text in listed)
    main = (f'<div class="crumb">当前位置：<a href="{site.home}">首页</a> &gt; 政务公开 &gt; 信息公开年报</div>\n'
            f'<h1 class="title">{html.escape(e.title)}</h1>\n'
            f'<div class="info">发布日期：{e.published:%Y-%m-%d}　来源：{html.escape(source)}'
            f'　<a href="javascript:window.print()">打印</a></div>\n'
            f"{container}\n{body}\n{'</div>' * container.count('<div')}\n"
            + (f'<div class="attachments"><p>相关附件：</p><ul>{files}</ul></div>\n' if listed else ""))
    return document(site, e.title, main, head)


def home_page(site: SiteConfig) -> str:
    links = "".join(f'<p><a href="{c.list_url}">{c.name}</a></p>' for c in site.columns)
    return document(site, "首页", f"<h2>政府信息公开</h2>{links}")
