"""The server's routes: pages, their JSON twins under ``/api/``, actions, downloads,
metrics and health checks. Documented in the README ("JSON API")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from databay.printable import printable_line

from databay_web.auth import LOGIN_COOKIE, SESSION_COOKIE, same_token
from databay_web.dashboard import ActionRefused, parse_states
from databay_web.server import SERVER, WebServer, check_form, json_response, static_file

PER_PAGE, MAX_PER_PAGE = 50, 200
STATIC_TYPES = {"live.js": "text/javascript", "style.css": "text/css"}
routes = web.RouteTableDef()


def add_routes(app: web.Application) -> None:
    app.add_routes(routes)


def _server(request: web.Request) -> WebServer:
    return request.app[SERVER]


def _index(request: web.Request, key: str = "index") -> int:
    """A link or batch number from the path; 404 when it is none."""
    text = request.match_info[key]
    if not text.isdigit() or len(text) > 12:
        raise web.HTTPNotFound()
    return int(text)


def _link_index(request: web.Request) -> int:
    index = _index(request)
    try:
        _server(request).dashboard.check_link(index)
    except KeyError:
        raise web.HTTPNotFound(text=f"no link {index}") from None
    return index


def _staged_index(request: web.Request) -> int:
    index = _link_index(request)
    if index not in _server(request).dashboard.stages.links:
        raise web.HTTPNotFound(text=f"link {index} has no stage")
    return index


def _number(request: web.Request, name: str, default: int, highest: int) -> int:
    text = request.query.get(name, "")
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= highest:
        raise web.HTTPBadRequest(text=f"{name}: a number from 1 to {highest}")
    return int(text)


def _query_states(request: web.Request, default: str = "") -> list[str]:
    try:
        return parse_states(request.query.get("state", default))
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


# -- pages and their JSON twins ----------------------------------------------------------


def _page_and_api(page: str, api: str, template: str, name: str,
                  read: Callable[[web.Request], Awaitable[dict[str, Any]]]) -> None:
    """Route ``page`` to ``template`` showing what ``read`` gives (as ``name``), and its twin
    ``api`` to the same data as JSON."""

    async def show(request: web.Request) -> web.Response:
        values: dict[str, Any] = {name: await read(request)}
        return _server(request).page(request, template, **values)

    async def give(request: web.Request) -> web.Response:
        return json_response(await read(request))

    routes.get(page)(show)
    routes.get(api)(give)


async def _overview(request: web.Request) -> dict[str, Any]:
    return await _server(request).dashboard.overview()


async def _link(request: web.Request) -> dict[str, Any]:
    return await _server(request).dashboard.link(_link_index(request))


async def _queue(request: web.Request) -> dict[str, Any]:
    return await _server(request).dashboard.queue()


async def _batches(request: web.Request) -> dict[str, Any]:
    index = _staged_index(request)
    states = _query_states(request)
    page = _number(request, "page", 1, 10**9)
    per_page = _number(request, "per_page", PER_PAGE, MAX_PER_PAGE)
    return await _server(request).dashboard.batches(index, states, page, per_page)


async def _batch(request: web.Request) -> dict[str, Any]:
    index = _staged_index(request)
    batch = await _server(request).dashboard.batch(index, _index(request, "batch"))
    if batch is None:
        raise web.HTTPNotFound(text="no such batch (delivered and deleted, or purged)")
    return batch


async def _log(request: web.Request) -> dict[str, Any]:
    server = _server(request)
    link_text = request.query.get("link", "")
    link = None
    if link_text:
        if not link_text.isdigit() or int(link_text) >= len(server.dashboard.names):
            raise web.HTTPBadRequest(text="link: the number of a link")
        link = int(link_text)
    after = request.query.get("after", "0")
    if not after.isdigit():
        raise web.HTTPBadRequest(text="after: a record number")
    level = request.query.get("level", "").upper()
    data = server.dashboard.log(int(after), link, level)
    return {**data, "link": link, "level": level}


for _page, _api, _template, _name, _read in (
        ("/", "/api/overview", "overview.html", "data", _overview),
        ("/links/{index}", "/api/links/{index}", "link.html", "link", _link),
        ("/queue", "/api/queue", "queue.html", "queue", _queue),
        ("/queue/{index}/batches/{batch}", "/api/queue/{index}/batches/{batch}", "batch.html", "batch", _batch),
        ("/log", "/api/log", "log.html", "log", _log)):
    _page_and_api(_page, _api, _template, _name, _read)


@routes.get("/queue/{index}")
async def batches_page(request: web.Request) -> web.Response:
    # The one page showing more than its twin's data: links to the pages before and after.
    data = await _batches(request)
    pages = {number: "?" + urlencode({"state": ",".join(data["states"]), "page": number,
                                      "per_page": data["per_page"]})
             for number in (data["page"] - 1, data["page"] + 1) if 1 <= number <= data["pages"]}
    return _server(request).page(request, "batches.html", queue=data, pages=pages)


@routes.get("/api/queue/{index}")
async def batches_api(request: web.Request) -> web.Response:
    return json_response(await _batches(request))


async def _export(request: web.Request, index: int | None) -> web.StreamResponse:
    file_format = request.query.get("format", "jsonl")
    if file_format not in ("jsonl", "csv"):
        raise web.HTTPBadRequest(text="format: jsonl or csv")
    states = _query_states(request)
    server = _server(request)
    name = "stages" if index is None else server.dashboard.names[index]
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) + f".{file_format}"
    out = await server.dashboard.stages.export(index, states, file_format)
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8" if file_format == "csv" else "application/x-ndjson",
        "Content-Disposition": f'attachment; filename="{filename}"'})
    await response.prepare(request)
    try:
        while chunk := out.read(64 * 1024):
            await response.write(chunk)
    finally:
        out.close()
    await response.write_eof()
    return response


@routes.get("/queue/{index}/export")
async def export_link(request: web.Request) -> web.StreamResponse:
    return await _export(request, _staged_index(request))


@routes.get("/queue-export")
async def export_all(request: web.Request) -> web.StreamResponse:
    return await _export(request, None)


# -- actions (POST, authenticated; forms with a CSRF token) -------------------------------


async def _act(request: web.Request, action: str) -> web.Response:
    form = await check_form(request)
    server = _server(request)
    dashboard = server.dashboard
    outlet = form.get("outlet") or None
    if outlet is not None and (not isinstance(outlet, str) or len(outlet) > 500):
        raise web.HTTPBadRequest(text="outlet: an outlet's name")
    index = _link_index(request)
    try:
        if action == "transfer":
            message = await dashboard.transfer_now(index)
        elif action in ("pause", "resume"):
            message = dashboard.pause(index, action == "pause")
        elif action == "replay":
            message = await dashboard.replay(index, outlet)
        else:
            message = await dashboard.purge(index, outlet)
    except ActionRefused as exc:
        return _answer(request, 409, str(exc), error=True)
    except Exception as exc:  # noqa: BLE001 - a failed transfer is an answer, with its reason
        return _answer(request, 500, printable_line(f"{action} failed: {type(exc).__name__}: {exc}"), error=True)
    return _answer(request, 200, printable_line(message))


def _answer(request: web.Request, status: int, message: str, error: bool = False) -> web.Response:
    """JSON for the API, else back to the page the form was on with the message shown once."""
    if request.path.startswith("/api/"):
        return json_response({"error": message} if error else {"ok": True, "message": message}, status)
    _, session = _server(request).auth.identify(request)
    if session is not None:
        session.flash = message
    back = request.path.rsplit("/", 1)[0]
    raise web.HTTPSeeOther(back if back.startswith("/links/") else f"{back}?state=dead")


def _action(name: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return await _act(request, name)

    return handler


for _name, _where in (("transfer", "links"), ("pause", "links"), ("resume", "links"), ("replay", "queue"),
                      ("purge", "queue")):
    routes.post(f"/{_where}/{{index}}/{_name}")(_action(_name))
    routes.post(f"/api/{_where}/{{index}}/{_name}")(_action(_name))


# -- logging in and out --------------------------------------------------------------------


def _next(value: Any) -> str:
    """Where to go after logging in: a path of this server only."""
    return value if isinstance(value, str) and value.startswith("/") and not value.startswith("//") else "/"


@routes.get("/login")
async def login_page(request: web.Request, message: str | None = None, status: int = 200) -> web.Response:
    import secrets

    server = _server(request)
    token = secrets.token_urlsafe(24)
    response = server.page(request, "login.html", status=status, login_csrf=token, message=message,
                           next=_next(request.query.get("next")), can_log_in=bool(server.settings.users))
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", path="/login",
                        secure=server.auth.secure_cookies, max_age=3600)
    return response


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    server = _server(request)
    form = await request.post()
    if not same_token(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        raise web.HTTPForbidden(text="refused: the login form's token is missing or wrong (reload the page)")
    client = request.remote or "?"
    if server.auth.throttled(client):
        return await login_page(request, "Too many failed logins: wait a minute.", 429)
    user, password = form.get("user"), form.get("password")
    if not (isinstance(user, str) and isinstance(password, str) and len(user) <= 200 and len(password) <= 1024) \
            or not await server.auth.check_password(client, user, password):
        return await login_page(request, "Wrong user name or password.", 401)
    session_id, _ = server.auth.sessions.new(user)
    response = web.HTTPSeeOther(_next(form.get("next")))
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Strict", path="/",
                        secure=server.auth.secure_cookies, max_age=int(server.settings.session_seconds))
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    await check_form(request)
    server = _server(request)
    server.auth.sessions.end(request.cookies.get(SESSION_COOKIE))
    response = web.HTTPSeeOther("/")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


# -- metrics, health, static files -----------------------------------------------------------


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    from databay_web.metrics import exposition

    server = _server(request)
    if server.collector is None:
        raise web.HTTPNotFound(text="no metrics: the pipeline does not run here")
    server.collector.backlogs = await server.dashboard.stages.backlogs()
    body = await exposition(server.collector)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    server = _server(request)
    ready, why = server.dashboard.health()
    if server.settings.login_required and server.auth.identify(request)[0] is None:
        why = "ready" if ready else "not ready"  # the reason may name a link: only for those who may look
    return web.Response(text=printable_line(why) + "\n", status=200 if ready else 503)


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Cache-Control": "max-age=86400"})


@routes.get("/static/{name}")
async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_TYPES:
        raise web.HTTPNotFound()
    return web.Response(body=static_file(name), content_type=STATIC_TYPES[name],
                        headers={"Cache-Control": "max-age=300"})
