# /// script
# requires-python = ">=3.10"
# dependencies = [
{%- set requirements %}{% include "requirements.txt" %}{% endset %}
{%- for line in requirements.splitlines() if line and not line.startswith("#") %}
#     "{{ line }}",
{%- endfor %}
# ]
# ///
"""A whole asynchronous Django site in one file; ``python app.py`` is its manage.py."""
{% if cookiecutter.websocket == "channels" %}
import asyncio
{%- endif %}
import logging
import sys
{%- if cookiecutter.database %}
import threading
import time
{%- endif %}
{%- if cookiecutter.tasks %}
from datetime import timedelta
{%- endif %}
from pathlib import Path

import django
{%- if cookiecutter.websocket == "channels" %}
import redis
{%- endif %}
{%- if cookiecutter.database and cookiecutter.websocket == "asgi" or cookiecutter.tasks %}
from asgiref.sync import sync_to_async
{%- endif %}
{%- if cookiecutter.websocket == "channels" %}
{%- if cookiecutter.database %}
from channels.auth import AuthMiddlewareStack
{%- endif %}
from channels.generic import websocket
from channels.layers import get_channel_layer
from channels.routing import URLRouter
{%- endif %}
from csp.constants import NONCE, NONE, SELF
from django.conf import settings
{%- if cookiecutter.database and cookiecutter.websocket == "asgi" %}
from django.contrib import admin, auth
{%- elif cookiecutter.database %}
from django.contrib import admin
{%- endif %}
from django.core.asgi import get_asgi_application
from django.core.checks.security.base import check_secret_key
{%- if cookiecutter.tasks %}
from django.core.mail import mail_admins
{%- endif %}
from django.core.management import execute_from_command_line
{%- if cookiecutter.database %}
{%- if cookiecutter.websocket == "asgi" and cookiecutter.tasks %}
from django.db import (
    DatabaseError,
    close_old_connections,
    connection,
    models,
    transaction,
)
{%- elif cookiecutter.websocket == "asgi" %}
from django.db import DatabaseError, close_old_connections, connection, models
{%- elif cookiecutter.tasks %}
from django.db import DatabaseError, connection, models, transaction
{%- else %}
from django.db import DatabaseError, connection, models
{%- endif %}
from django.db.migrations.executor import MigrationExecutor
from django.forms import ModelForm, ValidationError
{%- if cookiecutter.websocket == "asgi" %}
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    parse_cookie,
)
{%- elif cookiecutter.websocket == "channels" %}
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
{%- else %}
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
{%- endif %}
{%- else %}
from django.core.signals import request_started
from django.db import close_old_connections, reset_queries
from django.http import HttpResponse, JsonResponse
{%- endif %}
{%- if cookiecutter.websocket != "none" %}
from django.http.request import split_domain_port, validate_host
{%- endif %}
from django.middleware.csrf import CsrfViewMiddleware
from django.template import engines
{%- if cookiecutter.websocket == "asgi" %}
from django.urls import Resolver404, include, path, re_path
{%- elif cookiecutter.websocket == "channels" %}
from django.urls import path, re_path
{%- else %}
from django.urls import path
{%- endif %}
{%- if cookiecutter.tasks %}
from django.utils import timezone
{%- endif %}
from django.utils.deprecation import MiddlewareMixin
{%- if cookiecutter.database %}
from django.utils.log import log_response
{%- endif %}
from django.utils.module_loading import import_string
from environs import Env, validate
{%- if cookiecutter.tasks %}

try:
    from django.tasks import task  # Django 6
except ImportError:  # 5.2: the backport
    from django_tasks import task
{%- endif %}

