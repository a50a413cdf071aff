"""Slow clients cannot stall the fleet: 64 connections that send an add-to-cart's headers and
then its body a byte a second (as a few slow uploads, or an attacker, do) while signed-in
shoppers keep shopping. Each instance's nginx holds the slow bodies; gunicorn's threads
only ever see whole requests."""

import socket
import statistics
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.stack.load import FIGURES

pytestmark = pytest.mark.stack
SLOW_CONNECTIONS = 64
SECONDS = 8


def slow_uploads(url: str, stop: threading.Event, opened: list) -> None:
    """Open SLOW_CONNECTIONS requests that promise 100 kB, then trickle a byte a second
    into each until `stop`."""
    address = urlsplit(url)
    head = (
        f"POST /cart/add/ HTTP/1.1\r\nHost: {address.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
    ).encode()
    sockets = []
    try:
        for _ in range(SLOW_CONNECTIONS):
            connection = socket.create_connection((address.hostname, address.port), timeout=5)
            connection.sendall(head)
            sockets.append(connection)
        opened.append(len(sockets))
        while not stop.wait(1.0):
            for connection in sockets:
                connection.sendall(b"a")
        # Still open at the end: the attack lasted the whole test.
        opened.append(sum(_still_open(connection) for connection in sockets))
    finally:
        for connection in sockets:
            connection.close()


def _still_open(connection: socket.socket) -> bool:
    connection.setblocking(False)
    try:
        return connection.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True  # nothing to read, not closed
    except OSError:
        return False


def test_slow_uploads_do_not_hold_the_shops_threads(serving, shoppers, products):
    stop = threading.Event()
    opened: list[int] = []
    attack = threading.Thread(target=slow_uploads, args=(serving.url, stop, opened))
    attack.start()
    while not opened:  # every slow connection has sent its headers
        assert attack.is_alive(), "the slow connections could not be opened"
        time.sleep(0.05)

    timings: list[float] = []
    outcomes = []
    lock = threading.Lock()

    def shop(shopper, n):
        deadline = time.monotonic() + SECONDS
        step = 0
        while time.monotonic() < deadline:
            product_id, slug = products[(n + step) % len(products)]
            for act, argument in ((shopper.browse, slug), (shopper.add_to_cart, product_id)):
                started = time.perf_counter()
                outcome = act(argument)
                with lock:
                    timings.append(time.perf_counter() - started)
                    outcomes.append(outcome)
            step += 1

    threads = [threading.Thread(target=shop, args=(s, n)) for n, s in enumerate(shoppers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    attack.join()

    failed = [str(o) for o in outcomes if not o.ok]
    p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else float("inf")
    figures = (
        f"[slow uploads] {SLOW_CONNECTIONS} connections trickling a body a byte a second for "
        f"{SECONDS} s: other shoppers got {len(outcomes)} answers, failed {len(failed)}, "
        f"p50 {statistics.median(timings) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {max(timings) * 1000:.0f} ms; slow connections still open at the end: "
        f"{opened[-1]} of {opened[0]}"
    )
    print(figures)
    FIGURES.append(figures)
    assert opened == [SLOW_CONNECTIONS, SLOW_CONNECTIONS]  # the attack held throughout
    assert not failed, failed[:10]
    assert len(outcomes) > 8 * len(shoppers)  # shoppers kept shopping, not waiting
    assert p95 < 1.0  # seconds: what other shoppers may wait while the attack lasts
