"""The greeting page as a nanodjango app, served as its docs say:
``nanodjango serve nano_hello.py`` (uvicorn, DEBUG off)."""

import os

from django.template import engines
from nanodjango import Django

app = Django(
    SECRET_KEY=os.environ["DJANGO_SECRET_KEY"],
    ALLOWED_HOSTS=os.environ["DJANGO_ALLOWED_HOSTS"].split(","),
    DEBUG=False,
)


@app.route("/")
async def index(request):
    return PAGE.render({"name": request.GET.get("name", "World")}, request)


PAGE = engines["django"].from_string(
    """<!doctype html>
<title>Hello</title>
<h1>Hello, {{ name }}!</h1>
"""
)