# Settings come from the environment, then from .env (or DJANGO_ENV_FILE).
env = Env()
ENV_FILE = env.str("DJANGO_ENV_FILE", str(Path(__file__).with_name(".env")))
env.read_env(ENV_FILE, recurse=False)
PROXY_HEADER = env.str("DJANGO_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")
PROXY_META_KEY = f"HTTP_{PROXY_HEADER.upper().replace('-', '_')}"  # Django's name
{%- if cookiecutter.websocket == "channels" %}
# Chat rooms: in this process, or on Redis (REDIS_URL): reads outlast the layer's
# 5 s waits (channels_redis#422); the pool lets a crowd join (redis-py 8 allows 100).
LAYER = {"BACKEND": "channels.layers.InMemoryChannelLayer"}
if REDIS_URL := env.str("REDIS_URL", ""):
    LAYER["BACKEND"] = "channels_redis.core.RedisChannelLayer"
    HOST = {"address": REDIS_URL, "socket_timeout": 10, "max_connections": 1000}
    LAYER["CONFIG"] = {"hosts": [HOST]}
{%- endif %}
{%- if cookiecutter.database %}

# The database: SQLite beside this file, or whatever DATABASE_URL names.
DATABASE = env.dj_db_url(
    "DATABASE_URL", f"sqlite:///{Path(__file__).with_name('db.sqlite3')}"
)
if DATABASE["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while an entry is written; IMMEDIATE makes writers
    # queue (up to 20 s) instead of failing with "database is locked".
    DATABASE["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        **DATABASE.get("OPTIONS", {}),  # what the URL says wins
    }
elif DATABASE["ENGINE"] == "django.db.backends.postgresql":
    # A pool per process (psycopg[pool]), each connection checked before use.
    # While PostgreSQL is down a request waits 3 s (daphne gives a websocket 5).
    POOL = {"timeout": 3, "reconnect_timeout": 2}  # it retries: back when it is
    DATABASE["OPTIONS"] = {"pool": POOL, **DATABASE.get("OPTIONS", {})}
    DATABASE["CONN_HEALTH_CHECKS"] = True
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)  # not each retry
{%- if cookiecutter.tasks %}

# Mail goes through the server EMAIL_URL names, as Django 5.2's EMAIL_* settings.
EMAIL = env.dj_email_url("EMAIL_URL", "smtp://localhost:25")
if "EMAIL_BACKEND" not in EMAIL:
    sys.exit("ERROR: EMAIL_URL: use smtp://, submission://, console:// or file://")
if EMAIL["EMAIL_BACKEND"].endswith(".smtp.EmailBackend"):
    EMAIL["EMAIL_TIMEOUT"] = EMAIL["EMAIL_TIMEOUT"] or 10  # a send gives up after 10 s
if django.VERSION >= (6, 1):  # they became MAILERS: the same, by other names
    NAMES = {"HOST_USER": "username", "HOST_PASSWORD": "password"}
    OPTIONS = {NAMES.get(k[6:], k[6:].lower()): v for k, v in EMAIL.items() if v}
    MAILER = {"BACKEND": OPTIONS.pop("backend"), "OPTIONS": OPTIONS}
    EMAIL = {"MAILERS": {"default": MAILER}}
ADMINS = env.list("DJANGO_ADMINS", [], subcast=str.strip)  # told of each entry
{%- endif %}
# The password validators of Django's startproject: the admin refuses weak ones.
VALIDATORS = "UserAttributeSimilarity MinimumLength CommonPassword NumericPassword"
# `python app.py` runs this file as __main__: Django still finds it as "app".
sys.modules.setdefault("app", sys.modules[__name__])
{%- endif %}

