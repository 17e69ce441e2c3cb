import threading
import time

import pytest

from tidecast.tasks.budget import ModelTimeoutError, call_with_budget


def test_returns_the_value_within_the_budget():
    assert call_with_budget(lambda: 42, 5.0, "quick") == 42


def test_no_budget_runs_inline():
    assert call_with_budget(threading.current_thread, None, "inline") is threading.current_thread()


def test_the_models_own_exception_is_re_raised_unchanged():
    boom = ValueError("boom")

    def fail():
        raise boom

    with pytest.raises(ValueError) as raised:
        call_with_budget(fail, 5.0, "failing")
    assert raised.value is boom


def test_past_the_budget_it_gives_up_quickly_and_says_what_timed_out():
    release = threading.Event()
    started = time.perf_counter()
    try:
        with pytest.raises(ModelTimeoutError, match=r"^slow on chunk 1 fold 0 exceeded its time"):
            call_with_budget(lambda: release.wait(600), 0.2, "slow on chunk 1 fold 0")
    finally:
        release.set()  # let the abandoned thread end
    assert time.perf_counter() - started < 5
