"""A bake deployed as its README says: daphne behind the README's nginx, with TLS,
and with the limits that the README's nginx.conf lines and systemd unit set.

The deployment tests and the benchmark's capacity scenario (bench/) run it so.
"""

import itertools
import re
import resource
import shlex
import subprocess
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from helpers import (
    BIN,
    PRODUCTION_ENV,
    clean_env,
    free_port,
    production_copy,
    serving,
    stop,
    wait_for_port,
)
from readme import VENV, blocks, commands, section

# Mozilla's scanner takes a host name and no ports: it meets nginx on ports 80
# and 443 of a loopback address of their own, as it would meet a real site.
SCANNED_ADDRESS = "127.0.80.43"
HOSTS = f"example.com,{SCANNED_ADDRESS}"

# What a service gets where nobody raises its limits: Debian 12's
# /etc/nginx/nginx.conf, and systemd's default soft limit of open files.
DEBIAN_WORKERS = "worker_processes auto;\n"  # a worker per core
DEBIAN_NGINX_CONF = DEBIAN_WORKERS + "events {\n    worker_connections 768;\n}\n"
SYSTEMD_NOFILE = 1024
# A process may raise its soft limit up to this hard one, and no further
# without CAP_SYS_RESOURCE (which systemd has, and a container may not).
HARD_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


@dataclass
class Limits:
    nginx_conf: str  # nginx.conf's main-context directives and events block
    daphne_nofile: int  # daphne's open files (soft limit)
    somaxconn: int = 4096  # connections a listen queue may hold (Linux's default)


DEBIAN_DEFAULTS = Limits(DEBIAN_NGINX_CONF, SYSTEMD_NOFILE)
SOMAXCONN = Path("/proc/sys/net/core/somaxconn")


def readme(project):
    """The bake's deployment guide."""
    return (project / "DEPLOY.md").read_text()


def nginx_blocks(project):
    """The README's nginx code: (the nginx.conf lines, the site's block)."""
    conf, site = blocks(section(readme(project), "## nginx"), "nginx")
    return conf, site


def unit(project):
    """The README's systemd unit."""
    return blocks(section(readme(project), "## systemd"), "ini")[0]


def within_reach(count):
    """count, or this machine's hard limit of open files if that is lower."""
    return min(count, HARD_NOFILE)


def readme_limits(project):
    """The limits the README sets, as far as this machine lets a process go."""
    conf = nginx_blocks(project)[0]
    conf = re.sub(
        r"worker_rlimit_nofile (\d+);",
        lambda m: f"worker_rlimit_nofile {within_reach(int(m[1]))};",
        conf,
    )
    nofile = int(re.search(r"^LimitNOFILE=(\d+)$", unit(project), re.M)[1])
    proxy = section(readme(project), "## daphne behind a reverse proxy")
    somaxconn = int(re.search(r"net.core.somaxconn = (\d+)", proxy)[1])
    # Debian's worker_processes line stays as it is.
    return Limits(DEBIAN_WORKERS + conf, within_reach(nofile), somaxconn)


@contextmanager
def listen_queues(somaxconn):
    """net.core.somaxconn as the README's sysctl sets it, for the block, where
    this process may set it (root in its network namespace)."""
    before = int(SOMAXCONN.read_text())
    try:
        SOMAXCONN.write_text(str(somaxconn))
    except OSError:
        before = None
    try:
        yield
    finally:
        if before is not None:
            SOMAXCONN.write_text(str(before))


def proxied_daphne(project, app="app:application"):
    """daphne as the README runs it behind the proxy (on serving()'s port)."""
    block = blocks(section(readme(project), "## daphne behind a reverse proxy"), "sh")
    program, *arguments = shlex.split(commands(block[0], VENV)[0])
    assert program == "daphne"
    arguments = [a.replace("tcp:8000:", "tcp:{port}:") for a in arguments]
    return [BIN / "daphne", *arguments[:-1], app]


def with_nofile(soft, command):
    """command, started with a soft limit of open files (as systemd would)."""
    return ["prlimit", f"--nofile={soft}:{HARD_NOFILE}", *command]


@dataclass
class Proxied:
    http_port: int
    https_port: int
    daphne: object  # helpers.Server
    error_log: object  # nginx's
    restart: object  # restart(): daphne stopped, as systemd does, and started again


@contextmanager
def behind_nginx(
    project,
    certificate,
    where,
    address="127.0.0.1",
    ports=None,
    limits=None,
    served=None,
    stop_timeout=10,
):
    """The README's nginx block, running for real in front of a production daphne
    of project (or of served: (folder, app) such as a bare ASGI app).

    It listens on address, on the given (http, https) ports or on free ones, with
    limits (the README's by default); daphne gets stop_timeout seconds to stop.
    """
    limits = limits or readme_limits(project)
    cwd, app = served or (production_copy(project, where / "pro"), "app:application")
    env = clean_env(**{**PRODUCTION_ENV, "DJANGO_ALLOWED_HOSTS": HOSTS})
    command = with_nofile(limits.daphne_nofile, proxied_daphne(project, app))
    starts = itertools.count(1)  # daphne.log, then daphne-2.log after a restart
    with listen_queues(limits.somaxconn), ExitStack() as daphnes:

        def start(port=None):
            number = next(starts)
            log = where / ("daphne.log" if number == 1 else f"daphne-{number}.log")
            running = serving(command, cwd, log, env, port, stop_timeout=stop_timeout)
            return daphnes.enter_context(running)

        def restart():
            stop(site.daphne.process, stop_timeout)
            site.daphne = start(site.daphne.port)
            return site.daphne

        daphne = start()
        http_port, https_port = ports or (free_port(), free_port())
        listen = (f"{address}:{http_port}", f"{address}:{https_port}")
        config = nginx_conf(project, certificate, where, limits, listen, daphne)
        nginx = ["nginx", "-p", str(where), "-c", str(config)]
        check = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        process = subprocess.Popen(
            with_nofile(SYSTEMD_NOFILE, [*nginx, "-g", "daemon off;"])
        )
        try:
            wait_for_port(https_port, process, where / "error.log", address=address)
            site = Proxied(http_port, https_port, daphne, where / "error.log", restart)
            yield site
        finally:
            process.terminate()
            process.wait(timeout=10)


def nginx_conf(project, certificate, where, limits, listen, daphne):
    """An nginx.conf in where: limits' lines and the README's block, listening
    on (http, https) addresses and passing requests on to daphne."""
    cert, key = certificate
    block = (
        nginx_blocks(project)[1]
        .replace("listen 80;", f"listen {listen[0]};")
        .replace("listen 443 ssl", f"listen {listen[1]} ssl")
        .replace("127.0.0.1:8000", urlsplit(daphne.url).netloc)
        .replace("/etc/letsencrypt/live/example.com/fullchain.pem", str(cert))
        .replace("/etc/letsencrypt/live/example.com/privkey.pem", str(key))
    )
    config = where / "nginx.conf"
    config.write_text(
        f"user root;\npid {where}/nginx.pid;\nerror_log {where}/error.log warn;\n"
        f"{limits.nginx_conf}http {{\naccess_log off;\n"
        f"client_body_temp_path {where}/body;\nproxy_temp_path {where}/proxy;\n"
        f"{block}}}\n"
    )
    return config


def make_certificate(where):
    """A self-signed certificate for example.com and the scanner's address:
    (cert.pem, key.pem) in where."""
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
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