settings.configure(
    SECRET_KEY=env.str("DJANGO_SECRET_KEY", ""),  # checked at the end of the file
    DEBUG=env.bool("DJANGO_DEBUG", False),
    ALLOWED_HOSTS=env.list(
        "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"], subcast=str.strip
    ),
    # HTTPS, behind a proxy that terminates TLS and sets PROXY_HEADER.
    SECURE_PROXY_SSL_HEADER=(PROXY_META_KEY, "https") if PROXY_HEADER else None,
    SECURE_SSL_REDIRECT=env.bool("DJANGO_SECURE_SSL_REDIRECT", True),
    SECURE_HSTS_SECONDS=env.int(
        "DJANGO_SECURE_HSTS_SECONDS", 31536000, validate=validate.Range(min=0)
    ),
    SECURE_HSTS_INCLUDE_SUBDOMAINS=env.bool(
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True
    ),
    SECURE_HSTS_PRELOAD=env.bool("DJANGO_SECURE_HSTS_PRELOAD", True),
    SESSION_COOKIE_SECURE=env.bool("DJANGO_SECURE_COOKIES", True),
    CSRF_COOKIE_SECURE=env.bool("DJANGO_SECURE_COOKIES", True),
    CONTENT_SECURITY_POLICY={  # all from this site only, or inline with the nonce
        "DIRECTIVES": {
            "default-src": [NONE],
            "script-src": [SELF, NONCE],
            "connect-src": [SELF],
            "img-src": [SELF],
            "style-src": [SELF, NONCE],
            "base-uri": [NONE],
            "form-action": [SELF],
            "frame-ancestors": [NONE],
        }
    },
    TIME_ZONE="UTC",  # as startproject's (Django's own default: America/Chicago)
    ROOT_URLCONF=__name__,  # this module is the URLconf
    ASGI_APPLICATION=f"{__name__}.application",
{%- if cookiecutter.database %}
    INSTALLED_APPS=[
        "daphne",  # its runserver speaks ASGI
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "servestatic",
        "app",  # this module: its models, and migrations in migrations/
{%- if cookiecutter.tasks %}
        *(["django_tasks"] if django.VERSION < (6,) else []),  # 5.2: the backport
        "django_tasks_db",  # the queue of background tasks, in the database
{%- endif %}
    ],
    MIDDLEWARE=[
        "app.ApiErrors",  # in the machinery
        "django.middleware.security.SecurityMiddleware",
        "servestatic.middleware.ServeStaticMiddleware",
        "csp.middleware.CSPMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "app.DatabaseErrors",  # defined below
    ],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,  # the admin's templates
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                    "csp.context_processors.nonce",
                ]
            },
        }
    ],
    DATABASES={"default": DATABASE},
    AUTH_PASSWORD_VALIDATORS=[
        {"NAME": f"django.contrib.auth.password_validation.{name}Validator"}
        for name in VALIDATORS.split()
    ],
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    MIGRATION_MODULES={"app": "migrations"},
{%- if cookiecutter.tasks %}
    TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
    ADMINS=[(a, a) if django.VERSION < (6,) else a for a in ADMINS],  # 5.2: pairs
    SERVER_EMAIL=env.str("DJANGO_SERVER_EMAIL", "root@localhost"),
    **EMAIL,
{%- endif %}
    # The admin's CSS and scripts: `python app.py collectstatic` copies them, with
    # hashed names browsers cache forever, to staticfiles/ (static/ is for yours).
    STATIC_URL="static/",
    STATIC_ROOT=Path(__file__).with_name("staticfiles"),
    STORAGES={
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {
            "BACKEND": "servestatic.storage.CompressedManifestStaticFilesStorage"
        },
    },
{%- else %}
    INSTALLED_APPS=["daphne"],  # its runserver speaks ASGI
    MIDDLEWARE=[
        f"{__name__}.ApiErrors",  # in the machinery
        "django.middleware.security.SecurityMiddleware",
        "csp.middleware.CSPMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {"context_processors": ["csp.context_processors.nonce"]},
        }
    ],
{%- endif %}
    LOGGING_CONFIG=None,  # set up at the end of the file
{%- if cookiecutter.websocket == "channels" %}
    CHANNEL_LAYERS={"default": LAYER},
{%- endif %}
)
django.setup()
{%- if cookiecutter.database %}


class Entry(models.Model):
    """A guestbook entry: Django finds models in this module, the app "app"."""

    name = models.CharField(max_length=60)
    message = models.CharField(max_length=500)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "app"  # also when this file runs as __main__
        ordering = ["-created", "-id"]
        verbose_name_plural = "entries"

    def __str__(self):
        return f"{self.name}: {self.message}"


admin.site.register(Entry)


class EntryForm(ModelForm):
    class Meta:
        model = Entry
        fields = ["name", "message"]

    def clean(self):
        # Text sent as bad UTF-8 arrives with U+FFFD where the bad bytes were.
        if "\ufffd" in "".join(map(str, self.cleaned_data.values())):
            raise ValidationError("Send the text as UTF-8.")
        return super().clean()


