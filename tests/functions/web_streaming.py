"""An ASGI app whose StreamingResponse goes out through the runtime's response streaming (tests/test_streaming.py)."""

import asyncio
import os
import time

from fastapi import BackgroundTasks, FastAPI
from starlette.responses import StreamingResponse

from lambda_runtime.web import asgi

app = FastAPI()


async def _wait_for(path):
    end = time.monotonic() + 20
    while not os.path.exists(path) and time.monotonic() < end:
        await asyncio.sleep(0.005)


def _stamp(path):
    with open(path, "w") as f:
        f.write(repr(time.time()))


@app.get("/report")
async def report(gate: str, stamp: str, background: BackgroundTasks):
    async def lines():
        yield "line 1\n"
        await _wait_for(gate)
        yield "line 2\n" if os.path.exists(gate) else "gate never opened\n"

    background.add_task(_stamp, stamp)
    response = StreamingResponse(lines(), media_type="text/plain", headers={"X-Report": "yes"})
    response.set_cookie("seen", "1")
    return response


@app.get("/broken")
async def broken():
    async def lines():
        yield "half"
        raise ValueError("the report broke")

    return StreamingResponse(lines(), media_type="text/plain")


handler = asgi(app, invoke_mode="response_stream")


@app.post("/ticks")
async def ticks(payload: dict, background: BackgroundTasks):
    """A tick every 50 ms for 30 s; notes in `dir` how the body ended, and when its background task ran."""
    directory = payload["dir"]

    async def body():
        ended = "finished"
        try:
            for i in range(600):
                yield f"tick {i}\n"
                await asyncio.sleep(0.05)
        except (asyncio.CancelledError, GeneratorExit) as stopped:
            ended = type(stopped).__name__
            raise
        finally:
            with open(os.path.join(directory, "ended"), "w") as f:
                f.write(ended)

    background.add_task(_stamp, os.path.join(directory, "background"))
    return StreamingResponse(body(), media_type="text/plain")
