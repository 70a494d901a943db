"""Fixtures for the real-browser tests: one JupyterLab server per session, a fresh kernel and
a fresh headless Chromium per test, a screenshot in ``test-artifacts/`` when a test fails.

Run them with ``python -m pytest tests/browser -m browser``; they need Debian's Chromium
(``scripts/install_chromium.sh``).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from tests.browser.harness import (
    REPO_ROOT,
    assert_no_dead_models,
    chromium_missing_message,
    collect_console_errors,
    launch_chromium,
    start_lab,
    start_server,
)

ARTIFACTS = REPO_ROOT / "test-artifacts"

_BROWSER_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    # Every test in this folder drives a browser: mark it even if a module forgets `pytestmark`.
    for item in items:
        if _BROWSER_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # lets fixtures see whether the test failed
    return report


@pytest.fixture(scope="session")
def lab_server():
    """A JupyterLab server on a free loopback port, stopped by its PID at the end."""
    message = chromium_missing_message()
    if message:
        pytest.fail(message, pytrace=False)
    server = start_lab()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def console_errors():
    """Console errors and page errors collected by the ``page`` fixture."""
    return []


@pytest.fixture
def page(request, lab_server, playwright_instance, console_errors):
    """A page in a fresh Chromium profile; every old session (kernel) is deleted first."""
    lab_server.delete_sessions()
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            collect_console_errors(page, console_errors)
            yield page
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
                except Exception as exc:  # a crashed page must not hide the test's own error
                    print(f"could not save a screenshot: {exc}")
                (ARTIFACTS / f"{stem}.log").write_text(
                    "console errors:\n" + "\n".join(console_errors)
                    + "\n\nserver log tail:\n" + lab_server.log_tail()
                )
            # Any test whose page saw a dead model fails by that name, not as a blank figure later.
            assert_no_dead_models(console_errors)
        finally:
            context.close()


@pytest.fixture(scope="session")
def notebook7_server():
    """A Jupyter Notebook 7 server (same settings overrides as the JupyterLab one)."""
    server = start_server("notebook")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def notebook7_page(request, notebook7_server, playwright_instance):
    notebook7_server.delete_sessions()
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            errors = collect_console_errors(page)
            yield page
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
                except Exception as exc:  # a crashed page must not hide the test's own error
                    print(f"could not save a screenshot: {exc}")
                (ARTIFACTS / f"{stem}.log").write_text("console errors:\n" + "\n".join(errors)
                                                      + "\n\nserver log tail:\n" + notebook7_server.log_tail())
            assert_no_dead_models(errors)
        finally:
            context.close()
