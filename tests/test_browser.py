"""A real browser on the page daphne serves: the websocket demo works for a person."""

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import daphne_serving

# Headless Chromium as root on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope: Playwright's sync API runs an event loop while it is open, and
# the other modules' tests start event loops of their own.
@pytest.fixture(scope="module")
def browser():
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
def daphne_site(baked_websocket, tmp_path_factory):
    with daphne_serving(baked_websocket, tmp_path_factory) as server:
        yield server.url


def test_page_echoes_what_you_type(browser, daphne_site):
    page = browser.new_page()
    page.goto(f"{daphne_site}/?name=Browser")

    page.locator("#echo input").fill("Hello over a websocket")
    page.locator("#echo button").click()  # waits until the socket is open

    expect(page.locator("h1")).to_have_text("Hello, Browser!")
    expect(page.locator("#echo-log li")).to_have_text(["Hello over a websocket"])
    page.close()


@pytest.fixture(scope="session")
def channels_site(baked_channels, tmp_path_factory):
    with daphne_serving(baked_channels, tmp_path_factory) as server:
        yield server.url


def test_chat_message_reaches_another_page(browser, channels_site):
    alice, bob = browser.new_page(), browser.new_page()
    for page in (alice, bob):
        page.goto(channels_site)
        expect(page.locator("#chat button")).to_be_enabled()  # joined the room

    alice.locator("#chat input").fill("Hello, Bob")
    alice.locator("#chat button").click()

    expect(bob.locator("#chat-log li")).to_have_text(["Hello, Bob"])
    expect(alice.locator("#chat-log li")).to_have_text(["Hello, Bob"])
    alice.close()
    bob.close()
