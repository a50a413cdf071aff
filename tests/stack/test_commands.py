"""The README's local-stack table lists every command of the one parser, and no other."""

import re
from pathlib import Path

from deploy.stack.cli import command_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_readme_table_lists_exactly_the_parsers_commands():
    table = README.split("| command | what it does |", 1)[1].split("\n\n", 1)[0]
    cells = [row.split("|")[1] for row in table.splitlines()[2:]]
    documented = {
        name
        for cell in cells
        for name in re.findall(r"`(?:\.\.\.|[^`]*-m deploy\.stack) ([a-z-]+)", cell)
    }
    documented |= {"up", "down"} if "make stack` / `make stack-down" in table else set()
    assert documented == {usage.split()[0] for usage, _ in command_table()}
