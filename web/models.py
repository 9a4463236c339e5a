"""The JSON API's answers, as models: FastAPI checks every answer against them and OpenAPI describes them.

Timestamps are UTC strings as the CLI prints them (``2024-03-01T08:00:00.123456Z``), so a
script can mix ``nianbao runs list --json`` and the API.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["running", "finished", "failed", "cancelled"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Figures(BaseModel):
    """A run's figures (crawler/runfigures.py); a running run's are those so far."""

    model_config = ConfigDict(extra="allow")  # figures added to the crawler later pass through
    requests: int = 0
    responses: dict[str, int] = Field(default_factory=dict, description="responses by HTTP status")
    rendered: int = Field(0, description="pages rendered in Chromium")
    reports: int = 0
    new_reports: int = Field(0, description="report URLs never captured before")
    new_versions: int = Field(0, description="reports and attachments whose body changed")
    attachments: int = 0
    list_pages: int = 0
    objects_stored: int = Field(0, description="bodies the archive did not hold before")
    bytes_stored: int = 0
    errors: int = 0
    errors_by_reason: dict[str, int] = Field(default_factory=dict)
    sites: dict[str, dict[str, int]] = Field(default_factory=dict, description="per site: reports, attachments, …")
    busiest_second: int = Field(0, description="the most requests any one host was sent in one second")
    busiest_second_by_host: dict[str, int] = Field(default_factory=dict, description="… per host, busiest first")
    stopped: str | None = Field(None, description="why the crawl was stopped early")
    finish_reason: str | None = None


class RunOut(BaseModel):
    id: int
    trigger: str
    sites: list[str]
    status: RunStatus
    started_at: str | None
    finished_at: str | None
    updated_at: str | None = Field(description="when the figures were last written")
    seconds: float | None = Field(description="how long it ran (so far, for a running run)")
    stalled: bool = Field(description="running, but its figures have not moved for a while: its crawl may be gone")
    host: str | None
    pid: int | None
    log_sha256: str | None = Field(description="the run's log in object storage, once it ended")
    stats: Figures


class LogLine(BaseModel):
    model_config = ConfigDict(extra="allow")
    time: str | None = None
    level: str | None = None
    site: str | None = None
    url: str | None = None
    event: str | None = None
    reason: str | None = None
    message: str | None = None


class LogPage(BaseModel):
    run: int
    lines: list[LogLine]
    next_offset: int = Field(description="pass as offset to read on (the next page, or lines written since)")
    more: bool = Field(description="more matching lines may follow next_offset")


class RunRefOut(BaseModel):
    id: int
    status: RunStatus
    started_at: str | None
    finished_at: str | None


class FlagOut(BaseModel):
    site: str
    name: str | None
    province: str | None
    kind: Literal["missing", "failing"] = Field(
        description="missing: reports last year, none this year after the deadline; failing: crawls bring nothing")
    detail: str


class SiteOut(BaseModel):
    id: str
    name: str
    province: str | None
    prefecture: str | None
    home: str
    last_run: RunRefOut | None
    last_success: str | None = Field(description="when the site last gave the archive anything")
    last_success_run: int | None
    reports: int = Field(description="distinct reports archived for report_year")
    reports_previous: int = Field(description="distinct reports archived for the year before")
    flags: list[FlagOut]


class SitesPage(BaseModel):
    report_year: int = Field(description="the report year published this spring (last year)")
    total: int = Field(description="sites matching the filters")
    offset: int
    limit: int
    sites: list[SiteOut]


class CoverageRow(BaseModel):
    id: str
    name: str
    province: str | None
    prefecture: str | None
    reports: dict[int, int] = Field(description="report year → distinct reports archived")
    flags: list[FlagOut]


class CoveragePage(BaseModel):
    years: list[int] = Field(description="every report year archived through last year's, from `from` if given")
    first_year: int = Field(description="the grid's first year without `from`: the earliest archived, or earlier")
    due_year: int = Field(description="the latest report year whose deadline (31 March after it) has passed")
    total: int
    offset: int
    limit: int
    sites: list[CoverageRow]


class FailureOut(BaseModel):
    site: str
    url: str
    kind: str | None
    reason: str
    at: str | None
    run: int | None


class FailureGroupOut(BaseModel):
    reason: str = Field(description="the reason's class: HTTP 404, timed out, not archived …")
    count: int
    sites: list[str]
    failures: list[FailureOut] = Field(description="the newest ones, with their URLs")


class Health(BaseModel):
    status: Literal["ok"]
    runs: int


# -- parsed reports (web/reports.py) ----------------------------------------------------------------
#: A template cell as read: the number printed, the exact mark printed where none is ("/", "无"), or null for blank.
Cell = int | float | str | None
ParseState = Literal["waiting", "parsed", "failed"]


class ReportRow(BaseModel):
    sha256: str = Field(description="the report's archived body: /api/reports/{sha256}")
    url: str
    site: str
    site_name: str | None
    agency: str | None = Field(description="as the document names it, else as the crawl judged it")
    agency_kind: str | None
    year: int | None = Field(description="as the document says it, else as the crawl judged it")
    state: ParseState = Field(description="waiting for this parser version, parsed, or failed (see error)")
    error: str | None
    format: str | None
    template: str | None = Field(description="2021 or 2019; null: the document does not follow the template")
    checks_passed: int
    checks_failed: list[str] = Field(description="the names of the checks that failed")
    checks_skipped: int = Field(description="checks that could not be computed (a cell blank or a mark)")
    source_url: str | None = Field(description="where the tables were read: the report, or the attachment it wraps")


class ReportsPage(BaseModel):
    parser_version: int = Field(description="whose results these are: this nianbao's parser")
    total: int = Field(description="reports matching the filters")
    offset: int
    limit: int
    queue: dict[str, int] = Field(description="parse requests (reports and attachments) by state")
    reports: list[ReportRow]


class CheckOut(BaseModel):
    name: str = Field(description="e.g. applications.balance.natural_person")
    passed: bool | None = Field(description="null: the check could not be computed")
    skipped: bool = Field(False, description="not computed: a cell it reads is blank or a mark")
    cells: dict[str, Cell] = Field(description="the cells the equation reads")
    detail: str = Field(description="the equation with the numbers put in: 3 + 1 ≠ 2 + 1")


class TableSource(BaseModel):
    model_config = ConfigDict(extra="allow")
    where: str = Field(description="table 2, page 3–4 …, or text (read from the document's lines)")
    pages: list[int] = Field(default_factory=list)
    rows: list[int] = Field(default_factory=list, description="the first and last row of the grid (or line) read")


class ReportOut(BaseModel):
    sha256: str
    url: str
    site: str
    site_name: str | None
    kind: str
    content_type: str | None
    fetched_at: str | None
    memento: str = Field(description="the archived original, as served by /memento")
    agency: str | None
    agency_kind: str | None
    year: int | None
    state: ParseState
    error: str | None
    parser_version: int | None
    parsed_at: str | None
    source_url: str | None = Field(description="the attachment the report only wraps, whose tables these are")
    source_sha256: str | None
    source_memento: str | None
    original_view: Literal["frame", "pages", "link"] = Field(
        description="how the page shows the original the tables were read from (the attachment, for a page that "
        "wraps one): framed (HTML, text, images), as page images (a PDF), or a link to its memento")
    original_pages: list[str] = Field(description="a PDF's page images, the first ones")
    original_page_count: int | None = Field(description="a PDF's pages")
    format: str | None
    template: str | None
    passed: bool | None = Field(description="every check that ran passed (null: not parsed, or none could run)")
    checks_passed: int
    checks_failed: list[str]
    checks_skipped: int
    checks: list[CheckOut]
    cells: dict[str, Cell] = Field(description="template key → cell, every key of the template")
    sections: dict[str, str] = Field(description="the six sections' text")
    sources: dict[str, TableSource] = Field(description="table (art20, applications, review) → where it was read")
    notes: list[str]
    confidence: float | None = Field(description="mean OCR confidence, when the text was recognised from pixels")


class CellChange(BaseModel):
    before: Cell
    after: Cell


class ComparedYear(BaseModel):
    year: int
    url: str
    sha256: str
    template: str | None
    checks_passed: int
    checks_failed: list[str]
    checks_skipped: int
    previous: int | None = Field(description="the year compared with: the latest earlier one parsed")
    changed: dict[str, CellChange] = Field(description="every key whose cell differs from the previous year's")
    cells: dict[str, Cell]


class Comparison(BaseModel):
    site: str
    agency: str | None
    agencies: list[str] = Field(description="the agencies of the site's parsed reports")
    years: list[ComparedYear] = Field(description="oldest first, the newest report of each year")
