"""The web benchmark's FastAPI app, behind lambda_runtime.web.asgi and behind Mangum (loaded by every runtime).

``POST /order``: ``c_ms`` of work before the response (an awaited sleep, like a database call), then a background
task of ``d_ms`` (``d_ms`` 0: no background task). ``GET /noop``: an empty JSON answer, for adapter overhead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import BackgroundTasks, FastAPI
from mangum import Mangum

from lambda_runtime.web import asgi

app = FastAPI()


async def background(d_ms: float) -> None:
    await asyncio.sleep(d_ms / 1000)


@app.post("/order")
async def order(params: dict[str, Any], tasks: BackgroundTasks) -> dict[str, Any]:
    await asyncio.sleep(params["c_ms"] / 1000)
    if params["d_ms"]:
        tasks.add_task(background, params["d_ms"])
    return {"ok": True}


@app.get("/noop")
async def noop() -> dict[str, Any]:
    return {}


ours = asgi(app, lifespan="off")
mangum = Mangum(app, lifespan="off")


def raw(event: Any, context: Any) -> dict[str, Any]:
    """No framework, no adapter: the floor under both adapters."""
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}
