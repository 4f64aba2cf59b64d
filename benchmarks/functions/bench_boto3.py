"""A handler that imports boto3 at module level, as most real functions do: the cold-start case that matters."""

import boto3  # noqa: F401  (the import is the point)


def handler(event, context):
    return {"ok": True}
