"""Fixtures shared by the reliability tests."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture
def thread_errors(monkeypatch):
    """Exceptions that escape any thread fail the test (they would be lost in a log).

    Modules that want it for every test say ``pytestmark = pytest.mark.usefixtures("thread_errors")``.
    """
    errors = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    yield errors
    assert not errors, f"an exception escaped a thread: {errors!r}"
