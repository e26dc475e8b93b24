"""A whole asynchronous Django site in one file.

Serve it with ``daphne app:application``. The file doubles as ``manage.py``:
``python app.py check``, ``python app.py runserver``.
"""

import html
{%- if cookiecutter.websocket == "channels" %}
import json
{%- endif %}
import logging
import os
import sys
{%- if cookiecutter.websocket == "channels" %}
from contextlib import suppress
{%- endif %}
from pathlib import Path
{%- if cookiecutter.websocket == "asgi" %}
from urllib.parse import urlsplit
{%- endif %}

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_started
from django.db import close_old_connections, reset_queries
from django.http import HttpResponse
{%- if cookiecutter.websocket != "none" %}
from django.http.request import split_domain_port, validate_host
{%- endif %}
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
{%- if cookiecutter.websocket == "none" %}
from django.urls import path
{%- elif cookiecutter.websocket == "asgi" %}
from django.urls import Resolver404, URLResolver, path
from django.urls.resolvers import RegexPattern
{%- elif cookiecutter.websocket == "channels" %}
from django.urls import path, re_path
{%- endif %}
from dotenv import load_dotenv
{%- if cookiecutter.websocket == "channels" %}
from redis.exceptions import RedisError
{%- endif %}

# Settings
# --------
# Everything comes from environment variables. The .env file beside this module
# fills in what the environment leaves unset (real variables win), so your own
# machine can keep its values there. The defaults below are the production-safe
# ones: DEBUG off, only local host names, HTTPS behind a TLS-terminating proxy.

load_dotenv(Path(__file__).with_name(".env"))


def env_flag(name, default):
    """Read a 1/0 switch, refusing anything else rather than guessing."""
    value = os.environ.get(name, default)
    if value not in {"0", "1"}:
        raise ImproperlyConfigured(f"{name} must be 1 or 0, not {value!r}.")
    return value == "1"


def env_int(name, default):
    """Read a whole number, refusing anything else."""
    value = os.environ.get(name, default)
    if not (value.isascii() and value.isdigit()):
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.")
    return int(value)


def env_list(name, default):
    """Read a comma-separated list, dropping spaces and empty items."""
    items = os.environ.get(name, default).split(",")
    return [item.strip() for item in items if item.strip()]


def proxy_ssl_header(name):
    """The header a TLS-terminating proxy sets to "https", as Django wants it."""
    header = os.environ.get(name, "X-Forwarded-Proto").strip()
    if not header:
        return None
    return ("HTTP_" + header.upper().replace("-", "_"), "https")


class OneLineForClientErrors(logging.Filter):
    """Log a 4xx (a foreign Host, a malformed request) as one line.

    Django attaches a traceback to these records, but the fault is the client's,
    not the code's; a 5xx keeps its traceback.
    """

    def filter(self, record):
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = record.exc_text = None
        return True


MAKE_A_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_flag("DJANGO_DEBUG", "0")

# A random key per process would break sessions, CSRF tokens and signing
# across restarts and processes, so there is no fallback: the key must be set.
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Put DJANGO_SECRET_KEY=<key> in the .env "
        f"file beside app.py or in the environment; make a key with: {MAKE_A_KEY}"
    )
# Django's own rule for a strong key (its deploy check warns otherwise).
if not DEBUG and (
    len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
    or SECRET_KEY.startswith(SECRET_KEY_INSECURE_PREFIX)
):
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY is too weak to run with DEBUG off: use at least "
        f"{SECRET_KEY_MIN_LENGTH} characters, {SECRET_KEY_MIN_UNIQUE_CHARACTERS} "
        f"of them different, not starting with {SECRET_KEY_INSECURE_PREFIX!r}; "
        f"make one with: {MAKE_A_KEY}"
    )

settings.configure(
    SECRET_KEY=SECRET_KEY,
    DEBUG=DEBUG,
    ALLOWED_HOSTS=env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"),
    # HTTPS: production runs behind a proxy that terminates TLS and sets
    # X-Forwarded-Proto. The baked .env turns these off for plain http locally.
    SECURE_PROXY_SSL_HEADER=proxy_ssl_header("DJANGO_SECURE_PROXY_SSL_HEADER"),
    SECURE_SSL_REDIRECT=env_flag("DJANGO_SECURE_SSL_REDIRECT", "1"),
    SECURE_HSTS_SECONDS=env_int("DJANGO_SECURE_HSTS_SECONDS", "31536000"),
    SECURE_HSTS_INCLUDE_SUBDOMAINS=env_flag(
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "1"
    ),
    SECURE_HSTS_PRELOAD=env_flag("DJANGO_SECURE_HSTS_PRELOAD", "1"),
    SESSION_COOKIE_SECURE=env_flag("DJANGO_SECURE_COOKIES", "1"),
    CSRF_COOKIE_SECURE=env_flag("DJANGO_SECURE_COOKIES", "1"),
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
            "django": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
{%- if cookiecutter.websocket == "channels" %}
            "chat": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
{%- endif %}
        },
    },
{%- if cookiecutter.websocket == "channels" %}
    # Chat rooms live in this process's memory, or on Redis when REDIS_URL is
    # set, so that several daphne processes share them.
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]]},
        }
        if os.environ.get("REDIS_URL")
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    },
{%- endif %}
)


