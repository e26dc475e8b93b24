"""The site's tests: yours first, then a safety contract for however it grows."""

import os
import re
import subprocess
import sys
{% if cookiecutter.websocket == "asgi" %}
from asgiref.testing import ApplicationCommunicator
{%- elif cookiecutter.websocket == "channels" %}
from channels.testing import WebsocketCommunicator
{%- endif %}
{%- if cookiecutter.database and cookiecutter.websocket != "none" %}
from django.contrib.auth.models import User
{%- endif %}
{%- if cookiecutter.tasks %}
from django.core import mail
{%- endif %}
from django.http import HttpResponse
from django.template import engines
{%- if cookiecutter.database and cookiecutter.websocket != "none" %}
from django.test import AsyncClient, TestCase, TransactionTestCase, override_settings
{%- elif cookiecutter.database %}
from django.test import AsyncClient, TestCase, override_settings
{%- else %}
from django.test import AsyncClient, SimpleTestCase, override_settings
{%- endif %}
from django.urls import path
{%- if cookiecutter.tasks %}
from django_tasks_db.models import DBTaskResult
{%- endif %}

import app


class IndexTests({{ "TestCase" if cookiecutter.database else "SimpleTestCase" }}):
    async def test_greets_the_world_by_default(self):
        response = await self.async_client.get("/")

        self.assertContains(response, "<h1>Hello, World!</h1>")

    async def test_greets_by_name(self):
        response = await self.async_client.get("/", {"name": "Django user"})

        self.assertContains(response, "Hello, Django user!")
{%- if not cookiecutter.database %}

    async def test_escapes_the_name(self):
        response = await self.async_client.get("/", {"name": "<b>"})

        self.assertContains(response, "Hello, &lt;b&gt;!")
{%- endif %}

    async def test_unknown_path_is_404(self):
        response = await self.async_client.get("/nowhere/")

        self.assertEqual(response.status_code, 404)
{%- if cookiecutter.database %}


class GuestbookTests(TestCase):
    async def test_lists_the_latest_entries_first(self):
        for message in ["first", "second"]:
            await app.Entry.objects.acreate(name="Ada", message=message)

        response = await self.async_client.get("/")

        self.assertRegex(response.text, r"second</li>\s*<li[^>]*><b>Ada</b>: first<")

    async def test_a_post_adds_an_entry_and_redirects_to_the_page(self):
        response = await self.async_client.post("/", {"name": "Ada", "message": "Hi"})

        self.assertRedirects(response, "/", fetch_redirect_response=False)
        entries = [(e.name, e.message) async for e in app.Entry.objects.all()]
        self.assertEqual(entries, [("Ada", "Hi")])

    async def test_escapes_what_an_entry_says(self):
        await app.Entry.objects.acreate(name="<i>", message="<script>")

        response = await self.async_client.get("/")

        self.assertContains(response, "<b>&lt;i&gt;</b>: &lt;script&gt;</li>")

    async def test_an_empty_name_shows_the_form_again_and_saves_nothing(self):
        response = await self.async_client.post("/", {"name": "", "message": "Hi"})

        self.assertContains(response, "This field is required.")
        self.assertEqual(await app.Entry.objects.acount(), 0)
{%- if cookiecutter.tasks %}


class AdminMailTests(TestCase):
    async def test_an_entry_queues_its_mail_in_the_same_transaction(self):
        await self.async_client.post("/", {"name": "Ada", "message": "Hi"})

        entry = await app.Entry.objects.aget()
        [queued] = [r async for r in DBTaskResult.objects.all()]
        self.assertEqual(queued.task.name, "tell_the_admins")
        self.assertEqual(queued.args_kwargs["args"], [entry.pk])

    def test_the_mail_says_who_signed_and_what(self):
        entry = app.Entry.objects.create(name="Ada", message="Hello, admins")

        app.tell_the_admins.call(entry.pk)

        [sent] = mail.outbox
        self.assertEqual(sent.to, ["admin@example.com"])
        self.assertEqual(sent.subject, "[Django] Guestbook: Ada signed")
        self.assertEqual(sent.body, "Hello, admins")
{%- endif %}
{%- endif %}
{%- if cookiecutter.websocket == "asgi" %}


