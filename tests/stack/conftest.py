"""One local stack for the whole session: HAProxy, three instances, PostgreSQL, Redis and
S3 (moto), started by deploy.stack exactly as `make stack` starts it, in the suite's
temporary directory and on ports of its own."""

import os
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from deploy.stack import INSTANCES, LocalStack
from tests.stack import shop
from tests.stack.load import FIGURES
from tests.stack.shop import Shopper, stack_json

SHOPPERS = 4
PASSWORD = "a-long-shopper-password-7"


@pytest.fixture(scope="session")
def stack():
    stack = LocalStack(Path(os.environ["WEBSHOP_TEST_WORKDIR"]) / "stack")
    try:
        # Any free port, never `make stack`'s 8080: a developer's stack may run beside it.
        stack.up(seed=True, lb_port=0, out=lambda line: print(f"[stack] {line}"))
        stack.manage(
            "shell",
            "-c",
            textwrap.dedent(
                f"""
                from accounts.models import User
                for n in range({SHOPPERS}):
                    User.objects.create_user(
                        f"shopper{{n}}@example.com", {PASSWORD!r}, display_name=f"Shopper {{n}}"
                    )
                """
            ),
        )
        warm_up(stack)
        yield stack
    finally:
        stack.down()


def warm_up(stack: LocalStack) -> None:
    """A fresh gunicorn thread builds its S3 client on its first page (slow on two busy
    cores); let every thread do that before the fault tests measure anything."""
    urls = [f"{stack.instance(name).url}/" for name in INSTANCES for _ in range(24)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda url: requests.get(url, timeout=30), urls))


@pytest.fixture(scope="session")
def products(stack) -> list[tuple[int, str]]:
    """(id, slug) of the two dozen products with the most stock: a test's adds stay within
    what the shop lets one cart hold, so every refusal is a failure."""
    code = (
        "import json; from catalog.models import Product; print(json.dumps(list("
        "Product.objects.filter(is_active=True).order_by('-stock', 'id')"
        ".values_list('id', 'slug')[:24])))"
    )
    return [tuple(row) for row in stack_json(stack, code)]


@pytest.fixture
def serving(stack) -> LocalStack:
    """The stack with all three instances in the pool, whatever an earlier test did."""
    for name in INSTANCES:
        if stack.instance(name).pid() is None:
            stack.start(name)
        stack.load_balancer.set_state(name, "ready")
        stack.load_balancer.wait_for_status(name, "UP")
    return stack


@pytest.fixture
def shoppers(serving) -> list[Shopper]:
    """Signed-in shoppers, each with a fresh session."""
    stack = serving
    signed_in = []
    for n in range(SHOPPERS):
        shopper = Shopper(stack.url, f"shopper{n}@example.com", PASSWORD, f"Shopper {n}")
        shopper.log_in()
        signed_in.append(shopper)
    shop.empty_carts(stack, [s.email for s in signed_in])  # each test counts its own adds
    return signed_in


def pytest_terminal_summary(terminalreporter):
    """The fault tests' figures (requests sent, failed, lost), whether or not they passed."""
    if FIGURES:
        terminalreporter.section("local stack under faults")
        for figures in FIGURES:
            terminalreporter.write_line(figures)
