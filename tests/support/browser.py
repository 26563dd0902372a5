"""A real Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright, and axe-core.

Why Debian's Chromium and not Playwright's own browser: nothing may be downloaded at run time, and
``playwright install`` fetches a browser build; the Python wheel carries only its driver. test.sh
installs the ``chromium`` package and runs ``npm ci`` in ``tests/support/browser`` for axe-core.

A missing browser skips a test on a developer's machine that never ran test.sh, but fails in CI
(``CI`` set): a green CI run must mean the pages were really checked.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

import pytest

AXE_PATH = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
# The rule sets LAPOR!'s pages must meet: WCAG 2.0-2.2, levels A and AA.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

# As root on a machine with no network to speak of: no sandbox (root), no GPU, and none of the
# background connections Chromium opens at start (each refused here, some retried for seconds).
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-default-apps", "--mute-audio",
)


def chromium_path() -> Optional[str]:
    """Debian's Chromium, or ``SAPALAPOR_CHROMIUM`` when an operator points elsewhere."""
    configured = os.environ.get("SAPALAPOR_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_browser() -> str:
    """The browser's path; skip (outside CI) or fail (in CI) when it or axe-core is missing."""
    path = chromium_path()
    missing = []
    if path is None:
        missing.append("Chromium (apt-get install chromium)")
    if not AXE_PATH.exists():
        missing.append("axe-core (npm ci --prefix tests/support/browser)")
    if missing:
        message = "browser tests need " + " and ".join(missing) + "; bash test.sh installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def fake_microphone_flags(wav: Path) -> List[str]:
    """Chromium's fake capture device playing ``wav`` (16-bit PCM WAV) to getUserMedia, no prompt."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    ]


@contextlib.contextmanager
def chromium_browser(fake_audio: Optional[Path] = None) -> Iterator["Browser"]:  # noqa: F821
    """A headless Chromium, closed after; Playwright gives each launch an empty profile of its own."""
    from playwright.sync_api import sync_playwright

    executable = require_browser()
    args = list(CHROMIUM_FLAGS)
    if fake_audio is not None:
        args += fake_microphone_flags(Path(fake_audio))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=args, headless=True,
            ignore_default_args=["--headless"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module, closed at the module's end.

    Not per session: Playwright's sync API runs an asyncio loop in the main thread while it is
    open, and every later test that runs a loop of its own (pytest-asyncio, Sanic's test client)
    would find "this event loop is already running". Starting one costs 1-2 s of CPU.
    """
    with chromium_browser() as started:
        yield started


@contextlib.contextmanager
def opened_page(browser, **options) -> Iterator["Page"]:  # noqa: F821
    """A fresh context (no cookies, no storage) and its page, closed after.

    ``bypass_csp``: our pages' Content-Security-Policy allows only their own scripts, and
    axe-core is injected (Playwright's documented way to test such pages).
    """
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(locale="id-ID", bypass_csp=True, **options)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def page(browser):
    """A fresh page per test, in the session's Chromium."""
    with opened_page(browser) as opened:
        yield opened


@contextlib.contextmanager
def fake_microphone_browser(browser, wav: Path) -> Iterator["Browser"]:  # noqa: F821
    """A second Chromium whose microphone plays ``wav``, from the session's Playwright.

    Why not :func:`chromium_browser`: Playwright's sync API refuses a second instance while the
    session's ``browser`` runs, so the second browser is launched from the same one.
    """
    launched = browser.browser_type.launch(
        executable_path=require_browser(), headless=True, ignore_default_args=["--headless"],
        args=[*CHROMIUM_FLAGS, *fake_microphone_flags(Path(wav))])
    try:
        yield launched
    finally:
        launched.close()


def axe_violations(page, impacts: Sequence[str] = ("serious", "critical"),
                   tags: Sequence[str] = AXE_TAGS) -> List[dict]:
    """axe-core's violations of ``impacts`` on the page as it is now, in a short readable form.

    Each item: rule id, impact, help text and the CSS targets of the failing nodes, so an
    assertion message says what to fix without opening the browser.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_PATH))
    result = page.evaluate(
        "async (tags) => await window.axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        list(tags))
    return [
        {"id": violation["id"], "impact": violation["impact"], "help": violation["help"],
         "targets": [node["target"] for node in violation["nodes"]][:10]}
        for violation in result["violations"] if violation["impact"] in impacts
    ]


def describe_focused(page) -> str:
    """The focused element as a screen reader would name it: role and accessible name."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body) return 'body';
            const role = el.getAttribute('role') || el.tagName.toLowerCase();
            const labelled = el.getAttribute('aria-labelledby');
            let name = el.getAttribute('aria-label')
                || (labelled && labelled.split(' ').map(id => (document.getElementById(id) || {}).textContent || '').join(' '))
                || (el.labels && el.labels.length ? el.labels[0].textContent : '')
                || el.getAttribute('title') || el.getAttribute('placeholder') || el.textContent || el.value || '';
            return (role + ' ' + name.trim().replace(/\\s+/g, ' ')).trim();
        }""")


def tab_order(page, count: int) -> List[str]:
    """Press Tab ``count`` times and say what got focus each time (a keyboard-only user's path)."""
    order = []
    for _ in range(count):
        page.keyboard.press("Tab")
        order.append(describe_focused(page))
    return order
