"""The parsed reports in the dashboard: a list, one report beside its archived original, an agency across years.

A report is named by the SHA-256 of its archived body (``/reports/{sha256}``): a recrawl that brings the same
body leaves the link as it was, and a report that changed gets a page of its own, the old one staying readable.
The tables are laid out as the template prints them (rows under the template's own labels, the seven applicant
columns), each cell exactly as read, so a reader can hold them against the original framed beside them. That
frame is sandboxed twice: ``sandbox=""`` on the iframe, and the memento's own ``Content-Security-Policy:
sandbox``: nothing of the county's page runs, with or without this server's session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BeforeValidator

from archive.catalog import Capture, ParsedReport, ParseResult, isoformat
from archive.storage import IntegrityError, StorageError
from parsing import PARSER_VERSION
from parsing import compare as comparing
from parsing.formats.kinds import kind_of
from parsing.reading import SECTIONS
from parsing.template.keys import (
    APPLICANT_COLUMNS,
    OTHER_SUBROWS,
    REVIEW_BLOCKS,
    REVIEW_COLUMNS,
    application_rows,
    art20_items,
    keys,
)

from . import data, pages
from .auth import require_session, require_token
from .models import Cell, CheckOut, ComparedYear, Comparison, ReportOut, ReportRow, ReportsPage, TableSource
from .originals import MAX_PAGES, PageImages, Unrenderable, shown
from .state import ArchiveState, State

api = APIRouter(prefix="/api", tags=["reports"], dependencies=[Depends(require_token)],
                responses={401: {"description": "no valid token"}})
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

#: The dashboard's policy (web/app.py) plus frames from this server: the report page frames its memento.
PAGE_CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; "
            "form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'")
#: Originals a sandboxed frame shows; a PDF or Word file there is only a blocked plugin or download: a PDF's pages
#: are shown as images (web/originals.py), anything else is linked.
FRAMEABLE = ("text/html", "application/xhtml+xml", "text/plain", "image/")
#: The server's page images, kept across requests.
PAGES = PageImages()

Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="the report's archived body")]
#: Filters the dashboard's forms send empty for "any".
Blank = BeforeValidator(lambda value: None if value == "" else value)
SiteQuery = Annotated[str | None, Query(description="a site id"), Blank]
YearQuery = Annotated[int | None, Query(description="report year, as the document says it"), Blank]
FailedQuery = Annotated[bool, Query(description="only reports that failed a check or could not be parsed")]

# -- the template's labels ----------------------------------------------------------------------------------
SECTION_LABELS = {
    "overview": "一、总体情况", "proactive": "二、主动公开政府信息情况",
    "requests": "三、收到和处理政府信息公开申请情况", "review_litigation": "四、政府信息公开行政复议、行政诉讼情况",
    "problems": "五、存在的主要问题及改进情况", "other": "六、其他需要报告的事项",
}
COLUMN_LABELS = dict(zip(APPLICANT_COLUMNS, ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他",
                                             "总计"), strict=True))
ROW_LABELS = {
    "new": "一、本年新收政府信息公开申请数量", "carried_over": "二、上年结转政府信息公开申请数量",
    "granted": "（一）予以公开", "partly_granted": "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "refused.state_secret": "1. 属于国家秘密", "refused.prohibited_by_law": "2. 其他法律行政法规禁止公开",
    "refused.three_safeties": "3. 危及“三安全一稳定”", "refused.third_party": "4. 保护第三方合法权益",
    "refused.internal_affairs": "5. 属于三类内部事务信息", "refused.process_info": "6. 属于四类过程性信息",
    "refused.enforcement_files": "7. 属于行政执法案卷", "refused.query_items": "8. 属于行政查询事项",
    "unavailable.not_held": "1. 本机关不掌握相关政府信息", "unavailable.needs_creation": "2. 没有现成信息需要另行制作",
    "unavailable.unclear": "3. 补正后申请内容仍不明确",
    "not_handled.petition": "1. 信访举报投诉类申请", "not_handled.repeated": "2. 重复申请",
    "not_handled.publication": "3. 要求提供公开出版物", "not_handled.massive_repeated": "4. 无正当理由大量反复申请",
    "not_handled.confirmation": "5. 要求行政机关确认或重新出具已获取信息",
    "other": "（六）其他处理",
    "other.overdue_correction": "1. 申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other.unpaid_fee": "2. 申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other.other": "3. 其他", "total": "（七）总计", "carried_forward": "四、结转下年度继续办理",
}
#: The headings printed above a group of rows, by the group's key prefix ("" heads the result rows).
GROUP_LABELS = {"": "三、本年度办理结果", "refused": "（三）不予公开", "unavailable": "（四）无法提供",
                "not_handled": "（五）不予处理", "other": "（六）其他处理"}
REVIEW_LABELS = {"reconsideration": "行政复议", "litigation_direct": "行政诉讼 · 未经复议直接起诉",
                 "litigation_after_reconsideration": "行政诉讼 · 复议后起诉"}
REVIEW_COLUMN_LABELS = dict(zip(REVIEW_COLUMNS, ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计"), strict=True))
ART20_LABELS = {"regulations": "规章", "normative_documents": "规范性文件", "licensing": "行政许可",
                "other_services": "其他对外管理服务事项", "punishment": "行政处罚", "enforcement": "行政强制",
                "fees": "行政事业性收费", "procurement": "政府集中采购"}
#: Column headers; "item.column" and "TEMPLATE.column" where an item or a template prints another.
ART20_COLUMN_LABELS = {"issued": "本年制发件数", "repealed": "本年废止件数", "in_force": "现行有效件数",
                       "decisions": "本年处理决定数量", "amount": "本年收费金额（万元）", "made": "本年新制作数量",
                       "published": "本年新公开数量", "total": "对外公开总数量", "previous": "上一年项目数量",
                       "change": "本年增/减", "projects": "采购项目数量", "procurement.amount": "采购总金额",
                       "2019.decisions": "处理决定数量"}
TABLE_LABELS = {"art20": "第二十条 主动公开", "applications": "收到和处理政府信息公开申请",
                "review": "行政复议、行政诉讼"}


def _art20_column(item: str, column: str, template: str | None = None) -> str:
    labels = ART20_COLUMN_LABELS
    return labels.get(f"{item}.{column}") or labels.get(f"{template}.{column}") or labels.get(column, column)


def cell_text(value: Cell) -> str:
    """A cell as read: a number as the number, a mark as printed, a blank as nothing (never a 0)."""
    return "" if value is None else str(value)


@dataclass
class Row:
    """A row of a laid-out table: its label, its cells' keys (none for a heading), its indentation."""

    label: str
    keys: list[str] = field(default_factory=list)
    level: int = 0


