"""The README's limits let one daphne behind its nginx hold more websockets than
a deployment with the defaults does (Debian's nginx.conf, systemd's 1,024 files)."""

import dataclasses
import shutil

import pytest

from crowd import crowd
from deploy import DEBIAN_DEFAULTS, SYSTEMD_NOFILE, behind_nginx, readme_limits

SOCKETS = 1500  # more than the defaults allow


@pytest.fixture(scope="module")
def project(bake):
    if not shutil.which("nginx"):
        pytest.skip("no nginx here, and tests/run.sh could not install it")
    return bake({"debug": False, "websocket": "asgi", "database": False}).project_path


def hold(project, certificate, where, limits):
    """Open SOCKETS websockets through nginx, stopping at the first refusal,
    then echo on each: (how many opened, the refusal, echoes lost, site)."""
    with behind_nginx(project, certificate, where, limits=limits) as site:
        url = f"wss://example.com:{site.https_port}/ws/echo/"
        with crowd(
            url, SOCKETS, "https://example.com", "example.com", site.https_port
        ) as people:
            opened, _, error = people.grow(SOCKETS)
            _, lost = people.echo()
    return opened, error, lost, site


def test_the_readme_limits_hold_them_all(project, certificate, tmp_path):
    opened, error, lost, _ = hold(
        project, certificate, tmp_path, readme_limits(project)
    )

    assert (opened, error, lost) == (SOCKETS, None, 0)


def test_debian_defaults_stop_at_nginx(project, certificate, tmp_path):
    opened, error, lost, site = hold(project, certificate, tmp_path, DEBIAN_DEFAULTS)

    assert opened < 768
    assert error is not None
    assert lost == 0
    assert "768 worker_connections are not enough" in site.error_log.read_text()


def test_without_the_units_limit_daphne_stops(project, certificate, tmp_path):
    limits = dataclasses.replace(readme_limits(project), daphne_nofile=SYSTEMD_NOFILE)

    opened, error, lost, site = hold(project, certificate, tmp_path, limits)

    assert opened < SYSTEMD_NOFILE
    assert error is not None
    assert lost == 0
    log = site.error_log.read_text()
    assert "worker_connections are not enough" not in log
    # daphne reset or closed the connection ("Connection reset by peer", or
    # "upstream prematurely closed connection") before it answered.
    assert "while reading response header from upstream" in log
