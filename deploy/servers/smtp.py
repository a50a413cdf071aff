"""A real SMTP server on loopback in SES's place (aiosmtpd), keeping each message it
accepts as a file: `python -m deploy.servers.smtp --port N --mailbox DIR` runs one.

Like SES's account-level suppression list, it refuses (550, permanent) the recipients
listed one per line in DIR/suppressed; stopping it makes every send fail with "connection
refused", as an outage of the mail service does.
"""

import argparse
import email
import email.policy
import itertools
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from deploy.servers.process import start_detached, stop_pidfile, wait_for_port

BASE_DIR = Path(__file__).resolve().parents[2]
SUPPRESSED = "suppressed"


@dataclass
class MailServer:
    """The SMTP server on 127.0.0.1:`port`, its pidfile and log in `directory`, the
    messages it accepts in `mailbox` (<time>-<n>.eml, written whole, then renamed, with an
    X-Accepted-At header)."""

    directory: Path
    port: int
    mailbox: Path

    @property
    def pidfile(self) -> Path:
        return self.directory / "smtp.pid"

    @property
    def url(self) -> str:
        """EMAIL_URL for Django's SMTP backend."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "MailServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.mailbox.mkdir(parents=True, exist_ok=True)
        start_detached(
            [sys.executable, "-m", "deploy.servers.smtp", "--port", str(self.port)]
            + ["--mailbox", str(self.mailbox)],
            pidfile=self.pidfile,
            log=self.directory / "smtp.log",
            cwd=BASE_DIR,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_pidfile(self.pidfile)

    def suppress(self, *addresses: str) -> None:
        """Refuse these recipients from now on (an empty call lifts every refusal)."""
        (self.mailbox / SUPPRESSED).write_text("".join(f"{a.lower()}\n" for a in addresses))

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """The messages accepted so far, oldest first; only those to `to` if given."""
        found = []
        for path in sorted(self.mailbox.glob("*.eml")):
            if path.name.startswith("."):  # still being written: pathlib's * matches it too
                continue
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to is None or message["To"].lower() == to.lower():
                found.append(message)
        return found


class Mailbox:
    """aiosmtpd handler: accept each message into a file; refuse suppressed recipients."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.counter = itertools.count()

    def _suppressed(self) -> set[str]:
        try:
            return set((self.directory / SUPPRESSED).read_text().split())
        except FileNotFoundError:
            return set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self._suppressed():
            return "550 5.1.1 Recipient address rejected: on the suppression list"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        now = time.time_ns()
        name = f"{now}-{next(self.counter):06d}.eml"
        partial = self.directory / f".{name}"
        # Like the Received: line a mail server adds: when it took the message.
        stamp = datetime.fromtimestamp(now / 1e9, tz=UTC).isoformat()
        partial.write_bytes(f"X-Accepted-At: {stamp}\r\n".encode() + envelope.original_content)
        partial.rename(self.directory / name)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(prog="python -m deploy.servers.smtp")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mailbox", type=Path, required=True)
    options = parser.parse_args(argv)
    options.mailbox.mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(options.mailbox), hostname="127.0.0.1", port=options.port)
    controller.start()
    print(f"SMTP on 127.0.0.1:{options.port}, mail to {options.mailbox}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
