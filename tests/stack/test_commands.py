"""The local stack's commands are listed once, by its parser; the README shows that list,
and every `python -m deploy.stack` command in the docs is one the parser accepts."""

import re
import shlex
from pathlib import Path

import pytest

from deploy.stack.cli import build_parser, command_table

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "deploy" / "README.md"]


def test_the_readme_table_is_the_parser_s_list():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("| command | what it does |\n|---|---|\n", 1)[1].split("\n\n", 1)[0]
    assert table.splitlines() == [f"| `{usage}` | {text} |" for usage, text in command_table()]


@pytest.mark.parametrize(
    "command",
    sorted(
        {
            line
            for doc in DOCS
            for line in re.findall(r"python -m deploy\.stack ((?!<)[^\n`#]+)", doc.read_text())
        }
    ),
)
def test_every_documented_command_parses(command):
    build_parser().parse_args(shlex.split(command.strip()))
