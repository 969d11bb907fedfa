"""What the server lets in: changes only from its own pages, the access token when one is
set, and a per-client rate limit on the endpoints that cost an answer.

Each is a check on a request that either passes or gives the response that refuses it.
"""

from __future__ import annotations

import hmac
import math
import time
from urllib.parse import urlparse

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from limits import RateLimitItemPerMinute, storage, strategies

JSON_PATHS = ("/api/", "/healthz")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
COOKIE = "qa_token"
OPEN_PATHS = ("/login", "/static/", "/healthz")   # reachable without the token
COSTLY_PATHS = ("/api/ask", "/api/search", "/turn")  # each request costs an answer (so does asking on /)
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PATHS)


def refuse(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """A refusal as the client reads it: JSON for the API, a short text page otherwise."""
    if wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    return Response(detail, status_code=status, media_type="text/plain; charset=utf-8", headers=headers)


def cross_site(request: Request) -> Response | None:
    """A change (POST, DELETE, ...) sent by another site's page: refused, 403. A browser says
    where a request comes from (`Sec-Fetch-Site`, `Origin`); tools that say nothing pass."""
    if request.method not in CHANGING:
        return None
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    foreign = site == "cross-site" or (origin is not None and origin != "null"
                                       and urlparse(origin).netloc != request.headers.get("host"))
    return refuse(request, 403, "changes are only accepted from this server's own pages") if foreign else None


def has_token(request: Request, token: str) -> bool:
    """Whether the request carries `token`: the cookie the login page sets, or a Bearer header."""
    given = request.cookies.get(COOKIE, "")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given = value.strip()
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def without_token(request: Request, token: str) -> Response | None:
    """A request without the access token: 401 for the API, the login page for a person."""
    if not token or request.url.path.startswith(OPEN_PATHS) or has_token(request, token):
        return None
    if wants_json(request) or request.method != "GET":
        return refuse(request, 401, "this server needs its access token: send 'Authorization: Bearer <token>'",
                      {"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={target}", status_code=303)


class RateLimit:
    """At most `per_minute` costly requests per client address in any minute (a moving window,
    from the `limits` library); loopback clients are the machine's own user and pass."""

    def __init__(self, per_minute: int):
        self.item = RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        self.limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def __call__(self, request: Request) -> Response | None:
        host = request.client.host if request.client else ""
        if self.item is None or is_loopback(host) or not is_costly(request):
            return None
        if self.limiter.hit(self.item, host):
            return None
        reset = self.limiter.get_window_stats(self.item, host).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return refuse(request, 429, f"too many questions from {host}: wait {wait} s and ask again",
                      {"Retry-After": str(wait)})


def is_costly(request: Request) -> bool:
    path = request.url.path
    if path == "/":
        return request.method == "POST" or "q" in request.query_params
    return path.startswith(COSTLY_PATHS)


def safe_next(target: str) -> str:
    """Where the login page may send a person back to: a path of this server, else '/'."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"
