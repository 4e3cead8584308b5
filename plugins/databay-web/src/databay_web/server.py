"""The aiohttp server: the application, its middlewares (security headers, authentication,
CSRF, errors), and starting it on a socket already listening.

Pages are Jinja2 templates rendered on the server (readable without JavaScript);
``static/live.js`` only refreshes them from the JSON API. Requests are bounded
(:data:`MAX_REQUEST_BYTES`), nothing changes over GET, and every response says
``Cache-Control: no-store`` and carries a strict Content Security Policy.
"""

from __future__ import annotations

import datetime
import json
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web
from databay.pipeline import PipelineSpec
from databay.redaction import redact

from databay_web.auth import Auth, Identity, same_token
from databay_web.dashboard import Dashboard
from databay_web.monitor import Monitor
from databay_web.settings import WebSettings

_LOGGER = logging.getLogger("databay.web")
MAX_REQUEST_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
OPEN_PATHS = ("/healthz", "/readyz", "/login", "/static/")
"""Paths anyone may request, even when viewing needs a login."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVER: web.AppKey[WebServer] = web.AppKey("server")


class WebServer:
    """The dashboard's server for ``spec`` (running, with ``monitor``; or not, without).

    :param settings: where and how to serve.
    """

    def __init__(self, settings: WebSettings, spec: PipelineSpec, monitor: Monitor | None = None):
        from databay_web import routes
        from databay_web.metrics import PipelineCollector

        self.settings = settings
        self.dashboard = Dashboard(settings, spec, monitor)
        self.auth = Auth(settings)
        self.collector = (PipelineCollector(monitor, dict(enumerate(self.dashboard.names)), self.dashboard.gate)
                          if monitor else None)
        self.templates = _templates()
        self.app = web.Application(client_max_size=MAX_REQUEST_BYTES,
                                   middlewares=[self._headers, self._authenticate])
        self.app[SERVER] = self
        routes.add_routes(self.app)
        self._runner: web.AppRunner | None = None
        self.url = settings.address.url(settings.scheme)

    async def start(self, sock: socket.socket) -> None:
        """Serve on ``sock`` (listening), on the running loop."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        context = None
        if self.settings.tls_cert:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.settings.tls_cert, self.settings.tls_key)
        site = web.SockSite(self._runner, sock, ssl_context=context)
        await site.start()
        self.url = type(self.settings.address)(self.settings.address.host, sock.getsockname()[1]).url(
            self.settings.scheme)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.dashboard.close()

    # -- rendering -------------------------------------------------------------------

    def page(self, request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
        """``template`` rendered with ``values``, and what every page needs (who is logged
        in, the CSRF token, a message left by the last action)."""
        identity, session = self.auth.identify(request)
        flash = None
        if session is not None and session.flash:
            flash, session.flash = session.flash, None
        html = self.templates.get_template(template).render(
            identity=identity, csrf=session.csrf if session else "", flash=flash,
            auth=self.auth.enabled, running_here=self.dashboard.running_here,
            source=self.dashboard.spec.source, path=request.path, **values)
        return web.Response(text=redact(html), content_type="text/html", status=status)

    # -- middlewares -------------------------------------------------------------------

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type == "application/json":
                for name, value in SECURITY_HEADERS.items():
                    exc.headers.setdefault(name, value)
                raise
            else:  # our message, or the status's reason
                message = exc.reason if exc.text == f"{exc.status}: {exc.reason}" else exc.text or exc.reason
                response = self._error(request, exc.status, message)
                if "WWW-Authenticate" in exc.headers:
                    response.headers["WWW-Authenticate"] = exc.headers["WWW-Authenticate"]
        except Exception:  # noqa: BLE001 - logged, never shown (it may hold anything)
            _LOGGER.exception("web: %s %s failed", request.method, request.path)
            response = self._error(request, 500, "Internal error (see the log)")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def _error(self, request: web.Request, status: int, message: str) -> web.Response:
        if request.path.startswith("/api/"):
            return json_response({"error": message}, status)
        return self.page(request, "error.html", status=status, status_code=status, message=message)

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        identity, session = self.auth.identify(request)
        api = request.path.startswith("/api/") or request.path == "/metrics"
        if request.method not in ("GET", "HEAD"):
            if request.path != "/login":
                self._check_action(request, identity, api)
        elif (self.settings.login_required and identity is None
              and not request.path.startswith(OPEN_PATHS)):
            if api:
                raise web.HTTPUnauthorized(text=json.dumps({"error": "log in or send a bearer token"}),
                                           content_type="application/json",
                                           headers={"WWW-Authenticate": "Bearer"})
            raise web.HTTPSeeOther(f"/login?next={_quote(request.path_qs)}")
        return await handler(request)

    def _check_action(self, request: web.Request, identity: Identity | None, api: bool) -> None:
        """Changing something needs a user (or the token), and from a form the session's
        CSRF token and this server as its origin."""
        if not self.auth.enabled:
            raise web.HTTPForbidden(text="actions need authentication: configure users_file (or "
                                         "$DATABAY_WEB_USERS) or token for the web service")
        if identity is None:
            if api:
                raise web.HTTPUnauthorized(text=json.dumps({"error": "send a bearer token"}),
                                           content_type="application/json", headers={"WWW-Authenticate": "Bearer"})
            raise web.HTTPSeeOther(f"/login?next={_quote(_back(request))}")
        if identity.by_token:
            return
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            raise web.HTTPForbidden(text="refused: the request comes from another site")


def json_response(data: Any, status: int = 200) -> web.Response:
    """``data`` as JSON, redacted."""
    return web.Response(text=redact(json.dumps(data, default=str)), status=status, content_type="application/json")


def _back(request: web.Request) -> str:
    """The page of this server a form was sent from (its ``Referer``), else ``/``."""
    from urllib.parse import urlsplit

    referer = urlsplit(request.headers.get("Referer", "/"))
    if referer.netloc and referer.netloc != request.host:
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "") if referer.path.startswith("/") else "/"


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")


def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("databay_web", "templates"),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters.update(when=format_time, seconds=format_seconds, count=format_count,
                               data=lambda value: json.dumps(value, default=str, ensure_ascii=True))
    return environment


def format_time(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def format_count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def static_file(name: str) -> bytes:
    """A file of ``databay_web/static``."""
    return resources.files("databay_web").joinpath("static", name).read_bytes()


async def check_form(request: web.Request) -> Any:
    """The posted form, once its CSRF token is the session's (bearer-token requests need none).

    :raises web.HTTPForbidden: a missing or wrong CSRF token.
    """
    form = await request.post()
    identity, session = request.app[SERVER].auth.identify(request)
    if identity is not None and identity.by_token:
        return form
    if not same_token(form.get("csrf"), session.csrf if session is not None else None):
        raise web.HTTPForbidden(text="refused: the form's CSRF token is missing or wrong (reload the page)")
    return form
