"""A headless Chromium (the distribution's package, /usr/bin/chromium) driven over the DevTools protocol with
aiohttp's WebSocket client: open a page, wait for something in it (a MutationObserver in the page, no polling
from here), take a screenshot. Not a test module."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import pytest

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # a container's /dev/shm may be too small for it
    "--remote-debugging-port=0",
]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a loop of its own, leaving the thread's current loop alone (``asyncio.run`` would unset
    it, and code that later calls ``asyncio.get_event_loop()`` in this thread would fail)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def require_chromium() -> str:
    """The browser, or a skip on a developer's machine without it; in CI (``CI=true``) its absence is a failure,
    since `make test` installs it."""
    path = shutil.which(CHROMIUM)
    if path is None:
        message = f"{CHROMIUM} is missing: `make test` installs the chromium package (as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


class DevTools:
    """The browser's DevTools WebSocket: commands and their replies; the events read meanwhile are kept."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    async def call(self, method: str, params: dict[str, Any], session: str | None = None) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self._ws.send_str(json.dumps(message))
        while True:
            reply = await self._receive()
            if reply.get("id") == ident:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self._events.append(reply)

    async def event(self, method: str, session: str) -> dict[str, Any]:
        """The first event ``method`` of ``session`` not taken yet (waiting for it if need be)."""
        while True:
            for event in self._events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event
            self._events.append(await self._receive())

    async def _receive(self) -> dict[str, Any]:
        frame = await self._ws.receive()
        if frame.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"the browser went away: {frame.type}")
        return dict(json.loads(frame.data))


class Page:
    """One tab, over a flattened DevTools session."""

    def __init__(self, devtools: DevTools, session: str) -> None:
        self._devtools = devtools
        self._session = session

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._devtools.call(method, params, self._session)

    async def goto(self, url: str, timeout: float = 60.0) -> None:
        """Navigate and wait for the page's load event."""
        await self.send("Page.enable")
        await self.send("Page.navigate", url=url)
        await asyncio.wait_for(self._devtools.event("Page.loadEventFired", self._session), timeout)

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of ``expression`` in the page (a promise is awaited)."""
        reply = await asyncio.wait_for(
            self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True), timeout
        )
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression!r} failed in the page: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, selector: str, timeout: float = 30.0) -> str:
        """The text of the first element matching ``selector``, once there is one (watched by a MutationObserver)."""
        found = f"document.querySelector({json.dumps(selector)})"
        script = f"""new Promise((resolve) => {{
            if ({found}) return resolve({found}.innerText);
            new MutationObserver((_, observer) => {{
                if ({found}) {{ observer.disconnect(); resolve({found}.innerText); }}
            }}).observe(document.documentElement, {{childList: true, subtree: true}});
        }})"""
        return str(await self.evaluate(script, timeout))

    async def screenshot(self) -> bytes:
        reply = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(reply["data"])


@asynccontextmanager
async def open_page(url: str, width: int = 1280, height: int = 800) -> AsyncIterator[Page]:
    """Chromium started with its own profile directory, one tab showing ``url``; all of it gone on exit."""
    binary = require_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        process = await asyncio.create_subprocess_exec(
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            endpoint = await _devtools_endpoint(process)
            async with aiohttp.ClientSession() as client, client.ws_connect(endpoint, max_msg_size=0) as ws:
                devtools = DevTools(ws)
                target = await devtools.call("Target.createTarget", {"url": "about:blank"})
                attached = await devtools.call(
                    "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
                )
                page = Page(devtools, attached["sessionId"])
                metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
                await page.send("Emulation.setDeviceMetricsOverride", **metrics)
                await page.goto(url)
                yield page
        finally:
            with contextlib.suppress(ProcessLookupError):  # the browser and its helpers (renderer, zygote ...)
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def _devtools_endpoint(process: asyncio.subprocess.Process) -> str:
    """Chromium prints ``DevTools listening on ws://...`` on stderr once it serves the protocol."""
    assert process.stderr is not None
    seen: list[str] = []
    while line := (await asyncio.wait_for(process.stderr.readline(), 60)).decode(errors="replace"):
        seen.append(line)
        found = re.search(r"DevTools listening on (ws://\S+)", line)
        if found:
            asyncio.get_running_loop().create_task(_drain(process.stderr))  # never let a full pipe block it
            return found[1]
    raise AssertionError("chromium exited before serving the DevTools protocol:\n" + "".join(seen))


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