async def index(request):
    form = EntryForm(request.POST or None)
    if form.is_valid():
{%- if cookiecutter.websocket == "channels" and cookiecutter.tasks %}
        await show_live(await sign(form.cleaned_data))
{%- elif cookiecutter.websocket == "channels" %}
        await show_live(await Entry.objects.acreate(**form.cleaned_data))
{%- elif cookiecutter.tasks %}
        await sign(form.cleaned_data)
{%- else %}
        await Entry.objects.acreate(**form.cleaned_data)
{%- endif %}
        # Redirect to this page, so that a reload posts nothing twice.
        return HttpResponseRedirect(request.get_full_path())
    entries = [entry async for entry in Entry.objects.all()[:20]]
    context = {"name": request.GET.get("name", "World"), "form": form}
    return HttpResponse(PAGE.render({**context, "entries": entries}, request))


{%- if cookiecutter.tasks %}


@sync_to_async
@transaction.atomic  # the entry and its mail are saved together, or neither
def sign(data):
    entry = Entry.objects.create(**data)
    tell_the_admins.enqueue(entry.pk)
    return entry


@task
def tell_the_admins(entry_id, tries=1):
    """Mail DJANGO_ADMINS what was signed. With the mail server out of reach, try
    again after 30 s, 1, 2, 4, 8 min (each failed try is listed with its error)."""
    entry = Entry.objects.get(pk=entry_id)
    try:
        mail_admins(f"Guestbook: {entry.name} signed", entry.message)
    except OSError:  # refused, timed out, or smtplib's errors
        if tries < 6:
            later = timezone.now() + timedelta(seconds=30 * 2 ** (tries - 1))
            tell_the_admins.using(run_after=later).enqueue(entry_id, tries + 1)
        raise
{%- endif %}


class DatabaseErrors(MiddlewareMixin):
    """A page whose database cannot be reached answers 503, in one log line
    (with DEBUG on too: the debug page would wait for it again and again); for
    tables that lack migrations, the log says to migrate."""

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        if connection.connection is None or not connection.is_usable():
            response = HttpResponse(UNAVAILABLE, status=503, headers=RETRY)
            reason = str(exception).partition("\n")[0]
            log_response("Database unavailable: %s", reason, response=response)
            return response
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            logging.error(
                "Unapplied migrations: run `python app.py migrate` "
                "(or `uv run app.py migrate`)"
            )
        return None  # Django's 500 (or debug page), with the traceback


UNAVAILABLE = """<!doctype html><title>Unavailable</title>
<meta http-equiv="refresh" content="10"><p>Back in a moment: this page tries again."""
RETRY = {"Retry-After": "10"}
{%- else %}


async def index(request):
    context = {"name": request.GET.get("name", "World")}
    return HttpResponse(PAGE.render(context, request))
{%- endif %}


