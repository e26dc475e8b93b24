import ast
import inspect
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
{%- if cookiecutter.database and cookiecutter.websocket != "none" %}
from asgiref.sync import async_to_sync
{%- endif %}
from asgiref.testing import ApplicationCommunicator
{%- if cookiecutter.websocket == "channels" and cookiecutter.database %}
from channels.testing import WebsocketCommunicator
{%- endif %}
from django.apps import apps
from django.conf import settings
{%- if cookiecutter.database %}
from django.contrib.auth.models import User
{%- endif %}
{%- if cookiecutter.database and cookiecutter.websocket != "none" %}
from django.db import connection
from django.db.backends.signals import connection_created
{%- endif %}
from django.http import HttpResponse
from django.template import engines
from django.test import (
    AsyncClient,
    SimpleTestCase,
    TestCase,
    TransactionTestCase,
    override_settings,
)
from django.urls import path
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

import app

APP = Path(__file__).with_name("app.py")
KEY = "k" * 10 + "-a-test-key-that-is-long-enough-and-varied-0123456789"
WEAK_KEY = "dev"
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
CSP = {
    "default-src": "'none'",
    "script-src": "'self'",
    "connect-src": "'self'",
    "img-src": "'self'",
    "style-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def key_error(problem, env_file):
    """The one line app.py stops with when its key is missing or weak."""
    return (
        f"ERROR: DJANGO_SECRET_KEY is {problem}: put one in {env_file} (in a new "
        f"clone, cp .env.example .env first) or the environment; make one with: "
        f"{MAKE_A_KEY}\n"
    )


def policy(header):
    """A Content-Security-Policy header as {directive: sources}."""
    return dict(directive.strip().split(" ", 1) for directive in header.split(";"))


async def styled(request):
    """A page with an inline style, as README.md's "Add a style" writes one."""
    page = engines["django"].from_string(
        '<style nonce="{{ "{{" }} CSP_NONCE {{ "}}" }}">h1 { color: teal; }</style>'
    )
    return HttpResponse(page.render({}, request))


urlpatterns = [path("styled/", styled)]  # for the tests that use this module

SHOW_SETTINGS = """
import json
import app
from django.conf import settings
names = [
    "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""
SHOW_CSRF_ACALL = """
import app
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.deprecation import MiddlewareMixin
print(CsrfViewMiddleware.__acall__ is MiddlewareMixin.__acall__)
"""
# Where there is a database, the index reads it, and Channels' consumers close
# its old connections: their tests need it too. (app.py is an installed app
# exactly when it has models.)
PageTestCase = TestCase if apps.is_installed("app") else SimpleTestCase
SocketTestCase = TransactionTestCase if apps.is_installed("app") else SimpleTestCase
# The built-in middleware whose hooks run in the event loop.
HEADER_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
PRODUCTION_DEFAULTS = {
    "DEBUG": False,
    "ALLOWED_HOSTS": ["localhost", "127.0.0.1", "[::1]"],
    "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}


class IndexTests(PageTestCase):
    async def test_greets_the_world_by_default(self):
        response = await self.async_client.get("/")

        self.assertContains(response, "<h1>Hello, World!</h1>")
        self.assertEqual(response["Content-Type"], "text/html; charset=utf-8")

    async def test_greets_by_name(self):
        response = await self.async_client.get("/", {"name": "Django user"})

        self.assertContains(response, "Hello, Django user!")

    async def test_escapes_the_name(self):
        response = await self.async_client.get("/", {"name": "<b>&'\""})

        self.assertContains(response, "Hello, &lt;b&gt;&amp;&#x27;&quot;!")
        self.assertNotContains(response, "<b>")

    async def test_unknown_path_is_404(self):
        response = await self.async_client.get("/nowhere/")

        self.assertEqual(response.status_code, 404)

    async def test_foreign_host_is_refused(self):
        response = await self.async_client.get("/", headers={"host": "evil.example"})

        self.assertEqual(response.status_code, 400)

    async def test_sends_security_headers(self):
        response = await self.async_client.get("/", secure=True)

        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response["X-Frame-Options"], "DENY")
        self.assertEqual(response["Referrer-Policy"], "same-origin")
        self.assertEqual(response["Cross-Origin-Opener-Policy"], "same-origin")
        self.assertEqual(
            response["Strict-Transport-Security"],
            "max-age=31536000; includeSubDomains; preload",
        )

    async def test_sends_a_strict_content_security_policy(self):
        response = await self.async_client.get("/nowhere/")

        # A page that uses no nonce: everything from this site only.
        self.assertEqual(policy(response["Content-Security-Policy"]), CSP)

    @override_settings(ROOT_URLCONF=__name__)
    async def test_a_page_that_uses_the_nonce_allows_its_inline_styles_and_scripts(
        self,
    ):
        response = await self.async_client.get("/styled/")

        nonce = re.search(r'<style nonce="([^"]+)">', response.text)[1]
        self.assertEqual(
            policy(response["Content-Security-Policy"]),
            CSP
            | {
                "script-src": f"'self' 'nonce-{nonce}'",
                "style-src": f"'self' 'nonce-{nonce}'",
            },
        )

    @override_settings(ROOT_URLCONF=__name__)
    async def test_each_response_has_a_nonce_of_its_own(self):
        first = await self.async_client.get("/styled/")
        second = await self.async_client.get("/styled/")

        sources = [policy(r["Content-Security-Policy"]) for r in (first, second)]
        self.assertNotEqual(sources[0]["style-src"], sources[1]["style-src"])

    async def test_post_without_csrf_token_is_refused(self):
        client = AsyncClient(enforce_csrf_checks=True)

        response = await client.post("/", {"name": "Mallory"})

        self.assertEqual(response.status_code, 403)


@pytest.fixture
def python(tmp_path):
    """Run Python beside a copy of app.py, with only the given env variables.

    The copy sits in a folder of its own, so only a .env the test writes is read.
    """
    shutil.copy(APP, tmp_path)
    if (APP.parent / "migrations").exists():
        shutil.copytree(APP.parent / "migrations", tmp_path / "migrations")

    def run(*args, **env):
        return subprocess.run(
            [sys.executable, *args],
            cwd=tmp_path,
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            text=True,
            check=False,
        )

    return run


def error_of(result):
    """The error an import of app.py stopped with: its traceback's last line."""
    assert result.returncode == 1
    return result.stderr.splitlines()[-1]


class Recorder(MiddlewareMixin):
    """Middleware of your own, recording the thread its hook runs in."""

    threads = []

    def process_request(self, request):
        self.threads.append(threading.get_ident())


class ThreadTests(PageTestCase):
    def record_threads(self):
        """Wrap the built-in middleware's hooks to record the threads they run in."""
        threads = []
        for name in HEADER_MIDDLEWARE:
            middleware = import_string(name)
            for hook in ("process_request", "process_response"):
                if original := middleware.__dict__.get(hook):

                    def recording(self, *args, _original=original):
                        threads.append(threading.get_ident())
                        return _original(self, *args)

                    setattr(middleware, hook, recording)
                    self.addCleanup(setattr, middleware, hook, original)
        return threads

    async def test_built_in_middleware_hooks_run_in_the_event_loop(self):
        threads = self.record_threads()

        response = await AsyncClient().get("/")

        self.assertEqual(response.status_code, 200)
        # Both hooks of each, but X-Frame-Options has no process_request.
        self.assertEqual(threads, [threading.get_ident()] * 9)

    @override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, "test_app.Recorder"])
    async def test_your_own_middleware_keeps_djangos_thread_handling(self):
        Recorder.threads.clear()

        response = await AsyncClient().get("/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(Recorder.threads), 1)
        self.assertNotEqual(Recorder.threads[0], threading.get_ident())


class WithoutThreadHops(ast.NodeTransformer):
    """Read `await sync_to_async(hook, ...)(arguments)` as `hook(arguments)`."""

    def visit_Await(self, node):
        call = node.value
        if getattr(getattr(call, "func", None), "func", None) is not None:
            if getattr(call.func.func, "id", None) == "sync_to_async":
                return ast.Call(func=call.func.args[0], args=call.args, keywords=[])
        return self.generic_visit(node)


def body_of(function, transform):
    """A function's body as an AST dump, without its docstring."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    body = [node for node in tree.body if not isinstance(node, ast.Expr)]
    return ast.dump(transform.visit(ast.Module(body=body, type_ignores=[])))


def test_the_speed_patch_is_djangos_own_acall_minus_the_thread_hops():
    # If a Django release changes MiddlewareMixin.__acall__, this fails, and
    # call_hooks_in_event_loop needs the same change.
    ours = body_of(app.call_hooks_in_event_loop, ast.NodeTransformer())

    assert ours == body_of(MiddlewareMixin.__acall__, WithoutThreadHops())


def test_csrf_hooks_keep_djangos_thread_with_csrf_use_sessions(python, tmp_path):
    copy = tmp_path / "app.py"
    copy.write_text(
        copy.read_text().replace(
            "LOGGING_CONFIG=None,", "LOGGING_CONFIG=None, CSRF_USE_SESSIONS=True,"
        )
    )

    result = python("-c", SHOW_CSRF_ACALL, DJANGO_SECRET_KEY=KEY)

    assert (result.stdout, result.stderr) == ("True\n", "")


def test_reads_settings_from_the_environment(python):
    result = python(
        "-c",
        SHOW_SETTINGS,
        DJANGO_SECRET_KEY=KEY,
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="example.com, www.example.com",
    )

    shown = json.loads(result.stdout)
    assert result.stderr == ""
    assert shown["SECRET_KEY"] == KEY
    assert shown["DEBUG"] is True
    assert shown["ALLOWED_HOSTS"] == ["example.com", "www.example.com"]


def test_reads_settings_from_dotenv(python, tmp_path):
    (tmp_path / ".env").write_text(
        f"DJANGO_SECRET_KEY={KEY}\nDJANGO_DEBUG=1\nDJANGO_ALLOWED_HOSTS=example.com\n"
    )

    result = python("-c", SHOW_SETTINGS)

    shown = json.loads(result.stdout)
    assert shown["SECRET_KEY"] == KEY
    assert shown["DEBUG"] is True
    assert shown["ALLOWED_HOSTS"] == ["example.com"]


def test_environment_wins_over_dotenv(python, tmp_path):
    (tmp_path / ".env").write_text(
        "DJANGO_SECRET_KEY=from-dotenv\nDJANGO_DEBUG=1\nDJANGO_ALLOWED_HOSTS=a.test\n"
    )

    result = python(
        "-c",
        SHOW_SETTINGS,
        DJANGO_SECRET_KEY=KEY,
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="b.test",
    )

    shown = json.loads(result.stdout)
    assert shown["SECRET_KEY"] == KEY
    assert shown["DEBUG"] is False
    assert shown["ALLOWED_HOSTS"] == ["b.test"]


def test_defaults_are_production_safe(python):
    result = python("-c", SHOW_SETTINGS, DJANGO_SECRET_KEY=KEY)

    assert json.loads(result.stdout) == {"SECRET_KEY": KEY, **PRODUCTION_DEFAULTS}


def test_https_settings_follow_the_environment(python):
    result = python(
        "-c",
        SHOW_SETTINGS,
        DJANGO_SECRET_KEY=KEY,
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Scheme",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_HSTS_SECONDS="3600",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_SECURE_HSTS_PRELOAD="0",
        DJANGO_SECURE_COOKIES="0",
    )

    assert json.loads(result.stdout) == {
        **PRODUCTION_DEFAULTS,
        "SECRET_KEY": KEY,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_SCHEME", "https"],
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
    }


def test_an_empty_proxy_header_trusts_no_proxy(python):
    result = python(
        "-c", SHOW_SETTINGS, DJANGO_SECRET_KEY=KEY, DJANGO_SECURE_PROXY_SSL_HEADER=""
    )

    assert json.loads(result.stdout)["SECURE_PROXY_SSL_HEADER"] is None


def test_passes_the_deploy_check(python):
    result = python(
        "app.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY=KEY,
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="example.com",
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "System check identified no issues (0 silenced).\n"


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("x9-" * 16, id="short"),
        pytest.param("ab" * 30, id="few-distinct-characters"),
        pytest.param("django-insecure-" + KEY, id="insecure-prefix"),
    ],
)
def test_weak_key_is_refused_with_debug_off(python, tmp_path, key):
    result = python("-c", "import app", DJANGO_SECRET_KEY=key, DJANGO_DEBUG="0")

    assert (result.returncode, result.stderr) == (
        1,
        key_error("too weak for DEBUG off (security.W009)", tmp_path / ".env"),
    )


def test_weak_key_is_allowed_with_debug_on(python):
    result = python("-c", "import app", DJANGO_SECRET_KEY=WEAK_KEY, DJANGO_DEBUG="1")

    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("debug", ["0", "1"])
def test_missing_secret_key_is_an_error(python, tmp_path, debug):
    result = python("-c", "import app", DJANGO_DEBUG=debug)

    assert (result.returncode, result.stderr) == (
        1,
        key_error("not set", tmp_path / ".env"),
    )


def test_the_key_error_names_the_file_django_env_file_names(python):
    result = python("-c", "import app", DJANGO_ENV_FILE="/srv/site.env")

    assert (result.returncode, result.stderr) == (
        1,
        key_error("not set", "/srv/site.env"),
    )


def test_the_key_error_names_only_the_environment_when_no_file_is_read(python):
    result = python("-c", "import app", DJANGO_ENV_FILE="/dev/null")

    assert (result.returncode, result.stderr) == (
        1,
        key_error("not set", "/dev/null").replace(
            "put one in /dev/null (in a new clone, cp .env.example .env first) or "
            "the environment",
            "put one in the environment",
        ),
    )


def test_reads_the_file_django_env_file_names(python, tmp_path):
    (tmp_path / "site.env").write_text(f"DJANGO_SECRET_KEY={KEY}\nDJANGO_DEBUG=1\n")

    result = python("-c", SHOW_SETTINGS, DJANGO_ENV_FILE=str(tmp_path / "site.env"))

    shown = json.loads(result.stdout)
    assert (shown["SECRET_KEY"], shown["DEBUG"]) == (KEY, True)


def test_the_production_check_ignores_a_dotenv_that_relaxes_it(python, tmp_path):
    # What README.md's production check runs on a developer's machine.
    dotenv = f"DJANGO_DEBUG=1\nDJANGO_SECURE_SSL_REDIRECT=0\nDJANGO_SECRET_KEY={KEY}\n"
    (tmp_path / ".env").write_text(dotenv)
    check = ["app.py", "check", "--deploy", "--fail-level", "WARNING"]

    relaxed = python(*check)
    production = python(*check, DJANGO_ENV_FILE="/dev/null", DJANGO_SECRET_KEY=KEY)

    assert relaxed.returncode == 1
    assert (production.returncode, production.stderr) == (0, "")
    assert production.stdout == "System check identified no issues (0 silenced).\n"


def test_the_key_recipe_makes_a_key_django_calls_strong(python):
    _python, *arguments = shlex.split(MAKE_A_KEY)
    key = subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    result = python("-c", "import app", DJANGO_SECRET_KEY=key, DJANGO_DEBUG="0")

    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DJANGO_DEBUG", "maybe", "Not a valid boolean."),
        ("DJANGO_SECURE_SSL_REDIRECT", "on please", "Not a valid boolean."),
        ("DJANGO_SECURE_HSTS_SECONDS", "soon", "Not a valid integer."),
        ("DJANGO_SECURE_HSTS_SECONDS", "²", "Not a valid integer."),
        (
            "DJANGO_SECURE_HSTS_SECONDS",
            "-1",
            "['Must be greater than or equal to 0.']",
        ),
    ],
)
def test_a_bad_value_stops_the_app_naming_the_variable(python, name, value, problem):
    result = python("-c", "import app", DJANGO_SECRET_KEY=KEY, **{name: value})

    assert error_of(result) == (
        "environs.exceptions.EnvValidationError: "
        f'Environment variable "{name}" invalid: {problem}'
    )


def test_doubles_as_manage_py(python):
    result = python("app.py", "check", DJANGO_SECRET_KEY=KEY)

    assert result.returncode == 0
    assert result.stdout == "System check identified no issues (0 silenced).\n"


def websocket_scope(path, origin="http://localhost", host="localhost"):
    """A websocket connection's scope, as a server hands it to the app."""
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {
        "type": "websocket",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "subprotocols": [],
    }


def refused(path, reason):
    """The line app.py logs when it refuses a websocket."""
    return f"WARNING:root:Websocket {path} refused: {reason}"
{%- if cookiecutter.database and cookiecutter.websocket != "none" %}


def with_headers(scope, **headers):
    """scope with more headers (x_forwarded_proto="https" for X-Forwarded-Proto)."""
    more = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return scope | {"headers": scope["headers"] + more}


{%- endif %}


def compact(message):
    """An ASGI message without its None values (apps may leave them out)."""
    return {key: value for key, value in message.items() if value is not None}


class ApplicationTests(SimpleTestCase):
    async def test_answers_lifespan_startup_and_shutdown(self):
        server = ApplicationCommunicator(app.application, {"type": "lifespan"})

        await server.send_input({"type": "lifespan.startup"})
        started = await server.receive_output()
        await server.send_input({"type": "lifespan.shutdown"})
        stopped = await server.receive_output()
        await server.wait(timeout=1)

        self.assertEqual(started, {"type": "lifespan.startup.complete"})
        self.assertEqual(stopped, {"type": "lifespan.shutdown.complete"})

    async def test_unknown_scope_type_is_an_error(self):
        unknown = ApplicationCommunicator(app.application, {"type": "webtransport"})

        with self.assertRaisesRegex(ValueError, "'webtransport'"):
            await unknown.wait(timeout=1)
{%- if cookiecutter.websocket == "none" %}

    async def test_refuses_websockets_in_one_log_line(self):
        socket = ApplicationCommunicator(app.application, websocket_scope("/ws/"))

        with self.assertLogs(level="WARNING") as logs:
            await socket.send_input({"type": "websocket.connect"})
            reply = await socket.receive_output()
            await socket.wait(timeout=1)

        self.assertEqual(reply, {"type": "websocket.close"})
        self.assertEqual(logs.output, [refused("/ws/", "this site speaks HTTP only")])
{%- else %}


class WebsocketTests(SocketTestCase):
    async def connect(self, path, **headers):
        """Open a websocket to the app; return it and the app's first reply."""
{%- if cookiecutter.database %}
        more = {k: headers.pop(k) for k in list(headers) if k not in ("origin", "host")}
        scope = with_headers(websocket_scope(path, **headers), **more)
{%- else %}
        scope = websocket_scope(path, **headers)
{%- endif %}
        socket = ApplicationCommunicator(app.application, scope)
        await socket.send_input({"type": "websocket.connect"})
        return socket, compact(await socket.receive_output())

    async def disconnect(self, socket):
        """Hang up, and check that the app then finishes promptly."""
        await socket.send_input({"type": "websocket.disconnect", "code": 1000})
        await socket.wait(timeout=1)

    async def test_echoes_text(self):
        socket, reply = await self.connect("/ws/echo/")

        await socket.send_input({"type": "websocket.receive", "text": "Hello"})
        echo = await socket.receive_output()
        await self.disconnect(socket)

        self.assertEqual(reply["type"], "websocket.accept")
        self.assertEqual(compact(echo), {"type": "websocket.send", "text": "Hello"})

    async def test_echoes_bytes(self):
        socket, _ = await self.connect("/ws/echo/")
        data = bytes(range(256))

        await socket.send_input({"type": "websocket.receive", "bytes": data})
        echo = await socket.receive_output()
        await self.disconnect(socket)

        self.assertEqual(compact(echo), {"type": "websocket.send", "bytes": data})

    async def refusal(self, path, **headers):
        """Connect; return the app's reply and what it logged."""
        with self.assertLogs(level="WARNING") as logs:
            socket, reply = await self.connect(path, **headers)
            await self.disconnect(socket)
        return reply, logs.output

{%- if cookiecutter.database %}

    async def test_refuses_a_foreign_host_or_origin_saying_why(self):
        # It may carry a session: its Origin must be this site, as for CSRF.
        cases = {
            "foreign origin": (
                "localhost",
                "https://evil.example",
                "Origin https://evil.example is not this site (http://localhost)",
            ),
            "missing origin": (
                "localhost",
                None,
                "Origin (none) is not this site (http://localhost)",
            ),
            "null origin": (
                "localhost",
                "null",
                "Origin null is not this site (http://localhost)",
            ),
            "foreign host": (
                "evil.example",
                "http://localhost",
                "Host evil.example is not in ALLOWED_HOSTS",
            ),
            "another port": (
                "localhost:8000",
                "http://localhost:9999",
                "Origin http://localhost:9999 is not this site (http://localhost:8000)",
            ),
            "https page, http site": (
                "localhost",
                "https://localhost",
                "Origin https://localhost is not this site (http://localhost)",
            ),
        }
        for case, (host, origin, reason) in cases.items():
            with self.subTest(case):
                refusal = await self.refusal("/ws/echo/", host=host, origin=origin)

                self.assertEqual(
                    refusal,
                    ({"type": "websocket.close"}, [refused("/ws/echo/", reason)]),
                )

    async def test_refuses_an_http_page_behind_a_tls_proxy_saying_why(self):
        refusal = await self.refusal(
            "/ws/echo/", origin="http://localhost", x_forwarded_proto="https"
        )

        reason = "Origin http://localhost is not this site (https://localhost)"
        self.assertEqual(
            refusal, ({"type": "websocket.close"}, [refused("/ws/echo/", reason)])
        )
{%- else %}

    async def test_refuses_a_foreign_host_or_origin_saying_why(self):
        cases = {
            "foreign origin": ("localhost", "https://evil.example"),
            "missing origin": ("localhost", None),
            "null origin": ("localhost", "null"),
            "foreign host": ("evil.example", "http://localhost"),
        }
        for case, (host, origin) in cases.items():
            with self.subTest(case):
                refusal = await self.refusal("/ws/echo/", host=host, origin=origin)

                reason = f"Host {host} and Origin {origin or '(none)'} must be in"
                self.assertEqual(
                    refusal,
                    (
                        {"type": "websocket.close"},
                        [refused("/ws/echo/", f"{reason} ALLOWED_HOSTS")],
                    ),
                )

{%- endif %}

    async def test_refuses_an_unknown_path_saying_why(self):
        refusal = await self.refusal("/ws/nowhere/")

        self.assertEqual(
            refusal,
            ({"type": "websocket.close"}, [refused("/ws/nowhere/", "no route")]),
        )
{%- endif %}
{%- if cookiecutter.database and cookiecutter.websocket != "none" %}

    async def test_accepts_this_site_behind_a_tls_proxy(self):
        socket, reply = await self.connect(
            "/ws/echo/", origin="https://localhost", x_forwarded_proto="https"
        )
        await self.disconnect(socket)

        self.assertEqual(reply, {"type": "websocket.accept"})

    @override_settings(CSRF_TRUSTED_ORIGINS=["https://www.example.com"])
    async def test_accepts_a_trusted_origin(self):
        socket, reply = await self.connect(
            "/ws/echo/", origin="https://www.example.com"
        )
        await self.disconnect(socket)

        self.assertEqual(reply, {"type": "websocket.accept"})
{%- endif %}
{%- if cookiecutter.websocket == "asgi" %}

    async def test_routes_pass_captured_arguments_to_the_handler(self):
        captured = []

        async def handler(scope, receive, send, **kwargs):
            captured.append(kwargs)
            await receive()
            await send({"type": "websocket.accept"})

        route = path("ws/rooms/<slug:room>/<int:page>/", handler)
        router = app.WebsocketRouter([route])
        socket = ApplicationCommunicator(router, websocket_scope("/ws/rooms/tea/2/"))
        await socket.send_input({"type": "websocket.connect"})
        await socket.receive_output()
        await socket.wait(timeout=1)

        self.assertEqual(captured, [{"room": "tea", "page": 2}])
{%- elif cookiecutter.websocket == "channels" %}

    async def test_chat_reaches_every_member_of_the_room_and_no_other(self):
        alice, _ = await self.connect("/ws/chat/tea/")
        bob, _ = await self.connect("/ws/chat/tea/")
        carol, _ = await self.connect("/ws/chat/coffee/")

        said = '{"message": "Hi"}'
        await alice.send_input({"type": "websocket.receive", "text": said})
        to_alice = await alice.receive_output()
        to_bob = await bob.receive_output()
        carol_heard_nothing = await carol.receive_nothing()
        for socket in (alice, bob, carol):
            await self.disconnect(socket)
{%- if cookiecutter.database %}

        heard = {"name": "anonymous", "message": "Hi"}  # a visitor not logged in
        sent = {"type": "websocket.send", "text": json.dumps(heard)}
{%- else %}

        sent = {"type": "websocket.send", "text": said}
{%- endif %}
        self.assertEqual((to_alice, to_bob), (sent, sent))
        self.assertIs(carol_heard_nothing, True)

    async def test_chat_answers_a_malformed_message_with_an_error(self):
        socket, _ = await self.connect("/ws/chat/tea/")

        await socket.send_input({"type": "websocket.receive", "text": "Hi"})
        reply = await socket.receive_output()
        await self.disconnect(socket)

        error = {"error": 'Send JSON text like {"message": "Hello"}.'}
        self.assertEqual(reply, {"type": "websocket.send", "text": json.dumps(error)})

    async def test_chat_takes_a_long_room_name_by_its_first_94_characters(self):
        alice, reply = await self.connect("/ws/chat/" + "a" * 94 + "b" * 200 + "/")
        bob, _ = await self.connect("/ws/chat/" + "a" * 94 + "/")

        said = '{"message": "Hi"}'
        await alice.send_input({"type": "websocket.receive", "text": said})
        to_bob = await bob.receive_output()
        for socket in (alice, bob):
            await self.disconnect(socket)

        self.assertEqual(reply, {"type": "websocket.accept"})
{%- if cookiecutter.database %}
        heard = {"name": "anonymous", "message": "Hi"}
        self.assertEqual(to_bob, {"type": "websocket.send", "text": json.dumps(heard)})
{%- else %}
        self.assertEqual(to_bob, {"type": "websocket.send", "text": said})
{%- endif %}

    async def test_chat_refuses_a_room_name_that_cannot_be_a_group_name(self):
        socket, reply = await self.connect("/ws/chat/café/")
        await self.disconnect(socket)

        self.assertEqual(reply, {"type": "websocket.close"})
{%- endif %}
{%- if cookiecutter.database and cookiecutter.websocket != "none" %}


class WhoIsThereTests(TransactionTestCase):
    """With a database, a websocket knows its visitor from the session cookie."""

    async def visitor(self, username=None):
        """The headers of a browser on this site: those of username, logged in
        (with its session cookie), or of an anonymous visitor (none)."""
        if username is None:
            return {}
        user = await User.objects.acreate_user(
            username, password="a long and varied pass phrase 42"
        )
        await self.async_client.aforce_login(user)
        name = settings.SESSION_COOKIE_NAME
        return {"cookie": f"{name}={self.async_client.cookies[name].value}"}

    def queries_of_a_connection(self, **headers):
        """Connect to the echo; the SQL it took, and the app's reply."""
        queries = []

        def record(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        def record_on(connection, **kwargs):  # of a thread of the lookup's own
            connection.execute_wrappers.append(record)

        async def connect():
            scope = with_headers(websocket_scope("/ws/echo/"), **headers)
            socket = ApplicationCommunicator(app.application, scope)
            await socket.send_input({"type": "websocket.connect"})
            reply = await socket.receive_output()
            await socket.send_input({"type": "websocket.disconnect", "code": 1000})
            await socket.wait(timeout=1)
            return reply

        connection_created.connect(record_on)
        try:
            with connection.execute_wrapper(record):
                reply = async_to_sync(connect)()
        finally:
            connection_created.disconnect(record_on)
        return queries, compact(reply)

    def test_a_connection_without_a_session_cookie_makes_no_query(self):
        queries, reply = self.queries_of_a_connection()

        self.assertEqual((queries, reply), ([], {"type": "websocket.accept"}))

    def test_a_connection_with_a_session_cookie_looks_its_user_up(self):
        headers = async_to_sync(self.visitor)("ada")

        queries, reply = self.queries_of_a_connection(**headers)

        self.assertEqual(reply, {"type": "websocket.accept"})
        self.assertNotEqual(queries, [])
{%- endif %}
{%- if cookiecutter.database and cookiecutter.websocket == "asgi" %}

    async def test_a_handler_finds_the_visitor_in_its_scope(self):
        seen = []

        async def who(scope, receive, send):
            seen.append((scope["user"].get_username(), scope["session"].session_key))
            await receive()
            await send({"type": "websocket.close"})

        router = app.WebsocketRouter([path("ws/who/", who)])
        ada = await self.visitor("ada")
        for headers in [ada, await self.visitor()]:
            scope = with_headers(websocket_scope("/ws/who/"), **headers)
            socket = ApplicationCommunicator(router, scope)
            await socket.send_input({"type": "websocket.connect"})
            await socket.receive_output()
            await socket.wait(timeout=1)

        session_key = ada["cookie"].partition("=")[2]
        self.assertEqual(seen, [("ada", session_key), ("", None)])
{%- elif cookiecutter.database and cookiecutter.websocket == "channels" %}

    async def chat(self, content, **headers):
        """Say content in the chat room "tea"; what the room then hears."""
        scope = with_headers(websocket_scope("/ws/chat/tea/"), **headers)
        socket = WebsocketCommunicator(app.application, scope["path"], scope["headers"])
        await socket.connect()
        await socket.send_json_to(content)
        heard = await socket.receive_json_from()
        await socket.disconnect()
        return heard

    async def test_chat_names_a_logged_in_sender(self):
        heard = await self.chat({"message": "Hi"}, **await self.visitor("ada"))

        self.assertEqual(heard, {"name": "ada", "message": "Hi"})

    async def test_chat_names_an_anonymous_sender(self):
        heard = await self.chat({"message": "Hi"}, **await self.visitor())

        self.assertEqual(heard, {"name": "anonymous", "message": "Hi"})

    async def test_chat_ignores_a_name_the_client_sends(self):
        spoofed = {"message": "Hi", "name": "ada", "user": "ada"}

        heard = await self.chat(spoofed, **await self.visitor())

        self.assertEqual(heard, {"name": "anonymous", "message": "Hi"})

    async def test_the_next_connection_sees_a_logout(self):
        ada = await self.visitor("ada")
        before = await self.chat({"message": "In"}, **ada)

        await self.async_client.alogout()
        after = await self.chat({"message": "Out"}, **ada)

        self.assertEqual(before, {"name": "ada", "message": "In"})
        self.assertEqual(after, {"name": "anonymous", "message": "Out"})

    async def test_a_new_entry_reaches_every_open_index_page(self):
        scope = websocket_scope("/ws/guestbook/")
        page = WebsocketCommunicator(app.application, scope["path"], scope["headers"])
        await page.connect()

        await self.async_client.post("/", {"name": "Ada", "message": "Hi <b>"})
        entry = await page.receive_json_from()
        await page.disconnect()

        signed = await app.Entry.objects.aget()
        self.assertEqual(entry, {"id": signed.pk, "name": "Ada", "message": "Hi <b>"})

    async def test_a_page_that_reconnects_first_gets_the_entries_it_missed(self):
        newest = await app.Entry.objects.acreate(name="Ada", message="seen")
        for message in ["missed", "missed too"]:
            await app.Entry.objects.acreate(name="Bea", message=message)
        scope = websocket_scope(f"/ws/guestbook/?after={newest.pk}")
        page = WebsocketCommunicator(app.application, scope["path"], scope["headers"])
        await page.connect()

        missed = [await page.receive_json_from() for _ in range(2)]
        nothing_more = await page.receive_nothing()
        await page.disconnect()

        self.assertEqual(
            [(entry["name"], entry["message"]) for entry in missed],
            [("Bea", "missed"), ("Bea", "missed too")],
        )
        self.assertIs(nothing_more, True)
{%- endif %}
{%- if cookiecutter.websocket == "channels" %}


SHOW_LAYER = """
import json
import app
from django.conf import settings
print(json.dumps(settings.CHANNEL_LAYERS))
"""

CHAT = """
import asyncio
from asgiref.testing import ApplicationCommunicator
from django.apps import apps
import app

async def chat():
    socket = ApplicationCommunicator(app.application, {
        "type": "websocket",
        "path": "/ws/chat/tea/",
        "headers": [(b"host", b"localhost"), (b"origin", b"http://localhost")],
    })
    await socket.send_input({"type": "websocket.connect"})
    print(await socket.receive_output())
    await socket.wait(timeout=5)

asyncio.run(chat())
"""


def test_rooms_live_in_memory_without_redis_url(python):
    result = python("-c", SHOW_LAYER, DJANGO_SECRET_KEY=KEY)

    assert json.loads(result.stdout) == {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }


def test_rooms_live_on_redis_with_redis_url(python):
    result = python(
        "-c", SHOW_LAYER, DJANGO_SECRET_KEY=KEY, REDIS_URL="redis://localhost:6379/0"
    )

    assert json.loads(result.stdout) == {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": "redis://localhost:6379/0", "socket_timeout": 10}]
            },
        }
    }