# Speed
# -----
# Django calls each hook of a middleware that is not async through
# sync_to_async: a thread hop of about 150 microseconds, several per request (upstream:
# https://github.com/django/new-features/issues/102). The built-in middleware
# above only read the request and set headers in their request and response
# hooks, so those run in the event loop instead: the same code, minus the hops.
# Middleware you add keeps Django's own handling.


async def call_hooks_in_event_loop(self, request):
    """Django's MiddlewareMixin.__acall__, without the thread hops."""
    response = None
    if hasattr(self, "process_request"):
        response = self.process_request(request)
    response = response or await self.get_response(request)
    if hasattr(self, "process_response"):
        response = self.process_response(request, response)
    return response


for middleware in (
    SecurityMiddleware,
    CommonMiddleware,
    XFrameOptionsMiddleware,
    # With CSRF_USE_SESSIONS, the CSRF hooks read the session: they keep a thread.
    *([] if settings.CSRF_USE_SESSIONS else [CsrfViewMiddleware]),
):
    middleware.__acall__ = call_hooks_in_event_loop

# Without a database, Django's per-request database housekeeping has nothing to
# do but still costs a thread hop. It stays connected once DATABASES is set.
if not settings.DATABASES:
    request_started.disconnect(reset_queries)
    request_started.disconnect(close_old_connections)


# Views
# -----
{% if cookiecutter.websocket == "none" %}

async def index(request):
    name = request.GET.get("name", "World")
    return HttpResponse(f"Hello, {html.escape(name)}!")
{% else %}
# The page talks to the websocket endpoints, so you can watch them work in a
# browser. It shows what comes back as text (textContent), never as HTML.
WEBSOCKET_DEMO = """
<p>Say something: the server echoes it back over a websocket.</p>
<form id="echo" data-path="/ws/echo/">
  <input name="message" required> <button name="send" disabled>Send</button>
</form>
<ol id="echo-log"></ol>
{%- if cookiecutter.websocket == "channels" %}
<p>Chat with everyone who has this page open (room "lobby").</p>
<form id="chat" data-path="/ws/chat/lobby/">
  <input name="message" required> <button name="send" disabled>Say</button>
</form>
<ol id="chat-log"></ol>
{%- endif %}
<script>
  function connect(name, encode, decode) {
    const form = document.getElementById(name);
    const log = document.getElementById(name + "-log");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + form.dataset.path);
    socket.onopen = () => { form.elements.send.disabled = false; };
    socket.onclose = () => { form.elements.send.disabled = true; };
    socket.onmessage = (event) => {
      const item = document.createElement("li");
      item.textContent = decode(event.data);
      log.append(item);
    };
    form.onsubmit = (event) => {
      event.preventDefault();
      socket.send(encode(form.elements.message.value));
      form.reset();
    };
  }
  connect("echo", (text) => text, (data) => data);
{%- if cookiecutter.websocket == "channels" %}
  connect(
    "chat",
    (text) => JSON.stringify({ message: text }),
    (data) => JSON.parse(data).message,
  );
{%- endif %}
</script>
"""


async def index(request):
    name = request.GET.get("name", "World")
    greeting = f"<h1>Hello, {html.escape(name)}!</h1>"
    return HttpResponse(
        "<!doctype html>\n<title>Hello</title>\n" + greeting + WEBSOCKET_DEMO
    )
{% endif %}

# Routes
# ------

urlpatterns = [
    path("", index, name="index"),
]
{%- if cookiecutter.websocket == "none" %}


# Application
# -----------
# get_asgi_application() sets Django up and returns its ASGI handler.

application = get_asgi_application()
{%- else %}


# Websocket checks and lifespan
# -----------------------------


def header(scope, name):
    """One request header of an ASGI scope, as text ("" when it is missing)."""
    return dict(scope["headers"]).get(name, b"").decode("latin-1")


def allowed_host(scope):
    """Django's own Host check for HTTP: is the Host in ALLOWED_HOSTS?"""
    domain, _port = split_domain_port(header(scope, b"host"))
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


async def lifespan(scope, receive, send):
    """Answer the server's start-up and shut-down messages.

    There is nothing to set up, but servers that send them (uvicorn, hypercorn)
    log an error unless they are answered.
    """
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
{%- endif %}
{%- if cookiecutter.websocket == "asgi" %}


