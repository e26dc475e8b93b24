"""A real browser on the page daphne serves: the websocket demo works for a person,
and stays live through restarts of daphne and Redis."""

import shutil
import subprocess
import sys
from contextlib import ExitStack, contextmanager

import pytest
from playwright.sync_api import expect

from helpers import (
    DAPHNE,
    clean_env,
    daphne_serving,
    free_port,
    only,
    open_page,
    redis_server,
    run,
    serving,
)

# Long enough for a page's backoff after an outage of a few seconds (its waits
# grow 1, 2, 4, 8 s), as a person would wait for it.
RECONNECTED = 30_000  # ms


@pytest.fixture(scope="session", params=only({"asgi"}))
def daphne_site(request, bake, tmp_path_factory):
    with daphne_serving(bake(request.param), tmp_path_factory) as server:
        yield server.url


def test_page_echoes_what_you_type_under_its_csp(browser, daphne_site):
    page, violations = open_page(browser, f"{daphne_site}/?name=Browser")

    page.locator("#echo input").fill("Hello over a websocket")
    page.locator("#echo button").click()  # waits until the socket is open

    expect(page.locator("h1")).to_have_text("Hello, Browser!")
    expect(page.locator("#echo-log li")).to_have_text(["Hello over a websocket"])
    page.close()
    assert violations == []


def test_an_injected_script_is_blocked_and_reported(browser, daphne_site):
    # The check above can fail: a script without the nonce is refused, and said so.
    page, violations = open_page(browser, daphne_site)

    page.evaluate(
        "document.body.append(Object.assign(document.createElement('script'),"
        " {textContent: 'window.injected = true'}))"
    )

    assert page.evaluate("window.injected === undefined") is True
    page.close()
    assert len(violations) == 1
    assert "violates the following Content Security Policy directive" in violations[0]


@pytest.fixture(scope="session")
def channels_site(baked_channels, tmp_path_factory):
    with daphne_serving(baked_channels, tmp_path_factory) as server:
        yield server.url


def test_chat_message_reaches_another_page(browser, channels_site):
    (alice, alice_violations), (bob, bob_violations) = [
        open_page(browser, channels_site) for _ in "ab"
    ]
    for page in (alice, bob):
        expect(page.locator("#chat button")).to_be_enabled()  # joined the room

    alice.locator("#chat input").fill("Hello, Bob")
    alice.locator("#chat button").click()

    expect(bob.locator("#chat-log li")).to_have_text(["Hello, Bob"])
    expect(alice.locator("#chat-log li")).to_have_text(["Hello, Bob"])
    alice.close()
    bob.close()
    assert alice_violations == bob_violations == []


ADMIN = {
    "DJANGO_SUPERUSER_USERNAME": "admin",
    "DJANGO_SUPERUSER_PASSWORD": "Pa55-w0rd!",
}


@pytest.fixture(scope="module")
def guestbook_site(bake, tmp_path_factory):
    """A bake with a database as its developer runs it with DEBUG off: static
    files collected, a superuser made from DJANGO_SUPERUSER_* variables."""
    baked = bake({"debug": False, "websocket": "none", "database": True})
    where = tmp_path_factory.mktemp("guestbook-site")
    project = shutil.copytree(baked.project_path, where / "project")
    env = clean_env(DATABASE_URL=f"sqlite:///{where / 'db.sqlite3'}")
    for command in (
        ["migrate", "-v0"],
        ["collectstatic", "--noinput", "-v0"],
        ["createsuperuser", "--noinput", "--email", "admin@example.com"],
    ):
        subprocess.run(
            [sys.executable, "app.py", *command],
            cwd=project,
            env=env | ADMIN,
            check=True,
            capture_output=True,
        )
    with serving(DAPHNE, project, where / "daphne.log", env=env) as server:
        yield server.url