def test_chat_closes_cleanly_when_redis_is_out_of_reach(python):
    # Nothing listens on port 1: connecting to Redis fails at once.
    result = python("-c", CHAT, DJANGO_SECRET_KEY=KEY, REDIS_URL="redis://127.0.0.1:1")

    [logged] = result.stderr.splitlines()  # one line, no traceback
    assert result.stdout == "{'type': 'websocket.close', 'code': 4011}\n"
    assert " WARNING  Websocket /ws/chat/tea/ closed: Redis: Error 111 connecting " in (
        logged
    )
{%- endif %}
{%- if cookiecutter.database %}


class GuestbookTests(TestCase):
    async def test_lists_the_latest_entries_first(self):
        for message in ["first", "second"]:
            await app.Entry.objects.acreate(name="Ada", message=message)

        response = await self.async_client.get("/")

        self.assertRegex(
            response.text, r"<b>Ada</b>: second</li>\s*<li[^>]*><b>Ada</b>: first<"
        )

    async def test_says_when_there_are_no_entries(self):
        response = await self.async_client.get("/")

        self.assertContains(response, '<li id="no-entries">No entries yet.</li>')

    async def test_a_post_adds_an_entry_and_redirects_to_the_page(self):
        response = await self.async_client.post("/", {"name": "Ada", "message": "Hi"})

        self.assertRedirects(response, "/", fetch_redirect_response=False)
        entries = [(e.name, e.message) async for e in app.Entry.objects.all()]
        self.assertEqual(entries, [("Ada", "Hi")])

    async def test_the_redirect_keeps_the_query_string(self):
        response = await self.async_client.post(
            "/?name=Bob", {"name": "Ada", "message": "Hi"}
        )

        self.assertRedirects(response, "/?name=Bob", fetch_redirect_response=False)

    async def test_escapes_what_an_entry_says(self):
        await app.Entry.objects.acreate(name="<i>", message="<script>")

        response = await self.async_client.get("/")

        self.assertContains(response, "<b>&lt;i&gt;</b>: &lt;script&gt;</li>")

    async def test_bad_input_shows_the_form_again_and_saves_nothing(self):
        cases = {
            "empty": (b"name=&message=Hi", "This field is required."),
            "too long": (
                b"name=Ada&message=" + b"x" * 501,
                "Ensure this value has at most 500 characters (it has 501).",
            ),
            "bad UTF-8": (b"name=%FF%FE&message=Hi", "Send the text as UTF-8."),
        }
        for case, (body, error) in cases.items():
            with self.subTest(case):
                response = await self.async_client.post(
                    "/", body, content_type="application/x-www-form-urlencoded"
                )

                self.assertContains(response, error)
                self.assertEqual(await app.Entry.objects.acount(), 0)

    async def test_a_post_needs_its_csrf_token(self):
        client = AsyncClient(enforce_csrf_checks=True)

        response = await client.post("/", {"name": "Mallory", "message": "Hi"})

        self.assertEqual(response.status_code, 403)
        self.assertEqual(await app.Entry.objects.acount(), 0)

    async def test_the_page_carries_a_csrf_token_for_its_form(self):
        response = await self.async_client.get("/")

        self.assertContains(response, 'name="csrfmiddlewaretoken"')