@dataclass
class Grid:
    """One of the template's tables as printed: column headers, then rows."""

    columns: list[str]
    rows: list[Row]


def _application_grid(template: str, cells: dict[str, Cell]) -> Grid:
    """Rows × the seven columns, under the template's labels and group headings. A 2021 report that printed
    (六)其他处理 as one row (read as ``applications.other``) shows that heading with its numbers, the sub-rows blank."""
    one_other = template == "2021" and any(f"applications.other.{c}" in cells for c in APPLICANT_COLUMNS)
    rows: list[Row] = []
    groups: set[str] = set()
    for row in application_rows(template):
        if row == "granted":
            rows.append(Row(GROUP_LABELS[""]))
        group, dot, _ = row.partition(".")
        if dot and group not in groups:
            groups.add(group)
            numbers = [f"applications.other.{c}" for c in APPLICANT_COLUMNS] if group == "other" and one_other else []
            rows.append(Row(GROUP_LABELS[group], numbers, 1))
        level = 2 if dot else 0 if row in ("new", "carried_over", "carried_forward") else 1
        rows.append(Row(ROW_LABELS[row], [f"applications.{row}.{c}" for c in APPLICANT_COLUMNS], level))
    return Grid([COLUMN_LABELS[c] for c in APPLICANT_COLUMNS], rows)


def _art20_grids(template: str) -> list[Grid]:
    """A table per run of items sharing their columns, as the template prints 第二十条's items."""
    grids: list[Grid] = []
    for item, columns in art20_items(template).items():
        labels = [_art20_column(item, c, template) for c in columns]
        if not grids or grids[-1].columns != labels:
            grids.append(Grid(labels, []))
        grids[-1].rows.append(Row(ART20_LABELS[item], [f"art20.{item}.{c}" for c in columns]))
    return grids


