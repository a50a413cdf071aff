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
        "### When the first create fails",
        "## Drift",
        "## Health: dashboard, alarms, logs",
        "## Backups and disaster recovery",
        "### A region fails: the whole stack in the DR region",
        "### Restore drill",
        "## What it costs",
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
        "## Payments (Stripe)",
        "### Setting the Stripe keys",
        "### The webhook endpoint",
        "### When Stripe is down",
        "### Refunds",
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


def test_the_disaster_recovery_section_rebuilds_the_stack_in_the_dr_region_with_the_tool():
    section = RUNBOOK.split("### A region fails", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"python -m deploy\.aws ([^\n`]+)", section)
    parsed = [build_parser().parse_args(shlex.split(re.sub(r"<[^>]+>", "X", c))) for c in commands]
    assert {p.command for p in parsed} >= {"upload-release", "plan", "apply"}
    assert all(p.region == "$DR" for p in parsed)
    assert "--allow-data-loss" in section and "DbSnapshotIdentifier" in section


def test_the_cost_table_states_its_date_and_where_its_prices_come_from():
    section = RUNBOOK.split("## What it costs", 1)[1].split("\n## ", 1)[0]
    assert "2026-12-01" in section and "could not be fetched" in section
    for item in ("EC2", "NAT", "endpoints", "RDS", "ElastiCache", "ALB", "CloudFront", "backup"):
        assert item in section, item
