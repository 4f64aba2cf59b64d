"""A one-file Django app behind lambda_runtime.web.wsgi, deferring work through request.META["lambda.context"]."""

import os
import time

import django
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

from lambda_runtime.logs.records import REQUEST_ID
from lambda_runtime.web import wsgi

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)
django.setup()


def _stamp(directory):
    with open(os.path.join(directory, "task.tmp"), "w") as f:
        f.write(f"{time.time()!r} {REQUEST_ID.get('')}")
    os.replace(os.path.join(directory, "task.tmp"), os.path.join(directory, "task"))


def order(request):
    request.META["lambda.context"].defer(_stamp, request.GET["dir"])
    return JsonResponse({"order": 1, "script_name": request.META["SCRIPT_NAME"], "path": request.path})


def boom(request):
    raise RuntimeError("django view exploded")


urlpatterns = [path("orders", order), path("boom", boom)]

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after settings.configure

handler = wsgi(get_wsgi_application())
