"""The review web app: Starlette routes behind a token, served by uvicorn on loopback."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import review
from ..config import Config
from ..errors import EdgeError
from . import images, pages

TOKEN_HEADER = "x-edge-token"
# the page loads only what it serves itself; the token in its URLs never travels in a Referer
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TokenGuard:
    """Every request (pages, images, static files, POSTs) carries the token, in ?token= or the X-Edge-Token header.

    No cookie: another page in the same browser cannot post to the app, since it cannot know the token.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            given = request.query_params.get("token") or request.headers.get(TOKEN_HEADER) or ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                await PlainTextResponse("403: this page needs the token in the URL `edge review serve` printed",
                                        status_code=403, headers=HEADERS)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ReviewApp:
    def __init__(self, config: Config, token: str) -> None:
        self.config, self.token = config, token
        self.root = review.review_dir(config)
        self.env = Environment(loader=PackageLoader("edge.webreview", "templates"), autoescape=select_autoescape())
        self.env.globals["url"] = self.url

    def url(self, route: str, /, **params: Any) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "")}
        return f"{route}?{urlencode({**query, 'token': self.token})}"

    def html(self, template: str, status: int = 200, **values: Any) -> Response:
        body = self.env.get_template(template).render(**values)
        return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=HEADERS)

    def not_found(self) -> Response:
        return PlainTextResponse("404: not waiting for review here", status_code=404, headers=HEADERS)

    # -- routes ---------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        pending = review.queue(self.config)
        reason = request.query_params.get("reason") or None
        return self.html("queue.html", rows=pages.queue_rows(self.root, pending, reason), reasons=pages.all_reasons(pending),
                         reason=reason, total=len(pending), folder=str(self.root))

    async def file(self, request: Request, error: str | None = None, form: dict[str, str] | None = None) -> Response:
        pending = review.queue(self.config)
        rel = request.query_params.get("path")
        item = pages.locate(self.root, rel, pending)
        if item is None or rel is None:
            return self.not_found()
        reason = request.query_params.get("reason") or None
        order = [row["rel"] for row in pages.queue_rows(self.root, pending, reason)]
        before, after = pages.neighbours(order, rel)
        media_type = (item.doc.get("source") or {}).get("media_type")
        fields = pages.fields(item.doc)
        for entry in fields:
            entry.shown = (form or {}).get(pages.FIELD_PREFIX + entry.name, entry.shown)  # what the person typed, kept
        return self.html("file.html", status=400 if error else 200, item=item, rel=rel, reason=reason,
                         fields=fields, general=pages.general_reasons(item.doc), error=error,
                         pages=range(1, images.page_count(item.file, media_type) + 1), before=before, after=after,
                         position=order.index(rel) + 1 if rel in order else None, count=len(order))

    async def page_image(self, request: Request) -> Response:
        item = pages.locate(self.root, request.query_params.get("path"), review.queue(self.config))
        try:
            index = int(request.query_params.get("n", "1")) - 1
        except ValueError:
            return self.not_found()
        if item is None:
            return self.not_found()
        data = images.render(item.file, (item.doc.get("source") or {}).get("media_type"), index)
        if data is None:
            return self.not_found()
        return Response(data, media_type="image/jpeg", headers=HEADERS)

    async def save(self, request: Request) -> Response:
        """Accept as it is, or save the corrections: edge.review.accept, as `edge review accept` does."""
        pending = review.queue(self.config)
        rel = request.query_params.get("path")
        item = pages.locate(self.root, rel, pending)
        if item is None:
            return self.not_found()
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return PlainTextResponse("415: send the review form", status_code=415, headers=HEADERS)
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True).items()}
        reason = request.query_params.get("reason") or None
        _, after = pages.neighbours([row["rel"] for row in pages.queue_rows(self.root, pending, reason)], rel or "")
        corrected = pages.corrections(item.doc.get("result") or {}, form) if form.get("action") == "save" else {}
        try:
            review.accept(self.config, item.file, corrected_values=corrected)
        except EdgeError as exc:
            return await self.file(request, error=str(exc), form=form)
        target = self.url("/file", path=after, reason=reason) if after else self.url("/", reason=reason)
        return RedirectResponse(target, status_code=303, headers=HEADERS)

    def starlette(self) -> Starlette:
        static = StaticFiles(packages=[("edge.webreview", "static")])
        routes = [Route("/", self.queue), Route("/file", self.file), Route("/page", self.page_image),
                  Route("/save", self.save, methods=["POST"]), Mount("/static", static, name="static")]
        return Starlette(routes=routes, middleware=[Middleware(TokenGuard, token=self.token)])


def create_app(config: Config, token: str | None = None) -> tuple[Starlette, str]:
    """The app and its token (a fresh random one unless given)."""
    token = token or secrets.token_urlsafe(24)
    return ReviewApp(config, token).starlette(), token


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the URL is printed (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(64)
    return sock


def page_url(sock: socket.socket, host: str, token: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def serve(app: Starlette, sock: socket.socket) -> None:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    server.run(sockets=[sock])
