"""A steady load of signed-in shoppers through the load balancer, one thread each."""

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.stack import shop

# A shopper reads a page before the next click; without a pause, four threads would keep
# both cores busy and the test would measure a saturated machine, not the stack.
THINK_SECONDS = 0.05
# Every test's figures, repeated in pytest's closing summary (see conftest.py).
FIGURES: list[str] = []


@dataclass
class Tally:
    outcomes: list[shop.Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> list[shop.Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def lost(self) -> list[shop.Outcome]:
        return [o for o in self.outcomes if o.lost]

    @property
    def statuses(self) -> Counter:
        return Counter(o.status or o.note for o in self.outcomes)

    @property
    def served_by(self) -> Counter:
        return Counter(o.served_by for o in self.outcomes if o.served_by)

    def report(self, title: str, **figures) -> str:
        """The figures a closing note quotes; printed by every fault test."""
        extra = "".join(f", {key.replace('_', ' ')} {value}" for key, value in figures.items())
        lines = [
            f"[{title}] {self.sent} requests in {self.seconds:.1f} s: failed {len(self.failed)}, "
            f"lost {len(self.lost)}{extra}",
            f"    statuses {dict(self.statuses)}; served by {dict(sorted(self.served_by.items()))}",
        ]
        lines += [f"    failed: {outcome}" for outcome in self.failed[:10]]
        text = "\n".join(lines)
        print(text)
        FIGURES.append(text)
        return text


def shopper_step(shopper: shop.Shopper, step: int, products: list[tuple[int, str]]) -> list:
    """One round of a shopper's visit: a page, an add to the cart, the cart (which also
    proves the shopper is still signed in)."""
    product_id, slug = products[step % len(products)]
    return [
        shopper.browse(slug if step % 2 else None),
        shopper.add_to_cart(product_id),
        shopper.check_signed_in(),
    ]


def buyer_step(shopper: shop.Shopper, step: int, products: list[tuple[int, str]]) -> list:
    """One round of a buyer's visit: a product page, then one unit of it ordered."""
    product_id, slug = products[step % len(products)]
    return [shopper.browse(slug), *shopper.place_order(product_id)]


class Load:
    """`with Load(shoppers, products) as load:` runs the shoppers until the block ends."""

    def __init__(
        self, shoppers: list[shop.Shopper], products: list[tuple[int, str]], step=shopper_step
    ):
        self.shoppers = shoppers
        self.products = products
        self.step = step
        self.tally = Tally()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(shopper,), daemon=True) for shopper in shoppers
        ]

    def _run(self, shopper: shop.Shopper) -> None:
        for step in itertools.count():
            if self._stop.is_set():
                return
            outcomes = self.step(shopper, step, self.products)
            with self._lock:
                self.tally.outcomes.extend(outcomes)
            self._stop.wait(THINK_SECONDS)

    def __enter__(self) -> "Load":
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=shop.TIMEOUT * 3)
        self.tally.seconds = time.monotonic() - self._started

    def sent(self) -> int:
        with self._lock:
            return len(self.tally.outcomes)
