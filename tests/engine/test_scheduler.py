"""The one scheduler (tda_widgets.engine.scheduler.Batch): same results serially and on an
executor, progress that moves, cancel that stops and cancels what has not started."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tda_widgets.engine.scheduler import Batch, local_process_pool, resolve_executor
from tda_widgets.errors import Cancelled, TDAInputError


def _square(x, delay=0.0):
    time.sleep(delay)
    return x * x


@pytest.mark.parametrize("workers", [None, 2])
def test_results_in_order_and_progress_moves(workers):
    executor = ThreadPoolExecutor(workers) if workers else None
    seen, stored = [], []
    try:
        with Batch(executor, "squares", progress=lambda d, t, m: seen.append((d, t, m)),
                   on_result=lambda k, v: stored.append(k)) as batch:
            for k in range(5):
                batch.add(k, _square, k, delay=0.01 * (5 - k), message=f"square {k}")
            assert batch.results() == {k: k * k for k in range(5)}
    finally:
        if executor:
            executor.shutdown()
    assert [d for d, _, _ in seen] == [1, 2, 3, 4, 5] and seen[-1][1] == 5
    assert seen[0][2] == "square 0" and stored == [0, 1, 2, 3, 4]


def test_cancel_stops_serial_work_and_keeps_finished_results():
    cancel, stored = threading.Event(), {}

    def store(key, value):
        stored[key] = value
        if key == 1:
            cancel.set()

    with pytest.raises(Cancelled, match="squares"):
        with Batch(None, "squares", cancel=cancel, on_result=store) as batch:
            for k in range(5):
                batch.add(k, _square, k)
    assert stored == {0: 0, 1: 1}  # the finished ones, nothing after the cancel


class _Recording(ThreadPoolExecutor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.futures = []

    def submit(self, *args, **kwargs):
        future = super().submit(*args, **kwargs)
        self.futures.append(future)
        return future


def test_cancel_while_waiting_cancels_what_has_not_started():
    cancel, started = threading.Event(), []
    executor = _Recording(1)

    def slow(k):
        started.append(k)
        time.sleep(0.3)
        return k

    try:
        with pytest.raises(Cancelled, match="slow"):
            with Batch(executor, "slow", cancel=cancel) as batch:
                for k in range(4):
                    batch.add(k, slow, k)
                threading.Timer(0.1, cancel.set).start()
                batch.results()
    finally:
        executor.shutdown(wait=True)
    assert started == [0]                                   # one worker, cancelled during call 0
    assert [f.cancelled() for f in executor.futures] == [False, True, True, True]


def test_resolve_executor_names_the_parameter():
    assert resolve_executor(None, "x") is None
    assert resolve_executor("processes", "x") is local_process_pool()
    with pytest.raises(TDAInputError, match="'executor' parameter of Study must be None, 'processes'"):
        resolve_executor("threads", "Study")
