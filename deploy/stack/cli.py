"""`python -m deploy.stack <command>`: the local stack's commands.

The parser below is the one list of commands: `--help` prints it, `up` ends by printing it,
and the README's table is checked against it (tests/stack/test_commands.py).
"""

import argparse
import subprocess
import sys
from pathlib import Path

from deploy.stack.stack import DEFAULT_DIRECTORY, INSTANCES, LB_PORT, ROOT, LocalStack, StackError

PROG = "python -m deploy.stack"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The AWS stack's topology on loopback: HAProxy, three instances "
        "(gunicorn + worker), PostgreSQL, Redis, S3 (moto), SMTP (aiosmtpd).",
    )
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIRECTORY, help="state directory")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    up = commands.add_parser("up", help="start everything and print the shop's URL (make stack)")
    up.add_argument("--no-seed", action="store_true", help="no demo catalogue")
    up.add_argument("--port", type=int, help=f"the load balancer's port (default {LB_PORT})")
    down = commands.add_parser(
        "down", help="stop all that up started, by PID, and delete the state (make stack-down)"
    )
    down.add_argument("--keep", action="store_true", help="keep the state directory (logs)")
    commands.add_parser(
        "status", help="what runs, the load balancer's view of each instance, the mail queue"
    )
    for name, text in [
        ("kill", "SIGKILL the instance's process groups (gunicorn, worker): a crash"),
        ("stop", "drain it in the load balancer (as the ALB deregisters), then SIGTERM both"),
        ("start", "boot it again with deploy/bootstrap.sh; wait until the balancer has it"),
        ("restart", "stop, then start: one step of a rolling update"),
    ]:
        command = commands.add_parser(name, help=text)
        command.add_argument("instance", choices=INSTANCES)
    commands.add_parser("rolling-restart", help="restart every instance, one at a time")
    commands.add_parser(
        "restart-redis", help="stop and start Redis: it comes back empty, nobody is logged out"
    )
    postgres = commands.add_parser(
        "restart-postgres", help="stop PostgreSQL, wait --down-for seconds, start it again"
    )
    postgres.add_argument("--down-for", type=float, default=0, help="seconds to stay down")
    commands.add_parser(
        "stop-mail", help="stop the SMTP server (SES down): email waits in the queue"
    )
    commands.add_parser("start-mail", help="start it again: the workers deliver the backlog")
    manage = commands.add_parser(
        "manage", help="manage.py against the stack's services (createsuperuser, shell, ...)"
    )
    manage.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def command_table(parser: argparse.ArgumentParser | None = None) -> list[tuple[str, str]]:
    """(usage, help) of every command, in the parser's order."""
    parser = parser or build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in subparsers._choices_actions}
    table = []
    for name, command in subparsers.choices.items():
        usage = command.format_usage().removeprefix("usage: ").strip().replace(" [-h]", "")
        table.append((usage.replace(f"{PROG} ", "", 1), helps[name]))
    return table


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    stack = LocalStack(options.dir)
    try:
        if options.command == "up":
            if stack.state and stack.running():
                raise StackError(f"A stack already runs from {stack.directory}: see `status`.")
            try:
                stack.up(seed=not options.no_seed, lb_port=options.port)
            except Exception:
                print(f"The stack did not come up; logs are in {stack.directory}.", file=sys.stderr)
                print("Stop what did start with `make stack-down`.", file=sys.stderr)
                raise
            print(stack.status())
            print(f"\nThe shop: {stack.url}/    (every response names its instance in X-Served-By)")
            print(f"Commands ({PROG} ..., with the project's venv: .venv/bin/python):")
            for usage, text in command_table():
                print(f"  {usage:<44} {text}")
        elif options.command == "down":
            stack.down(keep=options.keep)
        elif options.command == "status":
            print(stack.status())
        elif options.command in ("kill", "stop", "start", "restart"):
            phases = getattr(stack, options.command)(options.instance)
            if phases:
                print(f"{options.instance}: " + ", ".join(f"{k} {v} s" for k, v in phases.items()))
            print(stack.status())
        elif options.command == "rolling-restart":
            for name, phases in stack.rolling_restart().items():
                print(f"{name}: " + ", ".join(f"{k} {v} s" for k, v in phases.items()))
            print(stack.status())
        elif options.command == "restart-redis":
            stack.restart_redis()
        elif options.command == "restart-postgres":
            stack.restart_postgres(options.down_for)
        elif options.command == "stop-mail":
            stack.stop_mail()
        elif options.command == "start-mail":
            stack.start_mail()
        elif options.command == "manage":
            result = subprocess.run(
                [sys.executable, str(ROOT / "manage.py"), *options.args],
                cwd=ROOT,
                env=stack.environment(),
            )
            return result.returncode
    except StackError as error:
        print(error, file=sys.stderr)
        return 1
    return 0
