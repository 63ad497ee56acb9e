"""The command queue into the callback, and the meters it writes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pedalboard.engine.meters import LOAD_HISTORY, SILENCE_DB, Meters, block_peak
from pedalboard.engine.queue import CommandQueue, QueueFullError, Ring


def test_ring_is_first_in_first_out_and_bounded() -> None:
    ring = Ring(4)
    assert [ring.push(i) for i in range(5)] == [True, True, True, True, False]
    assert [ring.pop() for _ in range(5)] == [0, 1, 2, 3, None]
    assert ring.push("again") and ring.pop() == "again"


def test_commands_from_many_threads_arrive_once_each_in_sequence_order() -> None:
    queue = CommandQueue(capacity=64)
    producers, per_producer = 4, 2000
    seen: list[tuple[int, int, int]] = []
    done = threading.Event()

    def produce(who: int) -> None:
        for k in range(per_producer):
            while True:
                try:
                    queue.put("param", who, k)
                    break
                except QueueFullError:
                    pass  # the consumer is behind: a real caller would report it

    def consume() -> None:
        while not done.is_set() or len(queue):
            command = queue.pop()
            if command is not None:
                seen.append((command[0], command[2], command[3]))

    consumer = threading.Thread(target=consume)
    consumer.start()
    threads = [threading.Thread(target=produce, args=(who,)) for who in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    consumer.join()
    assert [s for s, _, _ in seen] == list(range(1, producers * per_producer + 1))
    for who in range(producers):
        assert [k for _, w, k in seen if w == who] == list(range(per_producer))


def test_a_full_queue_says_why() -> None:
    queue = CommandQueue(capacity=2)
    queue.put("a")
    queue.put("b")
    with pytest.raises(QueueFullError, match="not running"):
        queue.put("c")
    assert queue.submitted == 2


def test_peaks_hold_then_fall_at_the_meter_rate() -> None:
    meters = Meters(48000, 64)
    loud = np.full((1, 64), 0.5, dtype=np.float32)
    quiet = np.zeros((2, 64), dtype=np.float32)
    meters.update(loud, quiet)
    assert meters.peak_db() == pytest.approx((20 * np.log10(0.5), SILENCE_DB))
    for _ in range(750):  # one second of silence
        meters.update(quiet[:1], quiet)
    assert meters.peak_db()[0] == pytest.approx(20 * np.log10(0.5) - 20.0, abs=0.01)


def test_block_peak_sees_every_channel() -> None:
    block = np.zeros((2, 64), dtype=np.float32)
    block[1, 17] = -0.75
    assert block_peak(block) == pytest.approx(0.75)


def test_load_percentiles_cover_the_recent_history() -> None:
    meters = Meters(48000, 64)
    assert meters.load_percentiles() == (0.0, 0.0)
    period = 64 / 48000
    for k in range(LOAD_HISTORY + 100):
        meters.record_load(period * (0.9 if k % 100 == 0 else 0.1))
    p50, p99 = meters.load_percentiles()
    assert p50 == pytest.approx(0.1)
    assert 0.1 <= p99 <= 0.9
    meters.add_xrun(3)
    assert meters.xruns == 3
