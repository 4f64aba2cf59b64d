"""Web apps behind lambda_runtime.web. Background tasks synchronise with the test through files, never sleeps."""

import asyncio
import contextlib
import logging
import os
import time

from fastapi import BackgroundTasks, FastAPI, Request, Response
from flask import Flask, jsonify
from flask import request as flask_request
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse

from lambda_runtime import current_job
from lambda_runtime.logs.records import REQUEST_ID
from lambda_runtime.web import asgi, wsgi

WAIT = 30.0
startups = []


def _touch(path, text=""):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


async def _wait_for(path):
    end = time.monotonic() + WAIT
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise TimeoutError(path)
        await asyncio.sleep(0.005)


def _stamp(directory, name):
    """Record when this ran (epoch seconds) and the request id its log lines carry."""
    _touch(os.path.join(directory, name), f"{time.time()!r} {REQUEST_ID.get('')}")


@contextlib.asynccontextmanager
async def lifespan(app):
    startups.append(time.time())
    yield {"loop": id(asyncio.get_running_loop())}


api = FastAPI(lifespan=lifespan)


async def gated_task(directory):
    await _wait_for(os.path.join(directory, "release"))
    logging.getLogger("web_apps").info("confirmation sent")
    _stamp(directory, "task")


def failing_task():
    raise ValueError("the mail server said no")


@api.post("/orders")
async def create_order(payload: dict, tasks: BackgroundTasks):
    if payload.get("gate"):
        tasks.add_task(gated_task, payload["dir"])
    else:
        tasks.add_task(_stamp, payload["dir"], "task")  # a sync task: Starlette runs it in its thread pool
    if payload.get("fail"):
        tasks.add_task(failing_task)
    return {"order": 1, "status": "accepted"}


@api.get("/response-background")
async def response_background(dir: str):
    return JSONResponse({"ok": True}, background=BackgroundTask(_stamp, dir, "task"))


@api.get("/loop")
async def which_loop(request: Request):
    return {
        "loop": id(asyncio.get_running_loop()),
        "lifespan_loop": request.state.loop,
        "startups": len(startups),
        "request_id": request.scope["aws.context"].aws_request_id,
        "event_keys": sorted(request.scope["aws.event"]),
    }


@api.post("/reverse")
async def reverse(request: Request):
    """Binary in, binary out; the request's cookies come back as two Set-Cookie headers."""
    response = Response(bytes(reversed(await request.body())), media_type="image/png")
    for name, value in sorted(request.cookies.items()):
        response.set_cookie(name, value + "!")
    return response


@api.get("/note")
async def note(request: Request):
    """The x-note header as the app reads it, and as the UTF-8 text the client sent."""
    raw = request.headers.get("x-note", "")
    return {"note": raw, "text": raw.encode("latin-1").decode("utf-8")}


@api.get("/boom")
async def boom():
    raise RuntimeError("endpoint exploded")


@api.get("/slow-background")
async def slow_background(tasks: BackgroundTasks):
    async def forever():
        try:
            await asyncio.sleep(3600)
        finally:
            logging.getLogger("web_apps").warning("background task cancelled")

    tasks.add_task(forever)
    return {"ok": True}


def cooperative_task(directory):
    """A plain `def` task that stops when its job is cancelled, as a `context.defer` job does."""
    job = current_job()
    _touch(os.path.join(directory, "job"), job.name if job is not None else "no job")
    try:
        while job is not None and not job.wait_cancelled(0.05):
            pass
    finally:
        _stamp(directory, "stopped")


def stubborn_task(directory):
    """A plain `def` task that ignores its deadline."""
    _touch(os.path.join(directory, "started"))
    while True:
        time.sleep(0.05)


@api.get("/def-background")
async def def_background(dir: str, tasks: BackgroundTasks, stubborn: bool = False):
    tasks.add_task(stubborn_task if stubborn else cooperative_task, dir)
    return {"process": f"{os.getpid()} {startups[0]!r}"}  # the time of the lifespan startup: new after a restart


fastapi_handler = asgi(api)

flask_app = Flask(__name__)


@flask_app.post("/orders")
def flask_order():
    context = flask_request.environ["lambda.context"]
    context.defer(_stamp, flask_request.json["dir"], "task")
    return jsonify(order=1, script_name=flask_request.script_root, path=flask_request.path)


@flask_app.get("/boom")
def flask_boom():
    raise RuntimeError("flask endpoint exploded")


flask_handler = wsgi(flask_app)
