"""Invocations of another function: forwarded to the emulator that serves it (``--peer NAME=URL``).

One emulator serves one function. A function that invokes another one (a hand-off to a worker function, say) reaches
it through its own emulator, whose ``AWS_ENDPOINT_URL_LAMBDA`` it uses: the request goes on, unchanged (signature,
invocation type, trace header), to the peer, and the peer's answer comes back as it is, queueing and destinations
included. A name with no peer is refused as before (``AccessDeniedException`` for the function's role).
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from aiohttp import web

from lambda_runtime.emulator.config import INVOKE_API_VERSION
from lambda_runtime.emulator.responses import service_error

#: Headers that describe one hop of HTTP, not the request: the peer's connection sets its own.
_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


def parse_peer(raw: str) -> tuple[str, str]:
    """``NAME=http://host:port`` → (name, url); ValueError otherwise."""
    name, sep, url = raw.partition("=")
    if not sep or not name or ":" in name or "/" in name or not url.startswith(("http://", "https://")):
        raise ValueError(f"expected NAME=http://HOST:PORT, got {raw!r}")
    return name, url.rstrip("/")


async def forward(request: web.Request, name: str, peers: Mapping[str, str]) -> web.Response:
    """Send the Invoke on to the emulator serving ``name``; its answer, or a 502 naming the peer."""
    url = f"{peers[name]}/{INVOKE_API_VERSION}/functions/{name}/invocations"
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    body = await request.read()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers, params=request.query) as answer,
        ):
            payload = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=answer.status, body=payload, headers=kept)
    except aiohttp.ClientError as error:
        return service_error(502, "ServiceException", f"peer emulator for {name!r} at {peers[name]}: {error}")
