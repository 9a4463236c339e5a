"""The dashboard's HTML pages: server-rendered from the same data the API returns.

No page needs JavaScript to be read; one small script (static/live.js) refreshes the figures
of running runs from the API while a page is open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from archive import overview
from archive.catalog import RUN_STATUSES
from archive.runlogs import LEVELS

from . import data
from .api import FoundRun, FromYear, LogFilters, Offset, RunNumber, SiteFilters
from .auth import COOKIE, LockedOut, require_session, safe_next
from .formatting import FILTERS
from .state import ArchiveState, State

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters.update(FILTERS)

PageNumber = Annotated[int, Query(ge=1)]

public = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state: ArchiveState = request.app.state.archive
    context.setdefault("today", state.today())
    return templates.TemplateResponse(request, name, context, status_code=status_code)


# -- signing in ---------------------------------------------------------------------------------
@public.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    if request.app.state.auth.valid_session(request.cookies.get(COOKIE)):
        return RedirectResponse(safe_next(next), 303)
    return render(request, "login.html", nav=None, next=safe_next(next))


@public.post("/login")
def login(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:
    auth = request.app.state.auth
    try:
        valid = auth.attempt(request, token)
    except LockedOut as exc:
        response = render(request, "login.html", 429, nav=None, next=safe_next(next), error=str(exc))
        response.headers.update(exc.headers)
        return response
    if not valid:
        return render(request, "login.html", 401, nav=None, next=safe_next(next),
                      error="That is not the dashboard token.")
    value, seconds = auth.session()
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(COOKIE, value, max_age=seconds, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@public.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


# -- the dashboard --------------------------------------------------------------------------------
@router.get("/")
def home(request: Request, state: State) -> Response:
    return render(request, "overview.html", nav="overview", running=data.runs(state, status="running", limit=1000),
                  recent=data.runs(state, limit=15), flags=data.flags(state),
                  failures=data.failures(state, per_reason=3), totals=overview.totals(state.catalog))


@router.get("/runs")
def runs_page(request: Request, state: State, site: str | None = None, status: str | None = None) -> Response:
    status = status if status in RUN_STATUSES else None
    return render(request, "runs.html", nav="runs", runs=data.runs(state, site=site or None, status=status, limit=200),
                  site=site or "", status=status or "", statuses=RUN_STATUSES)


@router.get("/runs/{run_id}")
def run_page(request: Request, run: FoundRun) -> Response:
    return render(request, "run.html", nav="runs", run=run)


@router.get("/runs/{run_id}/log")
def log_page(request: Request, state: State, run: FoundRun, filters: LogFilters, offset: Offset = 0) -> Response:
    try:
        page, missing = data.run_log(state, run, filters, offset, limit=500), None
    except FileNotFoundError as exc:
        page, missing = None, str(exc)
    more = page and page.more and "?" + urlencode({**request.query_params, "offset": page.next_offset})
    return render(request, "log.html", nav="runs", run=run, page=page, missing=missing, filters=filters,
                  more=more, levels=LEVELS, events=("started", "archived", "failed", "ended"))


@router.get("/sites")
def sites_page(request: Request, state: State, filters: SiteFilters, page: PageNumber = 1) -> Response:
    found = data.sites(state, filters, (page - 1) * data.PAGE_SIZE)
    return render(request, "sites.html", nav="sites", found=found, filters=filters,
                  **_paging(request, state, found.total, page))


@router.get("/coverage")
def coverage_page(request: Request, state: State, filters: SiteFilters, page: PageNumber = 1,
                  since: FromYear = None) -> Response:
    found = data.coverage(state, filters, (page - 1) * data.PAGE_SIZE, since=since)
    return render(request, "coverage.html", nav="coverage", found=found, filters=filters,
                  from_years=range(found.first_year, found.years[-1] + 1), **_paging(request, state, found.total, page))


@router.get("/failures")
def failures_page(request: Request, state: State, run: RunNumber = None, site: str | None = None) -> Response:
    groups = data.failures(state, run, site or None, per_reason=200)
    return render(request, "failures.html", nav="failures", groups=groups, run=run, site=site or "")


def _paging(request: Request, state: ArchiveState, total: int, page: int) -> dict[str, Any]:
    """Previous/next links that keep the filters; the provinces for the filter form."""
    def link(number: int) -> str:
        return "?" + urlencode({**request.query_params, "page": number})

    last = max(1, -(-total // data.PAGE_SIZE))
    return {"page": page, "pages": last, "prev": page > 1 and link(page - 1), "next": page < last and link(page + 1),
            "provinces": sorted({s.province for s in state.registry.sites if s.province})}