# Django's template engine escapes what it shows, such as ?name=<b>.
PAGE = engines["django"].from_string(
    """{% raw %}<!doctype html>
<title>Hello</title>
<h1>Hello, {{ name }}!</h1>{% endraw %}
{%- if cookiecutter.database %}
{% raw %}<h2>Guestbook</h2>
<form method="post">{% csrf_token %}
{{ form.as_p }}
<button>Sign</button>
</form>
<ul id="entries">
{% for entry in entries %}
<li data-id="{{ entry.pk }}"><b>{{ entry.name }}</b>: {{ entry.message }}</li>
{% empty %}<li id="no-entries">No entries yet.</li>
{% endfor %}</ul>{% endraw %}
{%- endif %}
{%- if cookiecutter.websocket != "none" %}
{%- if cookiecutter.websocket == "asgi" %}
<form id="echo" data-socket="/ws/echo/">Say something: the server echoes it back.
<input name="message" required> <button disabled>Send</button> <output></output></form>
<ol id="echo-log"></ol>
{%- else %}
<form id="chat" data-socket="/ws/chat/lobby/">Chat with everyone on this page:
<input name="message" required> <button disabled>Say</button> <output></output></form>
<ol id="chat-log"></ol>
{%- endif %}
{% raw %}<script nonce="{{ CSP_NONCE }}">{% endraw %}
  // Keep element's websocket open: reopen it after a random wait of up to 1 s,
  // then 2, 4 ... 30 s (pages come back spread out); while closed, say so.
  function live(element, status, onmessage, tries = 0) {
    const socket = (element.socket = new WebSocket(element.dataset.socket));
    const show = (open) => {
      for (const button of element.querySelectorAll("button")) button.disabled = !open;
      status.value = open ? "" : "reconnecting…";
    };
    socket.onopen = () => { tries = 0; show(true); };
    socket.onmessage = onmessage;
    socket.onclose = () => {
      show(false);
      const wait = Math.random() * Math.min(30, 2 ** tries) * 1000;
      setTimeout(() => live(element, status, onmessage, tries + 1), wait);
    };
  }
  // The form sends {"message": ...} to its websocket; replies show as text.
  const form = document.querySelector("form[data-socket]");
  live(form, form.querySelector("output"), (event) => {
    const item = document.createElement("li");
{%- if cookiecutter.websocket == "channels" and cookiecutter.database %}
    const { name, message } = JSON.parse(event.data); // chat names who said it
    item.textContent = `${name}: ${message}`;
{%- else %}
    item.textContent = JSON.parse(event.data).message;
{%- endif %}
    document.getElementById(form.id + "-log").append(item);
  });
  form.onsubmit = (event) => {
    event.preventDefault();
    form.socket.send(JSON.stringify({ message: form.elements.message.value }));
    form.reset();
  };
{%- if cookiecutter.websocket == "channels" and cookiecutter.database %}
  // New guestbook entries appear at the top of the list as they are signed; on
  // each connection, the server first sends those after the page's newest.
  const entries = document.getElementById("entries");
  const status = document.createElement("output");
  entries.before(status);
  const after = (id) => { entries.dataset.socket = `/ws/guestbook/?after=${id}`; };
  after(entries.firstElementChild.dataset.id ?? 0);
  live(entries, status, (event) => {
    const { id, name, message } = JSON.parse(event.data);
    after(id);
    if (entries.querySelector(`[data-id="${id}"]`)) return; // shown already
    const item = document.createElement("li"), who = document.createElement("b");
    [item.dataset.id, who.textContent] = [id, name];
    item.append(who, `: ${message}`);
    document.getElementById("no-entries")?.remove();
    entries.prepend(item);
  });
{%- endif %}
</script>
{%- endif %}
"""
)
{%- if cookiecutter.database %}

urlpatterns = [path("", index, name="index"), path("admin/", admin.site.urls)]
{%- else %}

urlpatterns = [path("", index, name="index")]
{%- endif %}
{%- if cookiecutter.websocket == "asgi" %}


# Websockets: a handler is an ASGI app, with what its route captures as kwargs.
async def echo(scope, receive, send):
    """Send every message back as it came: text as text, bytes as bytes."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        text, data = message.get("text"), message.get("bytes")
        await send({"type": "websocket.send", "text": text, "bytes": data})


websocket_urlpatterns = [path("ws/echo/", echo)]
{%- elif cookiecutter.websocket == "channels" %}


# Websockets: Channels consumers, routed like views.
class EchoConsumer(websocket.AsyncWebsocketConsumer):
    """Send every message back as it came: text as text, bytes as bytes."""

    channel_layer_alias = None  # it needs no rooms, so it works with Redis down

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


class ChatConsumer(websocket.AsyncJsonWebsocketConsumer):
{%- if cookiecutter.database %}
    """A chat room: each {"message": "..."} goes to every member of the room,
    named by the sender's session (never by what the client sends)."""
{%- else %}
    """A chat room: each {"message": "..."} goes to every member of the room."""
{%- endif %}

    async def connect(self):
        # Channels' group names are ASCII and shorter than 100 characters.
        self.room = f"chat_{self.scope['url_route']['kwargs']['room']}"[:99]
        self.groups.append(self.room)  # Channels leaves them on a disconnect
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        try:  # Channels decodes JSON text, then calls receive_json
            await super().receive(text_data, bytes_data)
        except ValueError:  # bytes, or text that is not JSON
            await self.receive_json(None)

    async def receive_json(self, content):
        if isinstance(content, dict) and isinstance(content.get("message"), str):
            event = {"type": "chat.message", "message": content["message"]}
{%- if cookiecutter.database %}
            event["name"] = self.scope["user"].get_username() or "anonymous"
{%- endif %}
            await self.channel_layer.group_send(self.room, event)
        else:
            await self.send_json({"error": 'Send JSON text like {"message": "Hello"}.'})

    async def chat_message(self, event):
{%- if cookiecutter.database %}
        await self.send_json({"name": event["name"], "message": event["message"]})


