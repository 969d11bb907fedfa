"""The FastAPI app and `serve`: build or update the index, load it once, serve it."""

from __future__ import annotations

import json
import secrets
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeSerializer

from qa import QAError, Settings
from qa.embedding import Encoder
from qa.language import Analyser
from qa.settings import DEFAULT
from qa.store import Store, open_store
from qa.watch import watch as watch_seeds
from web import api, guard, pages
from web.conversation import message
from web.state import IndexBuilding, follow, load_retriever, new_state, rebuild

STATIC = Path(__file__).parent / "static"


def create_app(index_dir: str | Path | Store = "index", seeds_dir: str | Path | None = "seeds",
               watch: bool = False, settings: Settings = DEFAULT, build: bool = False,
               encoder: Encoder | None = None, analyser: Analyser | None = None, token: str = "") -> FastAPI:
    """The web app over the index in `index_dir` (a folder, a postgresql:// URL or a `Store`); the
    Retriever opens once, on first use, and follows the versions other processes write.

    With `build`, the app indexes `seeds_dir` as it starts, in the background: it listens at
    once, answers from the previous index version meanwhile (or says how far the first
    build is), and swaps the new version in when it is done. With `watch`, it then rebuilds
    whenever `seeds_dir` changes; requests in flight finish on the version they started
    with. `encoder` and `analyser` default to the packaged models. With `token`, every
    request but the login page, static files and /healthz must carry it (see `web.guard`).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        threading.Thread(target=follow, args=(app, stop), name="qa-follower", daemon=True).start()
        if seeds_dir and (build or watch):
            threading.Thread(target=keep_indexed, args=(app, build, watch, stop), name="qa-indexer",
                             daemon=True).start()
        yield
        stop.set()
        if isinstance(index_dir, str | Path):  # a store the app opened itself, not one it was handed
            app.state.store.close()

    app = FastAPI(title="qa", summary="Extractive answers from a folder of sources, with their offsets.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.store = open_store(index_dir, settings)
    app.state.seeds_dir = Path(seeds_dir) if seeds_dir else None
    app.state.settings = settings
    app.state.encoder, app.state.analyser = encoder, analyser
    new_state(app)
    app.state.watching = bool(watch and seeds_dir)
    app.state.indexing.running = build and seeds_dir is not None  # from the start: no lazy open meanwhile
    rate_limit = guard.RateLimit(settings.serve.rate_per_minute)

    @app.middleware("http")
    async def checks(request: Request, call_next):
        refused = guard.cross_site(request) or guard.without_token(request, token) or rate_limit(request)
        return refused or await call_next(request)

    app.state.token = token
    app.state.signer = URLSafeSerializer(token or secrets.token_hex(32), salt="qa-turn")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_exception_handler(QAError, qa_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    return app


def keep_indexed(app: FastAPI, build: bool, watch: bool, stop: threading.Event) -> None:
    """The app's indexer thread: the first build (with `build`), then rebuilds on changes (with `watch`).

    A previous index version is opened first, so it answers while the first build runs.
    """
    state = app.state
    if build:
        try:
            if state.store.live_version():
                load_retriever(app)
        except QAError as error:
            print(f"qa serve: the previous index cannot be used ({message(error)}); building", flush=True)
        rebuild(app)
    if watch:
        watch_seeds(state.seeds_dir, lambda: rebuild(app), stop=stop, settings=state.settings)


class ServeRefused(QAError):
    """`qa serve` asked to do something unsafe."""

    exit_code = 2


def qa_error(request: Request, error: Exception) -> Response:
    """Every `QAError` as a response with its HTTP status: `{"detail": message}` for the JSON
    API and /healthz, the error page for the other pages."""
    status = error.status if isinstance(error, QAError) else 500
    if guard.wants_json(request):
        return JSONResponse({"detail": message(error)}, status_code=status)
    if isinstance(error, IndexBuilding):
        return pages.templates.TemplateResponse(request, "building.html", {
            "progress": error.progress, "message": message(error)}, status_code=status)
    return pages.templates.TemplateResponse(request, "error.html", {
        "title": "No index" if status == 503 else "Error", "message": message(error)}, status_code=status)


def invalid_request(request: Request, error: Exception) -> Response:
    """FastAPI's 422 for a request its models refuse, written as ASCII JSON: the errors repeat the
    input, and a lone surrogate there (a JSON escape such as "\\ud800") has no UTF-8 form, so
    FastAPI's own handler failed with a 500 and a broken connection."""
    errors = error.errors() if isinstance(error, RequestValidationError) else []
    return Response(json.dumps({"detail": jsonable_encoder(errors)}, ensure_ascii=True), status_code=422,
                    media_type="application/json")


def serve(index_dir: str | Path = "index", seeds_dir: str | Path = "seeds",
          host: str = "127.0.0.1", port: int = 8000, settings: Settings = DEFAULT, token: str = "",
          index: bool = True) -> None:
    """Listen at once; index `seeds_dir` in the background (see `create_app`), then keep it indexed
    (without `index`, serve the index as others write it). Beyond loopback, a `token` is required
    (`ServeRefused` without one). Numpy's BLAS runs one thread per call: requests run side by side,
    and more threads would wait on each other (FAISS and ONNX Runtime are set so by their settings)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    if not token and not guard.is_loopback(host):
        raise ServeRefused(f"serving on {host} lets other machines in: give an access token with --token "
                           "or QA_TOKEN (they sign in once with it)")

    app = create_app(index_dir, seeds_dir if index else None, watch=index, settings=settings, build=index,
                     token=token)
    app.state.freeze_after_open = app.state.questions_apart = True  # see load_retriever
    doing = f"while {seeds_dir}/ is indexed into" if index else "from"
    print(f"qa serve: answering on http://{host}:{port}/ {doing} {app.state.store}", flush=True)
    # Keep-alive outlasts a burst: under a queue of answers a client's next request must not
    # race the server closing its idle connection.
    uvicorn.run(app,
                host=host, port=port, log_level="warning", timeout_keep_alive=settings.serve.keep_alive_seconds,
                http="httptools")
