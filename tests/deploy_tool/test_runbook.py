"""The runbook covers every procedure ops need, and every tool command it
shows is one the tool accepts."""

import re
import shlex
from pathlib import Path

import pytest

from deploy.aws.cli import build_parser

RUNBOOK = (Path(__file__).resolve().parents[2] / "deploy" / "README.md").read_text()


@pytest.mark.parametrize(
    "heading",
    [
        "## First deploy",
        "## Routine update: a new release",
        "### Migrations during the rolling window",
        "## Rollback",
        "## When an update fails to roll back (`UPDATE_ROLLBACK_FAILED`)",
        "## Scaling",
        "### Rotating the database password",
        "### Rotating the Redis AUTH token",
        "## Restoring from a snapshot",
        "## Failover: what it looks like and how long it takes",
        "## Local stack and release build",
    ],
)
def test_runbook_has_the_procedure(heading):
    assert f"\n{heading}\n" in RUNBOOK


def test_every_tool_command_in_the_runbook_parses():
    commands = re.findall(r"python -m deploy\.aws (?!\[)([^\n`]+)", RUNBOOK)
    assert len(commands) > 10
    parser = build_parser()
    for line in commands:
        argv = shlex.split(re.sub(r"<[^>]+>", "X", line.replace("$(date +%Y%m%d%H%M)", "1")))
        parser.parse_args(argv)


def test_runbook_never_deletes_the_stack_to_leave_a_failed_rollback():
    section = RUNBOOK.split("## When an update fails to roll back", 1)[1].split("\n## ", 1)[0]
    assert "delete-stack" not in section and "recover --env" in section
