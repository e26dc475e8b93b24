import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import SimpleTestCase

APP = Path(__file__).with_name("app.py")
KEY = "k" * 10 + "-a-test-key-that-is-long-enough-and-varied-0123456789"

SHOW_SETTINGS = """
import json
import app
from django.conf import settings
print(json.dumps([settings.SECRET_KEY, settings.DEBUG, settings.ALLOWED_HOSTS]))
"""


class IndexTests(SimpleTestCase):
    async def test_greets_the_world_by_default(self):
        response = await self.async_client.get("/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/html; charset=utf-8")
        self.assertEqual(response.content, b"Hello, World!")

    async def test_greets_by_name(self):
        response = await self.async_client.get("/", {"name": "Django user"})

        self.assertEqual(response.content, b"Hello, Django user!")

    async def test_escapes_the_name(self):
        response = await self.async_client.get("/", {"name": "<b>&'\""})

        self.assertEqual(response.content, b"Hello, &lt;b&gt;&amp;&#x27;&quot;!")

    async def test_unknown_path_is_404(self):
        response = await self.async_client.get("/nowhere/")

        self.assertEqual(response.status_code, 404)

    async def test_foreign_host_is_refused(self):
        response = await self.async_client.get("/", headers={"host": "evil.example"})

        self.assertEqual(response.status_code, 400)


@pytest.fixture
def python(tmp_path):
    """Run Python beside a copy of app.py, with only the given env variables.

    The copy sits in a folder of its own, so only a .env the test writes is read.
    """
    shutil.copy(APP, tmp_path)

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


def test_reads_settings_from_the_environment(python):
    result = python(
        "-c",
        SHOW_SETTINGS,
        DJANGO_SECRET_KEY=KEY,
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="example.com, www.example.com,",
    )

    assert result.stderr == ""
    assert json.loads(result.stdout) == [KEY, True, ["example.com", "www.example.com"]]


def test_reads_settings_from_dotenv(python, tmp_path):
    (tmp_path / ".env").write_text(
        f"DJANGO_SECRET_KEY={KEY}\nDJANGO_DEBUG=1\nDJANGO_ALLOWED_HOSTS=example.com\n"
    )

    result = python("-c", SHOW_SETTINGS)

    assert json.loads(result.stdout) == [KEY, True, ["example.com"]]


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

    assert json.loads(result.stdout) == [KEY, False, ["b.test"]]


def test_defaults_are_production_safe(python):
    result = python("-c", SHOW_SETTINGS, DJANGO_SECRET_KEY=KEY)

    assert json.loads(result.stdout) == [
        KEY,
        False,
        ["localhost", "127.0.0.1", "[::1]"],
    ]


def test_missing_secret_key_is_an_error(python):
    result = python("-c", "import app")

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is not set. "
        "Put DJANGO_SECRET_KEY=<key> in the .env file beside app.py or in the "
        "environment; make a key with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )


def test_debug_must_be_one_or_zero(python):
    result = python("-c", "import app", DJANGO_SECRET_KEY=KEY, DJANGO_DEBUG="true")

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        "DJANGO_DEBUG must be 1 or 0, not 'true'."
    )


def test_doubles_as_manage_py(python):
    result = python("app.py", "check", DJANGO_SECRET_KEY=KEY)

    assert result.returncode == 0
    assert result.stdout == "System check identified no issues (0 silenced).\n"
