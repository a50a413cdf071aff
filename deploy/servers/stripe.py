"""A fake Stripe on loopback (localstripe: a stateful stand-in for Stripe's API, with its
stand-in Stripe.js and card element at /js.stripe.com/v3/), for the tests and the local
stack: `python -m deploy.servers.stripe --port N` runs one.

Three things localstripe does differently from Stripe are put right here, because the
shop relies on them: it replays the first answer to a POST carrying an `Idempotency-Key` it
has seen (Stripe keeps keys for 24 hours; a different request under the same key is refused
with 400, as Stripe does); the generic decline card 4000 0000 0000 0002 is declined when
charged, not only when attached to a customer; a card PaymentMethod can be made of a token
that Stripe.js made of the card element (`card[token]`, once per token; localstripe takes
raw card numbers only); and it keeps its state in memory only (localstripe writes every
change to the one file /tmp/localstripe.pickle, which two servers would share).
"""

import argparse
import asyncio
import hashlib
import json
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deploy.servers.process import start_detached, stop_pidfile, wait_for_port

BASE_DIR = Path(__file__).resolve().parents[2]


@dataclass
class StripeServer:
    """localstripe on 127.0.0.1:`port`, its pidfile and log in `directory`."""

    directory: Path
    port: int

    @property
    def url(self) -> str:
        """STRIPE_API_BASE for the shop: the API and the stand-in Stripe.js live here."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.directory / "stripe.pid"

    def start(self) -> "StripeServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        start_detached(
            [sys.executable, "-m", "deploy.servers.stripe", "--port", str(self.port)],
            pidfile=self.pidfile,
            log=self.directory / "stripe.log",
            cwd=BASE_DIR,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_pidfile(self.pidfile)

    def register_webhook(
        self, name: str, url: str, secret: str, events: list[str] | None = None
    ) -> None:
        """Send the events (all by default) to `url`, signed with `secret`, as an endpoint
        registered in Stripe's dashboard; registering `name` again replaces it."""
        body = {"url": url, "secret": secret, **({"events": events} if events is not None else {})}
        data = json.dumps(body).encode()
        url = f"{self.url}/_config/webhooks/{name}"
        request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 (loopback)
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 (our own loopback URL)
            pass


def _idempotency_middleware():
    from aiohttp import web

    seen: dict[str, tuple[str, web.Response]] = {}
    locks: dict[str, asyncio.Lock] = {}

    @web.middleware
    async def idempotency(request, handler):
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        body = await request.read()
        request_hash = hashlib.sha256(request.path.encode() + b"\0" + body).hexdigest()
        async with locks.setdefault(key, asyncio.Lock()):
            if key in seen:
                first_hash, first = seen[key]
                if first_hash != request_hash:
                    return web.json_response(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys are for one request.",
                            }
                        },
                        status=400,
                    )
                return web.Response(
                    body=first.body,
                    status=first.status,
                    content_type=first.content_type,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = await handler(request)
            if response.status < 500:  # as Stripe: a server error is not saved under the key
                seen[key] = (request_hash, response)
            return response

    return idempotency


def _payment_methods_from_tokens(resources) -> None:
    """PaymentMethod(type="card", card={"token": "tok_..."}): the token's card, as Stripe
    does; a token is used up by it."""
    make = resources.PaymentMethod.__init__

    def __init__(self, type=None, card=None, **kwargs):
        if type == "card" and isinstance(card, dict) and card.keys() == {"token"}:
            token = resources.Token._api_retrieve(card["token"])
            if getattr(token, "used", False):
                raise resources.UserError(400, "You cannot use a Stripe token more than once")
            token.used = True
            found = token.card
            card = {
                "number": found._card_number,
                "exp_month": found.exp_month,
                "exp_year": found.exp_year,
                "cvc": "000",  # checked when the token was made; Stripe keeps no CVC
            }
        make(self, type=type, card=card, **kwargs)

    resources.PaymentMethod.__init__ = __init__


def main(argv: list[str] | None = None) -> None:
    from aiohttp import web
    from localstripe import resources, server

    parser = argparse.ArgumentParser(prog="python -m deploy.servers.stripe")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)
    resources.Store.dump_to_disk = lambda self: None
    charging_declined = resources.PaymentMethod._charging_is_declined
    resources.PaymentMethod._charging_is_declined = lambda self: (
        charging_declined(self) or resources.PaymentMethod._attaching_is_declined(self)
    )
    _payment_methods_from_tokens(resources)
    server.app.middlewares.insert(0, _idempotency_middleware())
    print(f"localstripe on 127.0.0.1:{options.port}", flush=True)
    web.run_app(server.app, host="127.0.0.1", port=options.port, print=None)


if __name__ == "__main__":
    main()
