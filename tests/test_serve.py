"""A real `daphne app:application` (and `python app.py runserver`) over HTTP."""

import sys

from helpers import get, greeting, serving, wait_for_log

DEBUG_404 = b"Using the URLconf defined in <code>app</code>"
PLAIN_404 = (
    b"<h1>Not Found</h1><p>The requested resource was not found on this server.</p>"
)


def test_greets_by_name(daphne):
    url = daphne.url

    status, headers, body = get(url, "/?name=Django%20user")

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert greeting(body) == b"Hello, Django user!"


def test_greets_the_world_by_default(daphne):
    url = daphne.url

    status, _, body = get(url)

    assert (status, greeting(body)) == (200, b"Hello, World!")


def test_escapes_the_name(daphne):
    url = daphne.url

    status, _, body = get(url, "/?name=%3Cscript%3Ealert(1)%3C/script%3E")

    assert status == 200
    assert greeting(body) == b"Hello, &lt;script&gt;alert(1)&lt;/script&gt;!"


def test_debug_is_as_baked(daphne, baked):
    url = daphne.url

    status, _, body = get(url, "/nowhere/")

    assert status == 404
    if baked.context["debug"]:
        assert DEBUG_404 in body
    else:
        assert PLAIN_404 in body
        assert DEBUG_404 not in body


def test_refuses_a_foreign_host_with_one_log_line(daphne):
    url, log = daphne.url, daphne.log

    status, _, _ = get(url, headers={"Host": "evil.example"})

    assert status == 400
    text = wait_for_log(log, "Invalid HTTP_HOST header: 'evil.example'.")
    assert "Traceback" not in text


def test_dotenv_serves_plain_local_http(daphne):
    url = daphne.url

    status, headers, _ = get(url)

    assert status == 200
    assert "Strict-Transport-Security" not in headers


def test_runserver_serves_through_daphne(baked, tmp_path):
    command = [sys.executable, "app.py", "runserver", "--noreload", "127.0.0.1:{port}"]

    with serving(command, baked.project_path, tmp_path / "runserver.log") as server:
        status, headers, body = get(server.url, "/?name=runserver")

    assert (status, greeting(body)) == (200, b"Hello, runserver!")
    assert headers["Server"] == "daphne"