def _review_grid() -> Grid:
    return Grid([REVIEW_COLUMN_LABELS[c] for c in REVIEW_COLUMNS],
                [Row(REVIEW_LABELS[b], [f"review.{b}.{c}" for c in REVIEW_COLUMNS]) for b in REVIEW_BLOCKS])


def layout(template: str, cells: dict[str, Cell]) -> list[tuple[str, list[Grid]]]:
    """The three tables (art20, applications, review), each as one or more grids."""
    return [("art20", _art20_grids(template)), ("applications", [_application_grid(template, cells)]),
            ("review", [_review_grid()])]


def key_label(key: str) -> str:
    """A key as a reader knows it: 本年新收… · 自然人."""
    table, _, rest = key.partition(".")
    row, _, column = rest.rpartition(".")
    if table == "applications":
        return f"{ROW_LABELS.get(row, row)} · {COLUMN_LABELS.get(column, column)}"
    if table == "review":
        return f"{REVIEW_LABELS.get(row, row)} · {REVIEW_COLUMN_LABELS.get(column, column)}"
    return f"{ART20_LABELS.get(row, row)} · {_art20_column(row, column)}"


def ordered_keys(present: set[str]) -> list[str]:
    """Keys of either template in the order they print: art20 (2021's items, then 2019's), the applications rows
    (the single (六) row before its sub-rows), the review blocks."""
    art20 = [k for template in ("2021", "2019") for k in keys(template) if k.startswith("art20.")]
    rows = list(application_rows("2021"))
    rows.insert(rows.index(OTHER_SUBROWS[0]), "other")
    apps = [f"applications.{r}.{c}" for r in rows for c in APPLICANT_COLUMNS]
    review = [f"review.{b}.{c}" for b in REVIEW_BLOCKS for c in REVIEW_COLUMNS]
    return [k for k in dict.fromkeys([*art20, *apps, *review]) if k in present]


# -- what the pages and the API show ------------------------------------------------------------------------
def _state(result: ParseResult | None) -> str:
    return "waiting" if result is None else "parsed" if result.state == "parsed" else "failed"


def report_row(state: ArchiveState, report: ParsedReport) -> ReportRow:
    """A listing's row: the summary columns only (a list never loads readings)."""
    source, capture = report.source, report.capture
    site = state.site(capture.site)
    return ReportRow(sha256=capture.sha256, url=capture.url, site=capture.site, site_name=site and site.name,
                     agency=report.agency, agency_kind=capture.agency_kind, year=report.year, state=_state(source),
                     error=source.error if source else None, format=source.format if source else None,
                     template=source.template if source else None,
                     checks_passed=(source.checks_passed or 0) if source else 0,
                     checks_failed=(source.checks_failed or []) if source else [],
                     checks_skipped=(source.checks_skipped or 0) if source else 0,
                     source_url=report.source_capture.url if source else None)


def reports(state: ArchiveState, site: str | None, year: int | None, failed: bool, offset: int,
            limit: int) -> ReportsPage:
    """This parser version's results (as the export and the comparison), years as the documents say them."""
    rows = [report_row(state, r) for r in state.catalog.parse_results(site=site, year=year,
                                                                      parser_version=PARSER_VERSION)]
    if failed:
        rows = [r for r in rows if r.state == "failed" or r.checks_failed]
    rows.sort(key=lambda r: (r.site, -(r.year or 0), r.agency or "", r.url))
    return ReportsPage(parser_version=PARSER_VERSION, total=len(rows), offset=offset, limit=limit,
                       queue=state.catalog.parse_counts(), reports=rows[offset:offset + limit])


def memento_path(capture: Capture) -> str:
    return f"/memento/{capture.fetched_at:%Y%m%d%H%M%S}/{capture.url}"


def _original(state: ArchiveState, capture: Capture, read_as: str | None) -> tuple[str, list[str], int | None]:
    """How the report page shows an original: framed, as a PDF's page images (their URLs), or linked. A PDF is
    what the parser found (``read_as``), else what its type or name says."""
    if (capture.content_type or "").lower().startswith(FRAMEABLE):
        return "frame", [], None
    label = kind_of(b"", capture.content_type, capture.filename or capture.url)
    if "pdf" in (read_as, label) and state.store is not None:
        try:
            count = PAGES.count(state.store, capture.sha256)
        except (StorageError, Unrenderable):
            return "link", [], None
        return "pages", [f"/reports/{capture.sha256}/pages/{n}.png" for n in range(1, shown(count) + 1)], count
    return "link", [], None


