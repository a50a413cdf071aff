"""What a release is called: the one pattern every tool checks, and the default name."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Safe unquoted in an env file, an S3 key and a directory name (the app/ops contract).
VERSION_PATTERN = r"[0-9A-Za-z][0-9A-Za-z._+-]{0,63}"


def source_version() -> str | None:
    """`git describe --tags --always --dirty` of the checkout: the tag when HEAD has one,
    else the commit, with -dirty if edited; None outside a git checkout."""
    result = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--tags", "--always", "--dirty"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() if result.returncode == 0 else None