def test_sign_the_guestbook_then_find_the_entry_in_the_admin(browser, guestbook_site):
    page, violations = open_page(browser, guestbook_site)

    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Message").fill("Hello from a browser <b>")
    page.get_by_role("button", name="Sign").click()
    expect(page.locator("#entries li")).to_have_text(["Ada: Hello from a browser <b>"])
    page.goto(f"{guestbook_site}/admin/app/entry/")
    page.get_by_label("Username").fill(ADMIN["DJANGO_SUPERUSER_USERNAME"])
    page.get_by_label("Password").fill(ADMIN["DJANGO_SUPERUSER_PASSWORD"])
    page.get_by_role("button", name="Log in").click()

    expect(page.locator("#result_list tbody tr")).to_have_text(
        ["Ada: Hello from a browser <b>"]
    )
    # The admin's stylesheets load under the CSP: its header has its colour.
    header = page.locator("#header")
    expect(header).to_have_css("background-color", "rgb(65, 118, 144)")
    page.close()
    assert violations == []


@pytest.fixture(scope="module")
def live_project(bake, tmp_path_factory):
    """The bake with Channels and a database, DEBUG off, its static files
    collected and an admin made in a SQLite file: (project, that file)."""
    baked = bake({"debug": False, "websocket": "channels", "database": True})
    where = tmp_path_factory.mktemp("live")
    project = shutil.copytree(baked.project_path, where / "project")
    env = clean_env(DATABASE_URL=f"sqlite:///{where / 'db.sqlite3'}") | ADMIN
    for command in (
        ["migrate", "-v0"],
        ["collectstatic", "--noinput", "-v0"],
        ["createsuperuser", "--noinput", "--email", "admin@example.com"],
    ):
        run(sys.executable, "app.py", *command, cwd=project, env=env)
    return project, where / "db.sqlite3"


@contextmanager
def live_sites(project, database, where, processes):
    """The site's URL for each of two visitors, on a copy of database: one
    daphne with the rooms in its memory, or two sharing them on a real Redis."""
    shutil.copy(database, where / "db.sqlite3")
    env = clean_env(DATABASE_URL=f"sqlite:///{where / 'db.sqlite3'}")
    if processes == 1:
        with serving(DAPHNE, project, where / "daphne.log", env, migrate=False) as one:
            yield one.url, one.url
        return
    with redis_server(where) as (redis_url, _):
        env = env | {"REDIS_URL": redis_url}
        with (
            serving(DAPHNE, project, where / "a.log", env, migrate=False) as a,
            serving(DAPHNE, project, where / "b.log", env, migrate=False) as b,
        ):
            yield a.url, b.url


def say(page, text):
    page.locator("#chat input").fill(text)
    page.locator("#chat button").click()


@pytest.mark.parametrize("processes", [1, 2], ids=["one-daphne", "two-on-redis"])
def test_chat_and_guestbook_know_who_is_there_and_update_live(
    browser, live_project, processes, tmp_path
):
    project, database = live_project
    with live_sites(project, database, tmp_path, processes) as (url_a, url_b):
        ada, ada_violations = open_page(browser.new_context(), f"{url_a}/admin/")
        ada.get_by_label("Username").fill(ADMIN["DJANGO_SUPERUSER_USERNAME"])
        ada.get_by_label("Password").fill(ADMIN["DJANGO_SUPERUSER_PASSWORD"])
        ada.get_by_role("button", name="Log in").click()
        ada.goto(url_a)
        bea, bea_violations = open_page(browser.new_context(), url_b)
        for page in (ada, bea):
            expect(page.locator("#chat button")).to_be_enabled()  # joined the room
        ada.evaluate("window.notReloaded = true")

        say(ada, "Hello from Ada")
        expect(bea.locator("#chat-log li")).to_have_count(1)
        say(bea, "<b>Hi</b> from Bea")
        chat = ["admin: Hello from Ada", "anonymous: <b>Hi</b> from Bea"]
        expect(ada.locator("#chat-log li")).to_have_text(chat)
        expect(bea.locator("#chat-log li")).to_have_text(chat)
        bea.get_by_label("Name").fill("Bea")
        bea.get_by_label("Message").fill("<i>live</i>")
        bea.get_by_role("button", name="Sign").click()  # Bea's page reloads

        expect(ada.locator("#entries li")).to_have_text(["Bea: <i>live</i>"])
        not_reloaded = ada.evaluate("window.notReloaded")
        for page in (ada, bea):
            page.context.close()

    assert not_reloaded is True
    assert ada_violations == bea_violations == []