def report(state: ArchiveState, sha256: str) -> ReportOut:
    """The report whose body is ``sha256`` (its newest capture as a report, else as an attachment), or 404:
    this parser version's result, and where its tables come from (Queries.parse_results' rule)."""
    found = state.catalog.captures_of_body(sha256)
    if not found:
        raise HTTPException(404, f"no report or attachment in the archive has the body {sha256}")
    capture = next((c for c in reversed(found) if c.kind == "report"), found[-1])
    parsed = state.catalog.parsed_report(capture, PARSER_VERSION)
    result, source, original = parsed.result, parsed.source, parsed.source_capture
    reading = (source.reading or {}) if source is not None else {}
    view, images, count = _original(state, original, source.format if source else None)
    site = state.site(capture.site)
    return ReportOut(
        sha256=sha256, url=capture.url, site=capture.site, site_name=site and site.name, kind=capture.kind,
        content_type=capture.content_type, fetched_at=isoformat(capture.fetched_at), memento=memento_path(capture),
        agency=parsed.agency, agency_kind=capture.agency_kind, year=parsed.year, state=_state(source),
        error=(source.error if source else None), parser_version=result.parser_version if result else None,
        parsed_at=isoformat(source.parsed_at) if source else None,
        source_url=original.url if parsed.wrapped else None, source_sha256=source.sha256 if parsed.wrapped else None,
        source_memento=memento_path(original) if parsed.wrapped else None,
        original_view=view, original_pages=images, original_page_count=count,
        format=source.format if source else None, template=source.template if source else None,
        passed=source.passed if source else None, checks_passed=(source.checks_passed or 0) if source else 0,
        checks_failed=(source.checks_failed or []) if source else [],
        checks_skipped=(source.checks_skipped or 0) if source else 0,
        checks=[CheckOut.model_validate(c) for c in reading.get("checks") or []],
        cells=reading.get("cells") or {}, sections=reading.get("sections") or {},
        sources={name: TableSource.model_validate(where) for name, where in (reading.get("sources") or {}).items()},
        notes=reading.get("notes") or [], confidence=reading.get("confidence"))


def comparison(state: ArchiveState, site: str, agency: str | None) -> Comparison:
    found = state.catalog.parse_results(site=site, parser_version=PARSER_VERSION, readings=bool(agency))
    parsed = [r for r in found if r.source and r.source.state == "parsed"]
    sha_of = {r.capture.url: r.capture.sha256 for r in found}
    years = comparing.compare(parsed, agency) if agency else []
    return Comparison(site=site, agency=agency, agencies=comparing.agencies(parsed), years=[ComparedYear(
        year=y.year, url=y.url, sha256=sha_of[y.url], template=y.template, checks_passed=y.checks_passed,
        checks_failed=y.checks_failed, checks_skipped=y.checks_skipped, previous=y.previous, cells=y.cells,
        changed={k: {"before": before, "after": after} for k, (before, after) in y.changed.items()})
        for y in years])


def check_gloss(name: str) -> str:
    """What a check's equation says, in the template's words (its name says it to a program)."""
    kind, _, rest = name.partition(".")
    family, _, part = rest.partition(".")
    if kind == "review":
        return f"{REVIEW_LABELS.get(family, family)}: 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结"
    if family == "printed":
        return f"the {TABLE_LABELS.get(kind, kind)} table was printed"
    if family == "balance":
        return f"{COLUMN_LABELS.get(part, part)}: 本年新收 + 上年结转 = 总计 + 结转下年"
    if family == "results":
        return f"{COLUMN_LABELS.get(part, part)}: （七）总计 = the sum of the 办理结果 rows"
    if family == "row":
        return f"{ROW_LABELS.get(part, part)}: 总计 = the six applicant columns"
    return name


def failed_cells(checks: list[CheckOut]) -> dict[str, list[CheckOut]]:
    """Cell key → the failed checks that read it: what the page highlights."""
    marked: dict[str, list[CheckOut]] = {}
    for check in checks:
        if check.passed is False and not check.skipped:
            for key in check.cells:
                marked.setdefault(key, []).append(check)
    return marked