class GuestbookConsumer(websocket.AsyncJsonWebsocketConsumer):
    """Each new guestbook entry, for every open index page (see show_live)."""

    groups = ["guestbook"]  # joined when a page connects, left when it goes

    async def connect(self):
        await self.accept()
        # First those signed after the page's newest entry (?after=<its id>),
        # as if they came live: the newest 20, oldest first.
        after = QueryDict(self.scope["query_string"]).get("after", "")
        if after.isdecimal():
            missed = [entry async for entry in Entry.objects.filter(pk__gt=after)[:20]]
            for entry in reversed(missed):
                await self.send_json(shown(entry))

    async def guestbook_entry(self, event):
        await self.send_json(event["entry"])


def shown(entry):
    """What an index page is sent of an entry."""
    return {"id": entry.pk, "name": entry.name, "message": entry.message}


async def show_live(entry):
    """Send a new entry to every open index page (with Redis down: at reload)."""
    try:
        event = {"type": "guestbook.entry", "entry": shown(entry)}
        await get_channel_layer().group_send("guestbook", event)
    except redis.RedisError as error:
        logging.warning("Guestbook entry not shown live: Redis: %s", error)
{%- else %}
        await self.send_json({"message": event["message"]})
{%- endif %}


websocket_urlpatterns = [
    path("ws/echo/", EchoConsumer.as_asgi()),
    path("ws/chat/<slug:room>/", ChatConsumer.as_asgi()),
{%- if cookiecutter.database %}
    path("ws/guestbook/", GuestbookConsumer.as_asgi()),
{%- endif %}
]
{%- endif %}


# ASGI is turtles all the way down: each connection goes to the app for its kind.
async def application(scope, receive, send):
    if scope["type"] == "http":
        await django_application(scope, receive, send)
    elif scope["type"] == "websocket":
        await websocket_application(scope, receive, send)
    else:
        raise ValueError(f"Unknown ASGI scope type {scope['type']!r}")


# ---------------------------------------------------------------------------
# Machinery: the plumbing behind the code above. You can stop reading here.
# ---------------------------------------------------------------------------


class ApiErrors(MiddlewareMixin):  # under /api/, Django's errors answer JSON too
    def process_response(self, request, response):
        api = request.path.startswith("/api/") and response.status_code >= 400
        if api and not isinstance(response, JsonResponse):  # not the view's own
            response.content = JsonResponse({"error": response.reason_phrase}).content
            response["Content-Type"] = "application/json"
            response["Content-Length"] = len(response.content)
        return response


django_application = get_asgi_application()  # Django, with its MIDDLEWARE
{%- if cookiecutter.websocket == "none" %}


async def websocket_application(scope, receive, send):
    # This site speaks HTTP only: close before accepting, so the server says 403.
    logging.warning("Websocket %s refused: this site speaks HTTP only", scope["path"])
    await receive()  # websocket.connect
    await send({"type": "websocket.close"})
{%- else %}


async def refused(scope, receive, send, reason="no route"):
    """Refuse (HTTP 403) a websocket with a foreign Host or Origin, or for reason."""
    headers = {name: value.decode("latin-1") for name, value in scope["headers"]}
    host, origin = headers.get(b"host", ""), headers.get(b"origin", "")
    domains = [split_domain_port(h)[0] for h in (host, origin.partition("://")[2])]
{%- if cookiecutter.database %}
    # It carries the session cookie: want this site, as Django's CSRF check does.
    proxied = headers.get(PROXY_HEADER.lower().encode())  # e.g. x-forwarded-proto
    https = scope.get("scheme") == "wss" or proxied == "https"
    own = f"{'https' if https else 'http'}://{host}"
    if not (domains[0] and validate_host(domains[0], settings.ALLOWED_HOSTS)):
        reason = f"Host {host} is not in ALLOWED_HOSTS"
    elif origin not in [own, *settings.CSRF_TRUSTED_ORIGINS]:
        reason = f"Origin {origin or '(none)'} is not this site ({own})"
{%- else %}
    if not all(d and validate_host(d, settings.ALLOWED_HOSTS) for d in domains):
        reason = f"Host {host} and Origin {origin or '(none)'} must be in ALLOWED_HOSTS"
{%- endif %}
    if reason:
        logging.warning("Websocket %s refused: %s", scope["path"], reason)
        await receive()  # websocket.connect
        await send({"type": "websocket.close"})
    return reason
{%- endif %}
{%- if cookiecutter.websocket == "asgi" %}