# Without collectstatic, the tests read the admin's files where Django keeps them.
@override_settings(
    STORAGES={
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    },
    SERVESTATIC_USE_FINDERS=True,
)
class AdminTests(TestCase):
    async def test_login_page_is_served_under_the_csp(self):
        response = await self.async_client.get("/admin/login/")

        self.assertContains(response, "Log in")
        self.assertEqual(
            policy(response["Content-Security-Policy"])["style-src"], "'self'"
        )

    async def test_asks_to_log_in(self):
        response = await self.async_client.get("/admin/")

        self.assertRedirects(
            response, "/admin/login/?next=/admin/", fetch_redirect_response=False
        )

    def test_refuses_a_weak_password_for_a_new_user(self):
        admin = User.objects.create_superuser(
            "admin", "admin@example.com", "a long and varied pass phrase 42"
        )
        self.client.force_login(admin)
        weak = {"password1": "1", "password2": "1", "usable_password": "true"}

        response = self.client.post("/admin/auth/user/add/", {"username": "bo"} | weak)

        too_short = "This password is too short. It must contain at least 8 characters."
        self.assertContains(response, too_short)
        self.assertContains(response, "This password is too common.")
        self.assertFalse(User.objects.filter(username="bo").exists())

    def test_lists_entries_for_a_superuser(self):
        app.Entry.objects.create(name="Ada", message="Hi")
        user = User.objects.create_superuser("admin", "admin@example.com", "pw")
        self.client.force_login(user)

        response = self.client.get("/admin/app/entry/")

        self.assertContains(response, "Ada: Hi")


