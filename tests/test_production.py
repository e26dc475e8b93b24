"""daphne serving a bake as deployed (no .env), and hostile HTTP input against it.

Each bad input must get its answer, leave no traceback in the log, and leave
the server answering normally afterwards.
"""

import socket
import time
from urllib.parse import urlsplit

from helpers import (
    DAPHNE,
    PRODUCTION_ENV,
    VIA_PROXY,
    clean_env,
    get,
    greeting,
    rss_kib,
    serving,
)


def assert_still_serving_cleanly(server):
    status, _, body = get(server.url, "/?name=again", headers=VIA_PROXY)
    assert (status, greeting(body)) == (200, b"Hello, again!")
    assert "Traceback" not in server.log.read_text()


def test_redirects_plain_http_to_https(production):
    status, headers, _ = get(production.url, "/?name=x")

    host = urlsplit(production.url).netloc
    assert status == 301
    assert headers["Location"] == f"https://{host}/?name=x"


def test_sends_hsts_and_the_security_headers_over_https(production):
    status, headers, _ = get(production.url, headers=VIA_PROXY)

    assert status == 200
    assert headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_foreign_host_gets_400(production):
    status, _, _ = get(production.url, headers={"Host": "evil.example", **VIA_PROXY})

    assert status == 400
    assert_still_serving_cleanly(production)


def test_invalid_percent_encoding_in_the_query_is_no_error(production):
    status, _, body = get(production.url, "/?name=%ZZ%", headers=VIA_PROXY)

    assert (status, greeting(body)) == (200, b"Hello, %ZZ%!")
    assert_still_serving_cleanly(production)


def test_invalid_utf8_in_the_query_is_replaced(production):
    status, _, body = get(production.url, "/?name=%FF%FEok", headers=VIA_PROXY)

    assert (status, greeting(body)) == (200, "Hello, \ufffd\ufffdok!".encode())
    assert_still_serving_cleanly(production)


def test_invalid_utf8_in_the_path_is_404(production):
    status, _, _ = get(production.url, "/%FF%FE/", headers=VIA_PROXY)

    assert status == 404
    assert_still_serving_cleanly(production)


def test_long_query_within_daphnes_request_line_limit_is_served(production):
    name = "a" * 16000

    status, _, body = get(production.url, f"/?name={name}", headers=VIA_PROXY)

    assert (status, greeting(body)) == (200, f"Hello, {name}!".encode())
    assert_still_serving_cleanly(production)


def test_request_line_over_daphnes_limit_is_dropped(production):
    # Twisted, under daphne, closes the connection without an answer when the
    # request line passes 16 KiB; the reverse proxy answers 414 before that.
    parts = urlsplit(production.url)
    request = b"GET /?name=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        try:
            raw.sendall(request)
            answer = raw.recv(65536)
        except (BrokenPipeError, ConnectionResetError):  # closed while we sent
            answer = b""

    assert answer == b""
    assert_still_serving_cleanly(production)


def test_post_without_a_csrf_token_is_refused(production):
    form = {"Content-Type": "application/x-www-form-urlencoded", **VIA_PROXY}

    status, _, _ = get(
        production.url, method="POST", body=b"name=Mallory", headers=form
    )

    assert status == 403
    assert_still_serving_cleanly(production)


def test_large_bodies_are_refused_and_memory_stays_bounded(production):
    # daphne holds one request body in memory while the app runs (the reverse
    # proxy's client_max_body_size is the real cap), but it must not add up.
    body = b"x" * 20_000_000
    headers = {"Content-Type": "application/octet-stream", **VIA_PROXY}
    before = rss_kib(production.process) * 1024
    statuses, memory = [], []
    for _ in range(8):
        status, _, _ = get(production.url, method="POST", body=body, headers=headers)
        statuses.append(status)
        memory.append(rss_kib(production.process) * 1024)

    assert statuses == [403] * 8
    # 160 MB of bodies cost at most the room of one (taken once, then reused),
    # with slack for the allocator; if they added up, that would be 140 MB more.
    assert max(memory) - before < 2 * len(body), (before, memory)
    assert_still_serving_cleanly(production)


def test_sigterm_stops_daphne_within_a_few_seconds(production, tmp_path):
    project = production.log.parent / "project"
    env = clean_env(**PRODUCTION_ENV)
    with serving(DAPHNE, project, tmp_path / "daphne.log", env=env) as server:
        # An idle keep-alive connection must not hold the shutdown up.
        parts = urlsplit(server.url)
        idle = socket.create_connection((parts.hostname, parts.port))
        get(server.url, headers=VIA_PROXY)
        started = time.monotonic()
        server.process.terminate()
        server.process.wait(timeout=10)
        stopped_after = time.monotonic() - started
        idle.close()

    assert stopped_after < 3
    assert "Traceback" not in server.log.read_text()
