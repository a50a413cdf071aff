"""Every systemd unit in deploy/, checked offline (nothing runs systemd here):
`systemd-analyze verify` against a throwaway root holding the release layout as an
instance has it, and `systemd-analyze security --offline=true` at 3.0 or lower."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.release.build import app_files
from deploy.release.version import ROOT

UNITS = sorted((ROOT / "deploy").glob("*.service"))
MAX_EXPOSURE = 3.0
ANALYZE = "/usr/bin/systemd-analyze"
# Where systemd keeps the units every unit depends on (sysinit.target, ...).
SYSTEM_UNITS = Path("/lib/systemd/system")

if not Path(ANALYZE).exists():
    pytest.exit("systemd-analyze is missing: run `make system-packages`", returncode=3)


@pytest.fixture(scope="module")
def instance_root(tmp_path_factory) -> Path:
    """/ of an instance after deploy/bootstrap.sh: the release's allow-listed files under
    /opt/webshop/releases/<v>, `current` pointing at it, its venv's executables, the env
    file with the drop-in that names it, nginx, and every deploy/*.service installed."""
    root = tmp_path_factory.mktemp("instance-root")
    release = root / "opt/webshop/releases/1.0.0"
    for name in app_files():
        (release / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, release / name)
    venv_bin = release / ".venv/bin"
    venv_bin.mkdir(parents=True)
    for tool in ("gunicorn", "python"):  # built from the release's wheels at boot
        (venv_bin / tool).write_text("#!/bin/sh\n")
        (venv_bin / tool).chmod(0o755)
    (root / "opt/webshop/current").symlink_to("/opt/webshop/releases/1.0.0")
    (root / "etc/webshop").mkdir(parents=True)
    (root / "etc/webshop/webshop.env").write_text("DJANGO_SECRET_KEY=x\n")
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy2(unit, units / unit.name)
        dropin = units / f"{unit.name}.d"
        dropin.mkdir()
        (dropin / "env-file.conf").write_text(
            "[Service]\nEnvironmentFile=\nEnvironmentFile=/etc/webshop/webshop.env\n"
        )
    (root / "bin").mkdir()
    shutil.copy2("/bin/kill", root / "bin/kill")
    (root / "usr/sbin").mkdir(parents=True)  # nginx: user data installs it (dnf)
    shutil.copy2(shutil.which("nginx") or "/usr/sbin/nginx", root / "usr/sbin/nginx")
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    return root


def test_there_are_units_to_check():
    assert "webshop.service" in [unit.name for unit in UNITS]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_verifies_against_the_release_layout(unit, instance_root):
    result = subprocess.run(
        [ANALYZE, "verify", f"--root={instance_root}", "--man=no", "--generators=no", unit.name],
        capture_output=True,
        text=True,
    )
    # verify warns about unknown or malformed settings without failing: no output at all.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_exposure_is_at_most_three(unit):
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert found, result.stdout + result.stderr
    exposure = float(found[1])
    print(f"{unit.name}: exposure {exposure} {found[2]} (systemd-analyze security)")
    assert exposure <= MAX_EXPOSURE
