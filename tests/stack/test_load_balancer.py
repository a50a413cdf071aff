"""The load balancer's retry policy: a request that reached an instance which then died is
replayed elsewhere only if it is a GET or HEAD; a POST (an add to the cart) may have been
processed, so the shopper gets a 502 instead of a second add."""

import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from deploy.servers import LoadBalancer, free_low_port

pytestmark = pytest.mark.stack


def backend(*, dies_mid_request: bool):
    """An HTTP server that answers the health check; every other request it either answers
    (200) or reads and then drops without a word, like an instance SIGKILLed mid-request."""
    seen = Counter()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            if self.path == "/healthz":
                return self._answer()
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            seen[self.command] += 1
            if dies_mid_request:
                self.close_connection = True
                return  # the connection closes with no response
            self._answer()

        do_GET = do_POST = _handle

        def _answer(self):
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_low_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def balancer(tmp_path):
    dying, dying_seen = backend(dies_mid_request=True)
    healthy, healthy_seen = backend(dies_mid_request=False)
    servers = {"dying": dying.server_address[1], "healthy": healthy.server_address[1]}
    lb = LoadBalancer(tmp_path / "haproxy", free_low_port(), servers).start()
    try:
        for name in servers:
            lb.wait_for_status(name, "UP")
        yield lb, dying_seen, healthy_seen
    finally:
        lb.stop()
        dying.shutdown()
        healthy.shutdown()


def post_in_one_packet(port: int, path: str, body: bytes) -> int:
    """POST as a browser sends a small form: headers and body in one write, so HAProxy holds
    the whole request and could replay it (python-requests writes the body separately)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


def test_get_is_replayed_on_another_instance_but_post_is_not(balancer):
    lb, dying_seen, healthy_seen = balancer
    gets = [requests.get(f"{lb.url}/page", timeout=10).status_code for _ in range(6)]
    posts = [post_in_one_packet(lb.port, "/cart/add/", b"product=1&quantity=1") for _ in range(6)]
    # Round-robin sent half of each to the dying instance.
    assert dying_seen["GET"] >= 3 and dying_seen["POST"] >= 3
    assert gets == [200] * 6  # every GET that died was answered by the other instance
    assert Counter(posts) == {200: healthy_seen["POST"], 502: dying_seen["POST"]}
