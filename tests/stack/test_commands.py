"""The local stack's commands are defined once, in deploy/stack/cli.py's parser: the
README's table lists exactly those, and every stack command the runbook shows parses."""

import re
import shlex

from deploy.stack.cli import build_parser, command_table
from deploy.stack.stack import ROOT

README = (ROOT / "README.md").read_text()
RUNBOOK = (ROOT / "deploy" / "README.md").read_text()


def readme_commands() -> set[str]:
    section = README.split("\n## Local stack\n", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    names = set()
    for row in table:
        first_cell = row.split(" | ", 1)[0]
        for code in re.findall(r"`([^`]+)`", first_cell):
            words = code.replace(".venv/bin/python -m deploy.stack", "...").split()
            if words[0] == "...":
                names.add(words[1])
    return names


def test_the_readme_table_lists_every_command_of_the_parser_and_no_other():
    parsed = {usage.split()[0] for usage, _help in command_table()}
    assert readme_commands() == parsed


def test_every_stack_command_in_the_runbook_parses():
    commands = re.findall(r"python -m deploy\.stack ([^\n`#]+)", RUNBOOK)
    assert len(commands) >= 8
    parser = build_parser()
    for line in commands:
        parser.parse_args(shlex.split(line))
