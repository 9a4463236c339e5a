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
