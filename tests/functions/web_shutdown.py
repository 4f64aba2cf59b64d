"""An ASGI app whose lifespan shutdown leaves a mark (a file named by $SHUTDOWN_MARK): proof that it ran."""

import contextlib
import os

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lambda_runtime.web import asgi


@contextlib.asynccontextmanager
async def lifespan(app):
    yield
    with open(os.environ["SHUTDOWN_MARK"], "w") as f:
        f.write("shutdown")


async def home(request):
    return PlainTextResponse("up")


handler = asgi(Starlette(routes=[Route("/", home)], lifespan=lifespan))