# -- the JSON API ---------------------------------------------------------------------------------------------
@api.get("/reports", response_model=ReportsPage, summary="Parsed reports: format, template, checks")
def list_reports(state: State, site: SiteQuery = None, year: YearQuery = None, failed: FailedQuery = False,
                 offset: Annotated[int, Query(ge=0)] = 0,
                 limit: Annotated[int, Query(ge=1, le=5000)] = data.PAGE_SIZE) -> ReportsPage:
    return reports(state, site, year, failed, offset, limit)


@api.get("/reports/compare", response_model=Comparison, summary="An agency's reports across years: what changed")
def get_comparison(state: State, site: Annotated[str, Query(description="a site id")],
                   agency: Annotated[str | None, Query(description="as the archive names it"), Blank] = None
                   ) -> Comparison:
    return comparison(state, site, agency)


@api.get("/reports/{sha256}", response_model=ReportOut, summary="A report's parsed content and its checks",
         responses={404: {"description": "no report or attachment has that body"}})
def get_report(state: State, sha256: Sha256) -> ReportOut:
    return report(state, sha256)


# -- the pages ------------------------------------------------------------------------------------------------
def _pager(request: Request, total: int, page: int) -> dict[str, Any]:
    def link(number: int) -> str:
        return "?" + urlencode({**request.query_params, "page": number})

    last = max(1, -(-total // data.PAGE_SIZE))
    return {"page": page, "pages": last, "prev": page > 1 and link(page - 1), "next": page < last and link(page + 1)}


@router.get("/reports")
def reports_page(request: Request, state: State, site: SiteQuery = None, year: YearQuery = None,
                 failed: FailedQuery = False, page: pages.PageNumber = 1) -> Response:
    found = reports(state, site, year, failed, (page - 1) * data.PAGE_SIZE, data.PAGE_SIZE)
    return pages.render(request, "reports.html", nav="reports", found=found, site=site or "", year=year or "",
                        failed=failed, **_pager(request, found.total, page))


@router.get("/reports/compare")
def compare_page(request: Request, state: State, site: SiteQuery = None,
                 agency: Annotated[str | None, Query(), Blank] = None,
                 changed: Annotated[bool, Query(description="only the cells that changed")] = False) -> Response:
    compared = comparison(state, site, agency) if site else None
    present = {k for y in (compared.years if compared else []) for k in y.cells}
    shown = [k for k in ordered_keys(present)
             if not changed or any(k in y.changed for y in compared.years)] if compared else []
    marked = {y.year: _failed_keys(state, y.sha256) for y in compared.years} if compared else {}
    return pages.render(request, "compare.html", nav="reports", compared=compared, site=site or "",
                        agency=agency or "", changed=changed, shown=shown, marked=marked, cell=cell_text,
                        key_label=key_label)


def _failed_keys(state: ArchiveState, sha256: str) -> set[str]:
    return set(failed_cells(report(state, sha256).checks))


@router.get("/reports/{sha256}")
def report_page(request: Request, state: State, sha256: Sha256) -> Response:
    shown = report(state, sha256)
    failing = [c for c in shown.checks if c.passed is False and not c.skipped]
    response = pages.render(request, "report.html", nav="reports", report=shown, failing=failing,
                            parser_version=PARSER_VERSION,
                            original_memento=shown.source_memento or shown.memento,
                            tables=layout(shown.template, shown.cells) if shown.template else [],
                            failed=failed_cells(shown.checks), cell=cell_text, gloss=check_gloss, sections=SECTIONS,
                            section_labels=SECTION_LABELS, table_labels=TABLE_LABELS)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@router.get("/reports/{sha256}/pages/{number}.png")
def page_image(state: State, sha256: Sha256, number: Annotated[int, Path(ge=1, le=MAX_PAGES)]) -> Response:
    """A page of an archived PDF report or attachment, drawn from its verified body (see web/originals.py)."""
    if not state.catalog.captures_of_body(sha256) or state.store is None:
        raise HTTPException(404, f"no report or attachment in the archive has the body {sha256}")
    try:
        image = PAGES.png(state.store, sha256, number)
    except IntegrityError as exc:
        raise HTTPException(500, f"refusing to draw {sha256}: {exc}") from None
    except StorageError as exc:
        raise HTTPException(503, str(exc)) from None
    except Unrenderable as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(image, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})