class WebsocketRouter:
    """Route websockets with Django's resolver, so that routes are path()s."""

    def __init__(self, urlpatterns):
        self.resolver = re_path(r"^/", include(urlpatterns))

    async def __call__(self, scope, receive, send):
        try:  # keep only what the handler needs: memory held per connection
            handler, _, kwargs = self.resolver.resolve(scope["path"])
        except Resolver404:
            handler = None
        if not await refused(scope, receive, send, "" if handler else "no route"):
{%- if cookiecutter.database %}
            try:
                scope = await with_session_and_user(scope)
            except DatabaseError as error:  # out of reach: the page tries again
                reason = str(error).partition("\n")[0]
                return await refused(scope, receive, send, f"database: {reason}")
{%- endif %}
            await handler(scope, receive, send, **kwargs)


websocket_application = WebsocketRouter(websocket_urlpatterns)
{%- if cookiecutter.database %}


async def with_session_and_user(scope):
    """The scope with Django's session and user, as Channels' AuthMiddlewareStack
    gives them (without a session cookie: AnonymousUser, and no query)."""
    cookie = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
    request = HttpRequest()  # all that auth.get_user() reads is its session
    request.session = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(
        parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME)
    )
    return dict(scope, session=request.session, user=await user_of(request))


@sync_to_async(thread_sensitive=False)  # lookups do not wait for each other
def user_of(request):
    """auth.get_user(), with the care Django takes of a request's database
    connection: closed before and after if it broke or grew old, so that it
    recovers after an outage."""
    close_old_connections()
    try:
        return auth.get_user(request)
    finally:
        close_old_connections()
{%- endif %}
{%- elif cookiecutter.websocket == "channels" %}


async def websocket_application(scope, receive, send):
    try:
        if not await refused(scope, receive, send, reason=""):
            OPEN.add(send)
            if REDIS_URL and not HEARTBEAT:  # one a process, while sockets are open
                HEARTBEAT.add(asyncio.create_task(heartbeat()))
            await websocket_router(scope, receive, send)
    except redis.RedisError as error:  # Redis failed, and may have lost the rooms
        await rejoin(f"Websocket {scope['path']} closed: Redis: {error}")
{%- if cookiecutter.database %}
    except DatabaseError as error:  # likewise the database (Channels cares for
        reason = str(error).partition("\n")[0]  # its connections, as Django)
        logging.warning("Websocket %s closed: database: %s", scope["path"], reason)
        await send({"type": "websocket.close", "code": 4011})
{%- endif %}
    except Exception:
        if send in OPEN:  # not one closed above, which may still try to send
            raise
    finally:
        OPEN.discard(send)


async def heartbeat():
    """While websockets are open, renew a mark on Redis every second: gone, it says
    Redis restarted (unseen by the sockets here) and forgot the rooms too."""
    layer = get_channel_layer()  # channels_redis: its pool, and its unique prefix
    mark, first = f"heartbeat:{layer.client_prefix}", True
    try:
        while OPEN:
            try:
                renewed = await layer.connection(0).set(mark, 1, ex=60, get=True)
                if not renewed and not first:
                    await rejoin("Websockets closed: Redis forgot the rooms")
                first = False
            except redis.RedisError:  # down: the sockets in rooms find out
                pass
            await asyncio.sleep(1)
    finally:
        HEARTBEAT.discard(asyncio.current_task())


