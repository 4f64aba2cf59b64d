"""An ASGI app whose lifespan startup fails: the runtime must report an init error with the app's exception."""

import contextlib

from starlette.applications import Starlette

from lambda_runtime.web import asgi


class DatabaseUnavailable(Exception):
    pass


@contextlib.asynccontextmanager
async def lifespan(app):
    raise DatabaseUnavailable("cannot reach the database")
    yield


handler = asgi(Starlette(lifespan=lifespan))