SHOW_ENTRIES = """
import app
print([(e.name, e.message, e.added_by_a_test) for e in app.Entry.objects.all()])
"""
# The index page, asked for the way a browser would ask daphne.
SHOW_INDEX = """
import app
from django.test import Client
client = Client(raise_request_exception=False, SERVER_NAME="localhost")
response = client.get("/", secure=True)
print(response.status_code, b"no such table" in response.content)
"""


def test_migrations_match_the_models(python):
    result = python(
        "app.py", "makemigrations", "--check", "--dry-run", DJANGO_SECRET_KEY=KEY
    )

    assert (result.returncode, result.stdout) == (0, "No changes detected\n"), (
        "A model changed without its migration: run `python app.py makemigrations`"
    )


def test_a_new_field_migrates_and_keeps_the_entries(python, tmp_path):
    assert python("app.py", "migrate", DJANGO_SECRET_KEY=KEY).returncode == 0
    add = "app.Entry.objects.create(name='Ada', message='Hi')"
    python("-c", f"import app; {add}", DJANGO_SECRET_KEY=KEY)
    model = tmp_path / "app.py"
    field = "    created = models.DateTimeField(auto_now_add=True)\n"
    assert field in model.read_text()
    new_field = "    added_by_a_test = models.BooleanField(default=True)\n"
    model.write_text(model.read_text().replace(field, field + new_field))
    migrations = set((tmp_path / "migrations").glob("*.py"))

    made = python("app.py", "makemigrations", DJANGO_SECRET_KEY=KEY)
    applied = python("app.py", "migrate", DJANGO_SECRET_KEY=KEY)
    shown = python("-c", SHOW_ENTRIES, DJANGO_SECRET_KEY=KEY)

    assert (made.returncode, applied.returncode) == (0, 0)
    assert len(set((tmp_path / "migrations").glob("*.py")) - migrations) == 1
    assert shown.stdout == "[('Ada', 'Hi', True)]\n"


