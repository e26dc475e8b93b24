"""The baked README's deployment snippets, checked by the tools that run them."""

import asyncio
import http.client
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pytest
from websockets.asyncio.client import connect

from helpers import (
    BIN,
    OPTIONS,
    PRODUCTION_ENV,
    clean_env,
    free_port,
    production_copy,
    serving,
    wait_for_port,
)
from readme import VENV, blocks, commands, section


def snippet(project, language):
    """The README's code block in that language."""
    readme = (project / "README.md").read_text()
    return re.search(rf"```{language}\n(.*?)```", readme, re.DOTALL)[1]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_unit_verifies(deployed, tmp_path):
    slug = deployed.project_path.name
    srv = tmp_path / "srv" / slug
    production_copy(deployed.project_path, srv)
    (srv / ".venv" / "bin").mkdir(parents=True)
    (srv / ".venv" / "bin" / "daphne").symlink_to(BIN / "daphne")
    env_file = tmp_path / f"{slug}.env"
    env_file.write_text("DJANGO_DEBUG=0\n")
    unit = snippet(deployed.project_path, "ini")
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


def proxied_daphne(project):
    """daphne as the README runs it behind the proxy (on serving()'s port)."""
    readme = (project / "README.md").read_text()
    block = blocks(section(readme, "### daphne behind a reverse proxy"), "sh")[0]
    program, *arguments = shlex.split(commands(block, VENV)[0])
    assert program == "daphne"
    return [BIN / "daphne", *[a.replace("8000", "{port}") for a in arguments]]


# Mozilla's scanner takes a host name and no ports: it meets nginx on ports 80
# and 443 of a loopback address of their own, as it would meet a real site.
SCANNED_ADDRESS = "127.0.80.43"
SCANNER = BIN.parent / "observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js"
NO_TLS_CHECK = ssl._create_unverified_context()  # noqa: S323  (a test certificate)


@dataclass
class Proxied:
    http_port: int
    https_port: int
    daphne_log: object


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for example.com and the scanner's address."""
    if not shutil.which("openssl"):
        pytest.skip("no openssl here, and tests/run.sh could not install it")
    where = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=example.com",
            "-addext",
            f"subjectAltName=DNS:example.com,IP:{SCANNED_ADDRESS}",
            "-keyout",
            where / "key.pem",
            "-out",
            where / "cert.pem",
        ],
        check=True,
        capture_output=True,
    )
    return where / "cert.pem", where / "key.pem"


@contextmanager
def behind_nginx(project, certificate, where, address="127.0.0.1", ports=None):
    """The README's nginx block, running for real in front of a production daphne.

    It listens on address, on the given (http, https) ports or on free ones.
    """
    if not shutil.which("nginx"):
        pytest.skip("no nginx here, and tests/run.sh could not install it")
    deployed = production_copy(project, where / "project")
    hosts = f"example.com,{SCANNED_ADDRESS}"
    env = clean_env(**{**PRODUCTION_ENV, "DJANGO_ALLOWED_HOSTS": hosts})
    command = proxied_daphne(deployed)
    with serving(command, deployed, where / "daphne.log", env=env) as daphne:
        http_port, https_port = ports or (free_port(), free_port())
        cert, key = certificate
        block = (
            snippet(project, "nginx")
            .replace("listen 80;", f"listen {address}:{http_port};")
            .replace("listen 443 ssl;", f"listen {address}:{https_port} ssl;")
            .replace("127.0.0.1:8000", urlsplit(daphne.url).netloc)
            .replace("/etc/letsencrypt/live/example.com/fullchain.pem", str(cert))
            .replace("/etc/letsencrypt/live/example.com/privkey.pem", str(key))
        )
        config = where / "nginx.conf"
        config.write_text(
            f"user root;\npid {where}/nginx.pid;\nerror_log {where}/error.log;\n"
            f"events {{}}\nhttp {{\naccess_log {where}/access.log;\n"
            f"client_body_temp_path {where}/body;\nproxy_temp_path {where}/proxy;\n"
            f"{block}}}\n"
        )
        nginx = ["nginx", "-p", str(where), "-c", str(config)]
        check = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        process = subprocess.Popen([*nginx, "-g", "daemon off;"])
        try:
            wait_for_port(https_port, process, where / "error.log", address=address)
            yield Proxied(http_port, https_port, daphne.log)
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def proxied(deployed, certificate, tmp_path_factory):
    where = tmp_path_factory.mktemp("nginx")
    with behind_nginx(deployed.project_path, certificate, where) as site:
        yield site


def https(site, path="/", method="GET", body=None, headers=None):
    """Ask nginx over https for example.com; return (status, headers, body)."""
    connection = http.client.HTTPSConnection(
        "127.0.0.1", site.https_port, context=NO_TLS_CHECK, timeout=30
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
    assert "POST" not in proxied.daphne_log.read_text()


def test_nginx_refuses_over_long_request_lines(proxied):
    status, _, _ = https(proxied, "/?name=" + "a" * 20_000)

    assert status == 414


def test_nginx_passes_on_the_real_client_address_only(proxied):
    https(proxied, "/?name=spoof", headers={"X-Forwarded-For": "203.0.113.6"})

    lines = proxied.daphne_log.read_text().splitlines()
    served = [line for line in lines if "name=spoof" in line]
    assert len(served) == 1
    assert served[0].startswith("127.0.0.1:")


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
    with behind_nginx(project, certificate, where, SCANNED_ADDRESS, (80, 443)):
        scan = subprocess.run(
            ["node", SCANNER, SCANNED_ADDRESS],
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
