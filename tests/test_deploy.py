"""The baked README's deployment snippets, checked by the tools that run them."""

import asyncio
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from websockets.asyncio.client import connect

import deploy
from helpers import BIN, OPTIONS, clean_env, free_port, production_copy


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_unit_verifies(deployed, tmp_path):
    slug = deployed.project_path.name
    srv = tmp_path / "srv" / slug
    production_copy(deployed.project_path, srv)
    (srv / ".venv" / "bin").mkdir(parents=True)
    (srv / ".venv" / "bin" / "daphne").symlink_to(BIN / "daphne")
    env_file = tmp_path / f"{slug}.env"
    env_file.write_text("DJANGO_DEBUG=0\n")
    unit = deploy.unit(deployed.project_path)
    unit = unit.replace(f"/srv/{slug}", str(srv)).replace(
        f"/etc/{slug}.env", str(env_file)
    )
    (tmp_path / f"{slug}.service").write_text(unit)

    result = subprocess.run(
        ["systemd-analyze", "verify", f"{slug}.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_unit_leaves_a_development_env_file_unread(bake, tmp_path):
    # A project copied to the server with the .env it was baked with (DEBUG on,
    # plain http): the unit's Environment= lines keep it from being read.
    project = bake({"debug": True, "websocket": "none", "database": False})
    srv = shutil.copytree(project.project_path, tmp_path / "srv")
    unit = deploy.unit(srv)
    lines = re.findall(r"^Environment=(\w+)=(.*)$", unit, re.M)
    env = clean_env(DJANGO_SECRET_KEY="production-" + "k3y-" * 12)
    check = [sys.executable, "app.py", "check", "--deploy", "--fail-level", "WARNING"]

    as_the_unit = subprocess.run(
        check, cwd=srv, env=env | dict(lines), capture_output=True, check=False
    )
    without = subprocess.run(check, cwd=srv, env=env, capture_output=True, check=False)

    assert lines == [("DJANGO_ENV_FILE", "/dev/null")]
    assert (as_the_unit.returncode, without.returncode) == (0, 1)


SCANNER = BIN.parent / "observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js"
NO_TLS_CHECK = ssl._create_unverified_context()  # noqa: S323  (a test certificate)


@contextmanager
def behind_nginx(project, certificate, where, address="127.0.0.1", ports=None):
    """The README's deployment (deploy.behind_nginx), where nginx is."""
    if not shutil.which("nginx"):
        pytest.skip("no nginx here, and tests/run.sh could not install it")
    with deploy.behind_nginx(project, certificate, where, address, ports) as site:
        yield site


@pytest.fixture(scope="session")
def proxied(deployed, certificate, tmp_path_factory):
    where = tmp_path_factory.mktemp("nginx")
    with behind_nginx(deployed.project_path, certificate, where) as site:
        yield site


def https(site, path="/", method="GET", body=None, headers=None, port=0):
    """Ask nginx over https for example.com, from port (any if 0); return
    (status, headers, body)."""
    connection = http.client.HTTPSConnection(
        "127.0.0.1",
        site.https_port,
        context=NO_TLS_CHECK,
        timeout=30,
        source_address=("127.0.0.1", port),
    )
    try:
        headers = {"Host": "example.com", **(headers or {})}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_nginx_redirects_http_to_https(proxied):
    connection = http.client.HTTPConnection("127.0.0.1", proxied.http_port)
    connection.request("GET", "/?name=x", headers={"Host": "example.com"})
    response = connection.getresponse()
    connection.close()

    assert response.status == 301
    assert response.getheader("Location") == "https://example.com/?name=x"


def test_nginx_serves_the_site_over_https(proxied):
    status, headers, body = https(proxied, "/?name=nginx")

    assert status == 200
    assert b"Hello, nginx!" in body
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_nginx_refuses_large_bodies_before_daphne(proxied):
    status, _, _ = https(proxied, method="POST", body=b"x" * 2_000_000)

    assert status == 413
    assert "POST" not in proxied.daphne.log.read_text()


def test_nginx_refuses_over_long_request_lines(proxied):
    status, _, _ = https(proxied, "/?name=" + "a" * 20_000)

    assert status == 414


def test_nginx_passes_on_the_real_client_address_only(proxied):
    https(proxied, "/?name=spoof", headers={"X-Forwarded-For": "203.0.113.6"})

    lines = proxied.daphne.log.read_text().splitlines()
    served = [line for line in lines if "name=spoof" in line]
    assert len(served) == 1
    assert served[0].startswith("127.0.0.1:")


def test_nginx_passes_on_the_clients_port(proxied):
    port = free_port()

    https(proxied, "/?name=port", port=port)

    lines = proxied.daphne.log.read_text().splitlines()
    assert [line.split()[0] for line in lines if "name=port" in line] == [
        f"127.0.0.1:{port}"
    ]


@pytest.fixture(scope="session")
def proxied_guestbook(bake, certificate, tmp_path_factory):
    project = bake({"debug": False, "websocket": "none", "database": True})
    where = tmp_path_factory.mktemp("nginx")
    with behind_nginx(project.project_path, certificate, where) as site:
        yield site


def test_nginx_passes_a_form_post_on_a_port_of_its_own(proxied_guestbook):
    # A browser on https://example.com:port sends that Host and Origin; Django's
    # CSRF check needs the port that nginx passes on.
    site = f"example.com:{proxied_guestbook.https_port}"
    _, headers, page = https(proxied_guestbook, headers={"Host": site})
    form = {
        "csrfmiddlewaretoken": re.search(
            rb'name="csrfmiddlewaretoken" value="(\w+)"', page
        )[1],
        "name": "Ada",
        "message": "Through nginx",
    }

    status, headers, _ = https(
        proxied_guestbook,
        method="POST",
        body=urlencode(form),
        headers={
            "Host": site,
            "Origin": f"https://{site}",
            "Cookie": headers["Set-Cookie"].partition(";")[0],
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )

    assert (status, headers["Location"]) == (302, "/")


def test_nginx_limits_admin_logins_but_not_pages(proxied_guestbook):
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    logins = [
        https(proxied_guestbook, "/admin/login/", "POST", b"username=a", form)[0]
        for _ in range(12)
    ]
    pages = [https(proxied_guestbook, "/")[0] for _ in range(30)]
    posts = [
        https(proxied_guestbook, "/", "POST", b"name=a", form)[0] for _ in range(12)
    ]

    # A burst of 5 after the first (CSRF refuses these: 403), then 429.
    assert logins == [403] * 6 + [429] * 6
    assert pages == [200] * 30
    assert posts == [403] * 12


@pytest.fixture(scope="session")
def proxied_websocket(baked_websocket, certificate, tmp_path_factory):
    where = tmp_path_factory.mktemp("nginx")
    with behind_nginx(baked_websocket.project_path, certificate, where) as site:
        yield site


def test_nginx_passes_websockets_on(proxied_websocket):
    async def talk():
        async with connect(
            f"wss://example.com:{proxied_websocket.https_port}/ws/echo/",
            host="127.0.0.1",
            port=proxied_websocket.https_port,
            ssl=NO_TLS_CHECK,
            server_hostname="example.com",
            origin="https://example.com",
        ) as socket:
            await socket.send("through nginx")
            return await socket.recv()

    assert asyncio.run(talk()) == "through nginx"


def observatory_grade(project, certificate, where):
    """Mozilla's HTTP Observatory on the README's deployment of project:
    (grade, score, the tests it failed)."""
    if not SCANNER.exists():
        pytest.skip("no Observatory scanner: tests/run.sh could not install it")
    if os.geteuid() != 0:
        pytest.skip("the scanner needs nginx on ports 80 and 443, which needs root")
    with behind_nginx(project, certificate, where, deploy.SCANNED_ADDRESS, (80, 443)):
        scan = subprocess.run(
            ["node", SCANNER, deploy.SCANNED_ADDRESS],
            env={**os.environ, "NODE_EXTRA_CA_CERTS": str(certificate[0])},
            capture_output=True,
            text=True,
            timeout=120,
        )
    report = json.loads(scan.stdout)
    failed = [name for name, test in report["tests"].items() if not test["pass"]]
    return report["scan"]["grade"], report["scan"]["score"], failed


def test_mozilla_observatory_grades_the_deployment_a_plus(
    deployed, certificate, tmp_path
):
    grade = observatory_grade(deployed.project_path, certificate, tmp_path)

    # The database's pages set a CSRF cookie, Secure and SameSite: the
    # scanner's cookie bonus of 5.
    assert grade == ("A+", 125 if deployed.context["database"] else 120, [])


def test_mozilla_observatory_grades_a_site_without_csp_b(bake, certificate, tmp_path):
    project = shutil.copytree(bake(OPTIONS[0].values[0]).project_path, tmp_path / "s")
    app = project / "app.py"
    app.write_text(app.read_text().replace('"csp.middleware.CSPMiddleware",', ""))

    grade = observatory_grade(project, certificate, tmp_path)

    assert grade == ("B", 75, ["content-security-policy"])
