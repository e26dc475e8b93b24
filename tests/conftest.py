"""The template's fixtures: bakes and running servers (helpers live in helpers.py)."""

import shutil
import subprocess

import pytest
from playwright.sync_api import sync_playwright

from deploy import make_certificate
from helpers import (
    BIN,
    CHROMIUM_ARGS,
    DAPHNE,
    DEPLOYED,
    OPTIONS,
    PRODUCTION_ENV,
    ROOT,
    clean_env,
    daphne_serving,
    free_port,
    only,
    postgres_cluster,
    postgres_program,
    production_copy,
    serving,
)


def pytest_configure(config):
    # Bake this checkout, wherever pytest was started from.
    config.option.template = str(ROOT)


@pytest.fixture(scope="session")
def bake(cookies_session):
    """Bake with the given options, once per combination however often asked."""
    results = {}

    def bake(options):
        key = tuple(sorted(options.items()))
        if key not in results:
            result = cookies_session.bake(extra_context=options)
            assert result.exception is None
            assert result.exit_code == 0
            results[key] = result
        return results[key]

    return bake


@pytest.fixture(scope="session", params=OPTIONS)
def baked(request, bake):
    """The pytest-cookies result of baking each option combination."""
    return bake(request.param)


@pytest.fixture(scope="session", params=DEPLOYED)
def deployed(request, bake):
    """Each bake that differs once deployed (without .env)."""
    return bake(request.param)


@pytest.fixture(scope="session", params=only({"asgi", "channels"}))
def baked_websocket(request, bake):
    """Each bake with a websocket router."""
    return bake(request.param)


@pytest.fixture(scope="session", params=only({"channels"}))
def baked_channels(request, bake):
    """Each bake with Django Channels."""
    return bake(request.param)


@pytest.fixture(scope="session", params=only({"channels"}, DEPLOYED))
def deployed_channels(request, bake):
    """The bake with Django Channels, as deployed."""
    return bake(request.param)


@pytest.fixture(scope="session")
def cookiecutter_cli(tmp_path_factory):
    """Run the real cookiecutter command, with a user config of its own."""
    home = tmp_path_factory.mktemp("cookiecutter-home")
    config = home / "config.yaml"
    config.write_text(
        f"cookiecutters_dir: {home / 'templates'}\nreplay_dir: {home / 'replay'}\n"
    )

    def run(*args, input="", no_input=True):
        flags = ["--no-input"] if no_input else []
        return subprocess.run(
            [BIN / "cookiecutter", *flags, "--config-file", config, *args],
            input=input,
            env=clean_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    return run


@pytest.fixture(scope="session")
def uv_home(tmp_path_factory):
    """uv as a new user has it: bin/ with uv and uvx for PATH, and a cache/ that
    starts empty, so that what uv needs it downloads from PyPI."""
    home = tmp_path_factory.mktemp("uv")
    (home / "bin").mkdir()
    for name in ("uv", "uvx"):
        (home / "bin" / name).symlink_to(BIN / name)
    return home


@pytest.fixture(scope="session")
def daphne(baked, tmp_path_factory):
    with daphne_serving(baked, tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def production(deployed, tmp_path_factory):
    """daphne serving a copy of the bake without .env, set up as in production."""
    where = tmp_path_factory.mktemp("production")
    project = production_copy(deployed.project_path, where / "project")
    env = clean_env(**PRODUCTION_ENV)
    with serving(DAPHNE, project, where / "daphne.log", env=env) as server:
        yield server


# Module scope: Playwright's sync API runs an event loop while it is open, and
# the other modules' tests start event loops of their own.
@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's), driven by Playwright."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip(
            "no chromium on this machine, and tests/run.sh could not install "
            "Debian's chromium package: the browser tests are skipped"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A PostgreSQL cluster: (its data folder, its DATABASE_URL, its port)."""
    if postgres_program("initdb") is None:
        pytest.skip(
            "no PostgreSQL here, and tests/run.sh could not install Debian's "
            "postgresql package: the PostgreSQL tests are skipped"
        )
    data = postgres_cluster()
    port = free_port()
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    yield data, url, port
    shutil.rmtree(data)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for the deployment's nginx: (cert, key)."""
    if not shutil.which("openssl"):
        pytest.skip("no openssl here, and tests/run.sh could not install it")
    return make_certificate(tmp_path_factory.mktemp("tls"))