def test_the_page_reconnects_after_a_restart_and_says_so_meanwhile(
    browser, bake, tmp_path
):
    project = bake({"debug": True, "websocket": "asgi", "database": False})
    port, send = free_port(), "#echo button"
    with serving(DAPHNE, project.project_path, tmp_path / "a.log", port=port):
        page, violations = open_page(browser, f"http://127.0.0.1:{port}/")
        expect(page.locator(send)).to_be_enabled()
        page.evaluate("window.notReloaded = true")
    expect(page.locator(send)).to_be_disabled()  # daphne has stopped
    down = page.locator("#echo output").text_content()
    with serving(DAPHNE, project.project_path, tmp_path / "b.log", port=port):
        expect(page.locator(send)).to_be_enabled(timeout=RECONNECTED)
        page.locator("#echo input").fill("Back again")
        page.locator(send).click()
        expect(page.locator("#echo-log li")).to_have_text(["Back again"])
        back = page.locator("#echo output").text_content()
        not_reloaded = page.evaluate("window.notReloaded")
        page.close()

    assert (down, back, not_reloaded) == ("reconnecting…", "", True)
    assert violations == []


def sign(page, name, message):
    page.get_by_label("Name").fill(name)
    page.get_by_label("Message").fill(message)
    page.get_by_role("button", name="Sign").click()  # the page reloads


def wait_until_live(page):
    """Until the page's guestbook socket is open. (wait_for_function would
    evaluate a string in the page, which its CSP forbids.)"""
    live = "document.getElementById('entries').socket?.readyState === WebSocket.OPEN"
    for _ in range(RECONNECTED // 50):
        if page.evaluate(live):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the guestbook's socket did not open")


def test_a_page_shows_what_was_signed_while_daphne_and_redis_restarted(
    browser, live_project, tmp_path
):
    project, database = live_project
    shutil.copy(database, tmp_path / "db.sqlite3")
    redis_port, port = free_port(), free_port()
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
    )

    def daphne(log, port=None):
        return serving(DAPHNE, project, tmp_path / log, env, port, migrate=False)

    with ExitStack() as redis, daphne("bea.log") as other:
        redis.enter_context(redis_server(tmp_path, redis_port))
        bea = browser.new_page()  # she signs on the other daphne
        bea.goto(other.url)
        with daphne("ada-1.log", port):
            ada, violations = open_page(browser, f"http://127.0.0.1:{port}/")
            wait_until_live(ada)
            ada.evaluate("window.notReloaded = true")
            sign(bea, "Bea", "before")
            expect(ada.locator("#entries li")).to_have_text(["Bea: before"])
        expect(ada.locator("#chat button")).to_be_disabled()  # its daphne is down
        daphne_down = ada.locator("#chat output").text_content()
        sign(bea, "Bea", "while daphne restarted")
        with daphne("ada-2.log", port):
            expect(ada.locator("#entries li")).to_have_text(
                ["Bea: while daphne restarted", "Bea: before"], timeout=RECONNECTED
            )
            wait_until_live(ada)
            redis.close()
            expect(ada.locator("#chat button")).to_be_disabled()  # Redis is down
            redis_down = ada.locator("#chat output").text_content()
            sign(bea, "Bea", "while Redis restarted")
            with redis_server(tmp_path, redis_port):
                expect(ada.locator("#entries li")).to_have_text(
                    [
                        "Bea: while Redis restarted",
                        "Bea: while daphne restarted",
                        "Bea: before",
                    ],
                    timeout=RECONNECTED,
                )
                expect(ada.locator("#chat button")).to_be_enabled(timeout=RECONNECTED)
                say(ada, "Still here")
                expect(ada.locator("#chat-log li")).to_have_text(
                    ["anonymous: Still here"]
                )
                not_reloaded = ada.evaluate("window.notReloaded")
                for page in (ada, bea):
                    page.close()

    assert (daphne_down, redis_down) == ("reconnecting…", "reconnecting…")
    assert not_reloaded is True
    assert violations == []
    logs = {log.name: log.read_text() for log in tmp_path.glob("*.log")}
    assert "Traceback" not in "".join(logs.values())
    assert "Guestbook entry not shown live: Redis: " in logs["bea.log"]
