"""A real browser on the page daphne serves: the websocket demo works for a person."""

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from helpers import daphne_serving

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


def open_page(browser, url):
    """A new page at url, and the list its Content-Security-Policy violations
    go to (as the console reports them)."""
    page = browser.new_page()
    violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and violations.append(message.text)
        ),
    )
    page.goto(url)
    return page, violations


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