async def connect(path, origin="http://localhost", cookie="", to=app.application):
    """A websocket from a page of this site: it, and the app's first reply."""
    headers = [(b"host", b"localhost"), (b"origin", origin.encode())]
    scope = {"type": "websocket", "path": path, "headers": headers}
    scope["headers"].append((b"cookie", cookie.encode()))
    socket = ApplicationCommunicator(to, scope)
    await socket.send_input({"type": "websocket.connect"})
    return socket, await socket.receive_output()


class WebsocketTests({{ "TransactionTestCase" if cookiecutter.database else "SimpleTestCase" }}):
    async def test_echoes_what_it_is_sent(self):
        socket, _ = await connect("/ws/echo/")

        await socket.send_input({"type": "websocket.receive", "text": "Hello"})
        echo = await socket.receive_output()
        await socket.send_input({"type": "websocket.disconnect", "code": 1000})

        self.assertEqual((echo["type"], echo["text"]), ("websocket.send", "Hello"))
{%- if cookiecutter.database %}

    async def test_a_handler_finds_the_visitor_in_its_scope(self):
        seen = []

        async def who(scope, receive, send):
            seen.append(scope["user"].get_username())
            await send({"type": "websocket.close"})

        await self.async_client.aforce_login(await User.objects.acreate_user("ada"))
        ada = f"sessionid={self.async_client.cookies['sessionid'].value}"
        router = app.WebsocketRouter([path("ws/who/", who)])
        for cookie in [ada, ""]:  # then a visitor not logged in
            await connect("/ws/who/", cookie=cookie, to=router)

        self.assertEqual(seen, ["ada", ""])
{%- endif %}
{%- elif cookiecutter.websocket == "channels" %}


async def opened(path, cookie="", origin="http://localhost"):
    """A websocket from a page of this site; and whether the site accepted it."""
    headers = [(b"host", b"localhost"), (b"origin", origin.encode())]
    headers.append((b"cookie", cookie.encode()))
    socket = WebsocketCommunicator(app.application, path, headers)
    return socket, (await socket.connect())[0]


class WebsocketTests({{ "TransactionTestCase" if cookiecutter.database else "SimpleTestCase" }}):
    async def test_echoes_what_it_is_sent(self):
        socket, _ = await opened("/ws/echo/")

        await socket.send_to("Hello")
        echo = await socket.receive_from()
        await socket.disconnect()

        self.assertEqual(echo, "Hello")

    async def test_chat_reaches_every_member_of_the_room_and_no_other(self):
        (ada, _), (bea, _) = [await opened("/ws/chat/tea/") for _ in "ab"]
        cy, _ = await opened("/ws/chat/cy/")

        await ada.send_json_to({"message": "Hi"})
        heard = [await ada.receive_json_from(), await bea.receive_json_from()]
        cy_heard_nothing = await cy.receive_nothing()
        for socket in (ada, bea, cy):
            await socket.disconnect()
{% if cookiecutter.database %}
        said = {"name": "anonymous", "message": "Hi"}  # not logged in
{%- else %}
        said = {"message": "Hi"}
{%- endif %}
        self.assertEqual(heard, [said, said])
        self.assertIs(cy_heard_nothing, True)

    async def test_chat_answers_a_malformed_message_with_an_error(self):
        socket, _ = await opened("/ws/chat/tea/")

        await socket.send_to("Hi")
        reply = await socket.receive_json_from()
        await socket.disconnect()

        self.assertEqual(reply, {"error": 'Send JSON text like {"message": "Hello"}.'})
{%- if cookiecutter.database %}

    async def test_chat_names_a_logged_in_sender(self):
        await self.async_client.aforce_login(await User.objects.acreate_user("ada"))
        cookie = f"sessionid={self.async_client.cookies['sessionid'].value}"
        socket, _ = await opened("/ws/chat/tea/", cookie)

        await socket.send_json_to({"message": "Hi", "name": "bea"})  # name ignored
        heard = await socket.receive_json_from()
        await socket.disconnect()

        self.assertEqual(heard, {"name": "ada", "message": "Hi"})

    async def test_a_new_entry_reaches_every_open_index_page(self):
        socket, _ = await opened("/ws/guestbook/")

        await self.async_client.post("/", {"name": "Ada", "message": "Hi"})
        entry = await socket.receive_json_from()
        await socket.disconnect()

        self.assertEqual((entry["name"], entry["message"]), ("Ada", "Hi"))

    async def test_a_page_that_reconnects_first_gets_the_entries_it_missed(self):
        seen = await app.Entry.objects.acreate(name="Ada", message="seen")
        await app.Entry.objects.acreate(name="Bea", message="missed")

        socket, _ = await opened(f"/ws/guestbook/?after={seen.pk}")
        missed = await socket.receive_json_from()
        await socket.disconnect()

        self.assertEqual(missed["message"], "missed")
{%- endif %}
{%- endif %}