def allowed_origin(scope):
    """Channels' AllowedHostsOriginValidator rule: the browser's Origin header
    must be there, and its host must be in ALLOWED_HOSTS ("null" has none)."""
    try:
        origin = urlsplit(header(scope, b"origin")).hostname
    except ValueError:  # a malformed URL, such as "http://["
        return False
    return origin is not None and validate_host(origin, settings.ALLOWED_HOSTS)


class WebsocketRouter:
    """Route websockets by path with Django's own resolver: path() patterns and
    converters, whose captured arguments reach the handler.

    A connection from a foreign origin or host, or to an unknown path, is closed
    before it is accepted, which the server answers with HTTP 403.
    """

    def __init__(self, urlpatterns):
        self.resolver = URLResolver(RegexPattern(r"^/"), urlpatterns)

    async def __call__(self, scope, receive, send):
        try:
            match = self.resolver.resolve(scope["path"])
        except Resolver404:
            match = None
        if match and allowed_origin(scope) and allowed_host(scope):
            await match.func(scope, receive, send, **match.kwargs)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close"})


# Websockets
# ----------
# A websocket handler is an async function of the ASGI (scope, receive, send),
# plus whatever its route captures as keyword arguments.


async def echo(scope, receive, send):
    """Send every message back as it came: text as text, bytes as bytes."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            text, data = message.get("text"), message.get("bytes")
            await send({"type": "websocket.send", "text": text, "bytes": data})
        elif message["type"] == "websocket.disconnect":
            return


websocket_urlpatterns = [
    path("ws/echo/", echo),
]


# Application
# -----------
# ASGI is turtles all the way down: one small app hands each connection to the
# app for its kind. get_asgi_application() sets Django up and returns its app.

django_application = get_asgi_application()
websocket_application = WebsocketRouter(websocket_urlpatterns)


async def application(scope, receive, send):
    if scope["type"] == "http":
        await django_application(scope, receive, send)
    elif scope["type"] == "websocket":
        await websocket_application(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
    else:
        raise ValueError(f"Unknown ASGI scope type {scope['type']!r}")
{%- elif cookiecutter.websocket == "channels" %}


# Websockets
# ----------
# get_asgi_application() sets Django up. It must run before Channels' consumers
# are imported: they may use models, which need Django's app registry.

django_application = get_asgi_application()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import (  # noqa: E402
    AllowedHostsOriginValidator,
    WebsocketDenier,
)


class AllowedHostsValidator:
    """Refuse a websocket whose Host is not in ALLOWED_HOSTS, as Django refuses
    such an HTTP request (Channels itself checks only the Origin)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if allowed_host(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier.as_asgi()(scope, receive, send)


class EchoConsumer(AsyncWebsocketConsumer):
    """Send every message back as it came: text as text, bytes as bytes."""

    channel_layer_alias = None  # it needs none, so it works with Redis down too

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


log = logging.getLogger("chat")


class ChatConsumer(AsyncWebsocketConsumer):
    """A chat room: each {"message": "..."} goes to every member of the room."""

    async def __call__(self, scope, receive, send):
        # Rooms on Redis fail while Redis is out of reach: say so in one log
        # line and close this connection; the next one tries Redis again.
        try:
            await super().__call__(scope, receive, send)
        except RedisError as error:
            log.warning("Chat closed: the channel layer is unavailable (%s)", error)
            await send({"type": "websocket.close", "code": 1011})

    async def connect(self):
        self.room = "chat_" + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        with suppress(RedisError):  # Redis gone: the membership expires anyway
            await self.channel_layer.group_discard(self.room, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data)["message"]
        except (TypeError, ValueError, KeyError):
            message = None
        if not isinstance(message, str):
            error = 'Send JSON text like {"message": "Hello"}.'
            await self.send(text_data=json.dumps({"error": error}))
            return
        event = {"type": "chat.message", "message": message}
        await self.channel_layer.group_send(self.room, event)

    async def chat_message(self, event):
        await self.send(text_data=json.dumps({"message": event["message"]}))


websocket_urlpatterns = [
    path("ws/echo/", EchoConsumer.as_asgi()),
    # A room name is part of a channel layer group name, so it is kept to
    # ASCII letters, digits, hyphens and underscores, and a sensible length.
    re_path(r"^ws/chat/(?P<room>[-a-zA-Z0-9_]{1,50})/$", ChatConsumer.as_asgi()),
    # Refuse any other path with HTTP 403, rather than fail with an error.
    re_path(r"", WebsocketDenier.as_asgi()),
]


# Application
# -----------
# ASGI is turtles all the way down: Channels' ProtocolTypeRouter hands each
# connection to the app for its kind.

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(
            AllowedHostsValidator(URLRouter(websocket_urlpatterns))
        ),
        "lifespan": lifespan,
    }
)
{%- endif %}


if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
