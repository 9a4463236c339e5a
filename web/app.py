"""The server behind ``nianbao serve``: the dashboard, its JSON API, /metrics and /healthz.

Each concern is a router (pages, api, memento with CDX, metrics), gathered in
:func:`create_app`. Every answer carries headers that keep pages from being framed,
cached or leaking URLs to other sites, and a Content-Security-Policy that allows only this
server's own stylesheet and script.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select
from starlette.exceptions import HTTPException

from archive.catalog import Catalog, Run
from archive.storage import ObjectStore, open_store
from crawler.registry import Registry
from nianbao.config import Config

from . import api, fleet, memento, metrics, pages, reports
from .auth import LoginRequired, Throttle, TokenAuth, login_url, require_token
from .models import Health
from .state import ArchiveState, State

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
                               "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(config: Config, registry: Registry, token: str, *, catalog: Catalog | None = None,
               store: ObjectStore | None = None, as_of: date | None = None,
               lockout_delay: float | None = None) -> FastAPI:
    """The app over an existing archive; opening it raises CatalogError/StorageError rather than create one."""
    catalog = catalog or Catalog(config.catalog, create=False)
    store = store or open_store(config, create=False)
    app = FastAPI(title="nianbao", version="1", summary="Runs, sites, failures and coverage of the nianbao archive",
                  docs_url=None, redoc_url=None,  # their pages load scripts from a CDN; /openapi.json is enough
                  openapi_url=None)  # served below, behind the token like the API it describes
    app.state.archive = ArchiveState(config, registry, catalog, store, as_of)
    app.state.auth = TokenAuth(token, Throttle() if lockout_delay is None else Throttle(lockout_delay))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in (pages.public, pages.router, reports.router, fleet.router, api.router, reports.api, fleet.api,
                   memento.router, metrics.router):
        app.include_router(router)

    @app.get("/healthz", response_model=Health, tags=["operations"], summary="Health check (open: no token)")
    def healthz(state: State) -> Health:
        with state.catalog.sessions() as session:  # the catalog answers, or this is a 500
            return Health(status="ok", runs=session.scalar(select(func.count()).select_from(Run)) or 0)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_token)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)  # a memento's own, stricter policy stands
        if request.url.path.startswith("/memento/"):  # framed (sandboxed) beside its parsed tables: /reports/…
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"  # archive state behind a token: never in a shared cache
        location = urlsplit(response.headers.get("location", ""))
        # A redirect built from the Host header (Starlette's /runs/ → /runs) goes where a forged Host says: relative.
        if location.netloc and location.netloc == request.headers.get("host"):
            response.headers["location"] = urlunsplit(("", "", location.path, location.query, location.fragment))
        return response

    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    return app


async def _to_login(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), 303)


async def _http_error(request: Request, exc: Exception) -> Response:
    """JSON for the API (as FastAPI does), a page for people (also for paths that do not exist)."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    return pages.render(request, "error.html", exc.status_code, message=exc.detail, nav=None)


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": jsonable_encoder(exc.errors())}, 422)
    return pages.render(request, "error.html", 422, message="That address has a value this page cannot use.",
                        nav=None)
