"""A whole asynchronous Django site in one file.

Serve it with ``daphne app:application``. The file doubles as ``manage.py``:
``python app.py check``, ``python app.py runserver``.
"""

import html
import logging
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.urls import path
from dotenv import load_dotenv

# Settings
# --------
# Everything comes from environment variables. The .env file beside this module
# fills in what the environment leaves unset (real variables win), so your own
# machine can keep its values there. The defaults below are the production-safe
# ones: DEBUG off, and only local host names accepted.

load_dotenv(Path(__file__).with_name(".env"))


def env_flag(name, default):
    """Read a 1/0 switch, refusing anything else rather than guessing."""
    value = os.environ.get(name, default)
    if value not in {"0", "1"}:
        raise ImproperlyConfigured(f"{name} must be 1 or 0, not {value!r}.")
    return value == "1"


def env_list(name, default):
    """Read a comma-separated list, dropping spaces and empty items."""
    items = os.environ.get(name, default).split(",")
    return [item.strip() for item in items if item.strip()]


class OneLineForClientErrors(logging.Filter):
    """Log a 4xx (a foreign Host, a malformed request) as one line.

    Django attaches a traceback to these records, but the fault is the client's,
    not the code's; a 5xx keeps its traceback.
    """

    def filter(self, record):
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = record.exc_text = None
        return True


# A random key per process would break sessions, CSRF tokens and signing
# across restarts and processes, so there is no fallback: the key must be set.
if not os.environ.get("DJANGO_SECRET_KEY"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Put DJANGO_SECRET_KEY=<key> in the .env "
        "file beside app.py or in the environment; make a key with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

settings.configure(
    SECRET_KEY=os.environ["DJANGO_SECRET_KEY"],
    DEBUG=env_flag("DJANGO_DEBUG", "0"),
    ALLOWED_HOSTS=env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"),
    # This module is the URLconf, and it holds the ASGI application.
    ROOT_URLCONF=__name__,
    ASGI_APPLICATION=f"{__name__}.application",
    # daphne's runserver replaces Django's, so `runserver` speaks ASGI too.
    INSTALLED_APPS=["daphne"],
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    # Django's messages go to stderr once, whichever server runs the app.
    LOGGING={
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"one_line_4xx": {"()": OneLineForClientErrors}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)-8s %(message)s"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "filters": ["one_line_4xx"],
                "formatter": "plain",
            },
        },
        "loggers": {
            "django": {"handlers": ["stderr"], "level": "INFO", "propagate": False}
        },
    },
)


# Views
# -----


async def index(request):
    name = request.GET.get("name", "World")
    return HttpResponse(f"Hello, {html.escape(name)}!")


# Routes
# ------

urlpatterns = [
    path("", index, name="index"),
]


# Application
# -----------
# get_asgi_application() sets Django up and returns its ASGI handler.

application = get_asgi_application()


if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