async def rejoin(reason):
    """Close every websocket here (4011: 1011 is daphne's): their pages rejoin."""
    logging.warning(reason)
    for task in HEARTBEAT - {asyncio.current_task()}:
        task.cancel()
    while OPEN:
        await OPEN.pop()({"type": "websocket.close", "code": 4011})


OPEN, HEARTBEAT = set(), set()  # the send of each open websocket; the heartbeat
{%- if cookiecutter.database %}
routes = URLRouter([*websocket_urlpatterns, re_path("", refused)])  # no route: 403
websocket_router = AuthMiddlewareStack(routes)  # self.scope["user"], ["session"]
{%- else %}
websocket_router = URLRouter([*websocket_urlpatterns, re_path("", refused)])  # 403
{%- endif %}
{%- endif %}


# Speed: Django runs each hook of a sync middleware in a thread, ~150 µs a hop
# (django/new-features#102). These built-in ones (not yours) only read the request
# and set headers: theirs run in the event loop, about 2x the requests/s (bench/).
async def call_hooks_in_event_loop(self, request):
    response = None
    if hasattr(self, "process_request"):
        response = self.process_request(request)
    response = response or await self.get_response(request)
    if hasattr(self, "process_response"):
        response = self.process_response(request, response)
    return response


for name in [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]:
    import_string(name).__acall__ = call_hooks_in_event_loop
ApiErrors.__acall__ = call_hooks_in_event_loop  # it only rewrites error responses
# With CSRF_USE_SESSIONS, CSRF's hooks read the session: they keep their thread.
if not settings.CSRF_USE_SESSIONS:
    CsrfViewMiddleware.__acall__ = call_hooks_in_event_loop
{%- if not cookiecutter.database %}

# Without a database, Django's per-request database housekeeping is a wasted hop.
request_started.disconnect(reset_queries)
request_started.disconnect(close_old_connections)
{%- else %}


def check_the_pool():
    """A restart of PostgreSQL breaks the pool's idle connections, which the
    pool finds only as it hands them out, waiting a second after each: test
    them every second instead, so that the first page after it is served."""
    while not time.sleep(1):
        if not connection.pool.closed:
            connection.pool.check()


if DATABASE["ENGINE"] == "django.db.backends.postgresql":
    threading.Thread(target=check_the_pool, daemon=True).start()
{%- endif %}


def one_line_for_client_errors(record):  # a 4xx is the client's: no traceback
    if getattr(record, "status_code", 500) < 500:
        record.exc_info = record.exc_text = None
    return True


# Django's messages and yours go to stderr, once, whichever server runs the app.
FORMAT = "%(asctime)s %(levelname)-8s %(message)s"
logging.basicConfig(format=FORMAT, level=logging.INFO, force=True)
logging.root.handlers[0].addFilter(one_line_for_client_errors)

# Refuse to start without a key (a random one per start would void sessions
# and tokens), or, with DEBUG off, with one Django's deploy check calls weak.
KEY = env.str("DJANGO_SECRET_KEY", "")
if check_secret_key(None) and not (settings.DEBUG and KEY):  # security.W009
    problem = "too weak for DEBUG off (security.W009)" if KEY else "not set"
    clone = " (in a new clone, cp .env.example .env first)"
    where = "" if ENV_FILE == "/dev/null" else f"{ENV_FILE}{clone} or "
    sys.exit(  # one line, no traceback
        f"ERROR: DJANGO_SECRET_KEY is {problem}: put one in {where}the environment; "
        "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

{%- if cookiecutter.tasks %}


def requeue_the_lost():
    """At least once: a task RUNNING for 45 s lost its worker (killed: a send gives
    up after 10 s), so queue it again."""
    from django_tasks_db.models import DBTaskResult  # noqa: PLC0415 (a model)

    while not time.sleep(5):
        lost = timezone.now() - timedelta(seconds=45)
        DBTaskResult.objects.running().filter(started_at__lt=lost).update(
            status="READY"
        )


if sys.argv[1:2] == ["db_worker"]:
    threading.Thread(target=requeue_the_lost, daemon=True).start()
{%- endif %}


if __name__ == "__main__":
    execute_from_command_line(sys.argv)
