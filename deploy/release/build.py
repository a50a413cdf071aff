"""The release artifact: exactly what an instance runs, and nothing else.

dist/webshop-<V>.tar.gz unpacks in place (no top folder) to /opt/webshop/releases/<V>, where
user data runs deploy/bootstrap.sh from it. It holds an allow-list: the shop's Django
packages, the instance runtime from deploy/, manage.py and requirements.txt, wheels/ for an
offline venv (for the instances' platform, Amazon Linux 2023 on x86_64 with CPython 3.11,
whatever machine builds it), RELEASE and the static manifest (staticfiles.json). Never the
tests, the benchmark, the local stack, the deploy tool or the dev requirements.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from deploy.release.static import MANIFEST, collect_static
from deploy.release.version import ROOT, VERSION_PATTERN

DIST = ROOT / "dist"
# The shop's Django packages (tests/test_release.py checks this against INSTALLED_APPS).
APPS = ("webapp", "accounts", "catalog", "cart", "payments", "notifications", "jobs")
# What an instance needs from deploy/: the bootstrap user data runs, and what it installs.
INSTANCE_RUNTIME = (
    "deploy/bootstrap.sh",
    "deploy/gunicorn.conf.py",
    "deploy/webshop.service",
    "deploy/webshop-worker.service",
    "deploy/webshop.logrotate",
    "deploy/nginx.conf",
    "deploy/webshop-nginx.service",
)
TOP_LEVEL = ("manage.py", "requirements.txt")
# What an instance runs: manylinux wheels for glibc x86_64 (AL2023 has glibc 2.34), CPython 3.11.
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
PYTHON_VERSION = "3.11"


def app_files(root: Path = ROOT) -> list[Path]:
    """The allow-listed files, relative to `root`."""
    files = [root / name for name in (*TOP_LEVEL, *INSTANCE_RUNTIME)]
    for app in APPS:
        files += sorted(
            path
            for path in (root / app).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        )
    return [path.relative_to(root) for path in files]


def download_wheels(destination: Path) -> None:
    """Every runtime dependency as a wheel for the instances' platform (pip's own client)."""
    platforms = [arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
        + ["--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION]
        + platforms
        + ["--requirement", str(ROOT / "requirements.txt"), "--dest", str(destination)],
        check=True,
    )


def build(version: str, dist: Path = DIST) -> tuple[Path, Path]:
    """Write dist/webshop-<version>.tar.gz and dist/webshop-<version>-static/; return both."""
    if not re.fullmatch(VERSION_PATTERN, version):
        raise SystemExit(f"{version!r} is not a release version ({VERSION_PATTERN})")
    dist.mkdir(parents=True, exist_ok=True)
    artifact = dist / f"webshop-{version}.tar.gz"
    static_root = dist / f"webshop-{version}-static"
    if artifact.exists():
        raise SystemExit(f"{artifact} exists; releases are immutable, choose a new version")
    shutil.rmtree(static_root, ignore_errors=True)
    collect_static(static_root)
    with tempfile.TemporaryDirectory(prefix="webshop-wheels-") as wheels:
        download_wheels(Path(wheels))
        partial = artifact.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for name in app_files():
                tar.add(ROOT / name, arcname=name.as_posix(), recursive=False)
            for wheel in sorted(Path(wheels).iterdir()):
                tar.add(wheel, arcname=f"wheels/{wheel.name}")
            tar.add(static_root / MANIFEST, arcname=MANIFEST)
            _add_text(tar, "RELEASE", version + "\n")
        partial.rename(artifact)
    return artifact, static_root


def _add_text(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