# The safety contract, checked by containment: a wider policy keeps it green.
STYLED = engines["django"].from_string('<style nonce="{{ "{{" }} CSP_NONCE {{ "}}" }}">')
urlpatterns = [path("styled/", lambda r: HttpResponse(STYLED.render({}, r)))]
PRODUCTION = {  # conftest.py's settings (yours too), https redirect on; no .env
    **os.environ,
    "DJANGO_ENV_FILE": os.devnull,
    "DJANGO_SECURE_SSL_REDIRECT": "1",
}


def production(*command):
    """Run `python app.py command` with production's settings."""
    command = [sys.executable, app.__file__, *command]
    return subprocess.run(command, env=PRODUCTION, capture_output=True, text=True)


class SafetyTests({{ "TestCase" if cookiecutter.database else "SimpleTestCase" }}):
    async def test_a_foreign_host_is_refused(self):
        response = await self.async_client.get("/", headers={"host": "evil.example"})

        self.assertEqual(response.status_code, 400)

    async def test_a_post_without_its_csrf_token_is_refused(self):
        response = await AsyncClient(enforce_csrf_checks=True).post("/", {"name": "M"})

        self.assertEqual(response.status_code, 403)

    @override_settings(ROOT_URLCONF=__name__)
    async def test_sends_the_security_headers_and_a_strict_policy(self):
        response = await self.async_client.get("/styled/", secure=True)

        nonce = re.search('nonce="(.+)"', response.text)[1]
        for header in ["X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"]:
            self.assertIn(header, response.headers)
        self.assertIn("max-age=", response["Strict-Transport-Security"])
        self.assertIn("default-src 'none'", response["Content-Security-Policy"])
        self.assertIn(f"'nonce-{nonce}'", response["Content-Security-Policy"])
{%- if cookiecutter.websocket == "asgi" %}

    async def test_a_websocket_from_another_site_is_refused(self):
        with self.assertLogs(level="WARNING"):
            _, reply = await connect("/ws/echo/", origin="https://evil.example")

        self.assertEqual(reply["type"], "websocket.close")
{%- elif cookiecutter.websocket == "channels" %}

    async def test_a_websocket_from_another_site_is_refused(self):
        with self.assertLogs(level="WARNING"):
            _, accepted = await opened("/ws/echo/", origin="https://evil.example")

        self.assertIs(accepted, False)
{%- endif %}

    def test_passes_the_deploy_check(self):
        result = production("check", "--deploy", "--fail-level", "WARNING")

        self.assertEqual((result.returncode, result.stderr), (0, ""))
{%- if cookiecutter.database %}

    def test_every_model_change_has_its_migration(self):
        result = production("makemigrations", "--check", "--dry-run")

        self.assertEqual(result.stdout, "No changes detected\n", "Run makemigrations.")
{%- endif %}