def test_without_migrate_debug_shows_the_error(python):
    result = python("-c", SHOW_INDEX, DJANGO_SECRET_KEY=KEY, DJANGO_DEBUG="1")

    assert result.stdout == "500 True\n"
    assert " ERROR    Unapplied migrations: run `python app.py migrate` " in (
        result.stderr
    )


def test_without_migrate_the_log_says_to_run_it(python):
    result = python("-c", SHOW_INDEX, DJANGO_SECRET_KEY=KEY, DJANGO_DEBUG="0")

    hints = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert result.stdout == "500 False\n"
    assert hints[0].endswith(
        " ERROR    Unapplied migrations: run `python app.py migrate` "
        "(or `uv run app.py migrate`)"
    )
    assert hints[1].endswith(" ERROR    Internal Server Error: /")


def test_createsuperuser_takes_its_answers_from_the_environment(python):
    python("app.py", "migrate", DJANGO_SECRET_KEY=KEY)

    result = python(
        "app.py",
        "createsuperuser",
        "--noinput",
        DJANGO_SECRET_KEY=KEY,
        DJANGO_SUPERUSER_USERNAME="admin",
        DJANGO_SUPERUSER_EMAIL="admin@example.com",
        DJANGO_SUPERUSER_PASSWORD="a long and varied pass phrase 42",
    )
    check = python(
        "-c",
        "import app; from django.contrib.auth.models import User;"
        "print(User.objects.get().check_password('a long and varied pass phrase 42'))",
        DJANGO_SECRET_KEY=KEY,
    )

    assert result.stdout == "Superuser created successfully.\n"
    assert check.stdout == "True\n"


def test_the_database_defaults_to_sqlite_in_wal_mode_beside_app_py(python, tmp_path):
    python("app.py", "migrate", DJANGO_SECRET_KEY=KEY)

    result = python(
        "-c",
        "import app; from django.db import connection; c = connection.cursor();"
        "print(c.execute('PRAGMA journal_mode').fetchone()[0])",
        DJANGO_SECRET_KEY=KEY,
    )

    assert result.stdout == "wal\n"
    assert (tmp_path / "db.sqlite3").exists()
{%- endif %}
