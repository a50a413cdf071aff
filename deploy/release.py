"""Build a release: the artifact an instance downloads, and its static files, collected once.

  python -m deploy.release build [--version V]        (`make release`)
      dist/webshop-<V>.tar.gz   the app tree, wheels/ for an offline venv, RELEASE, and the
                                static manifest (staticfiles.json)
      dist/webshop-<V>-static/  the collected static files, hashed names
  python -m deploy.release publish-static --version V --bucket B [--endpoint-url U] [--acl A]
      uploads dist/webshop-<V>-static/ under static/ in the static bucket: once per release,
      before any instance runs it (instances never collect static files at boot)

The tarball unpacks in place (no top folder) to /opt/webshop/releases/<V>, where user data
runs deploy/bootstrap.sh from it. The wheels are for the instances' platform (Amazon Linux
2023 on x86_64, CPython 3.11), whatever machine builds the release.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from deploy.static import MANIFEST, collect_static, publish_static

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
# The same pattern as the deploy tool's upload (deploy/artifacts.py).
VERSION_PATTERN = r"[0-9A-Za-z][0-9A-Za-z._+-]{0,63}"
# What an instance runs: manylinux wheels for glibc x86_64 (AL2023 has glibc 2.34), CPython 3.11.
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
PYTHON_VERSION = "3.11"
# Top-level folders that are not part of what an instance runs.
NOT_SHIPPED = {"tests", "cloudformation", "dist", "node_modules"}


def default_version() -> str:
    """`git describe`: the tag when HEAD has one, else the commit (with -dirty if edited)."""
    result = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--tags", "--always", "--dirty"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit("Not a git checkout: give the release a version with --version.")
    return result.stdout.strip()


def app_files(root: Path = ROOT) -> list[Path]:
    """The app tree, relative to `root`: manage.py, requirements*.txt, and every top-level
    Python package (the apps, webapp/, deploy/) except the tests."""
    files = [root / "manage.py", *sorted(root.glob("requirements*.txt"))]
    for package in sorted(p.parent for p in root.glob("*/__init__.py")):
        if package.name in NOT_SHIPPED or package.name.startswith("."):
            continue
        files += sorted(
            path
            for path in package.rglob("*")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.release", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="the artifact and the collected static")
    build_command.add_argument("--version", help="default: git describe --tags --always --dirty")
    build_command.add_argument("--dist", type=Path, default=DIST)
    publish = commands.add_parser("publish-static", help="upload a release's static files")
    publish.add_argument("--version", required=True)
    publish.add_argument("--dist", type=Path, default=DIST)
    publish.add_argument("--bucket", required=True, help="the stack's StaticBucketName output")
    publish.add_argument("--endpoint-url", help="an S3-compatible server instead of AWS")
    publish.add_argument("--region", help="the bucket's region (default: boto3's)")
    publish.add_argument("--acl", help="public-read only for a local S3 server")
    options = parser.parse_args(argv)

    if options.command == "build":
        artifact, static_root = build(options.version or default_version(), options.dist)
        size = artifact.stat().st_size / 1e6
        print(f"{artifact} ({size:.1f} MB); static files in {static_root}/")
        return 0
    import boto3

    static_root = options.dist / f"webshop-{options.version}-static"
    if not (static_root / MANIFEST).exists():
        raise SystemExit(f"No collected static files in {static_root}: build the release first.")
    s3 = boto3.client("s3", endpoint_url=options.endpoint_url, region_name=options.region)
    count = publish_static(static_root, s3=s3, bucket=options.bucket, acl=options.acl)
    print(f"{count} files published to s3://{options.bucket}/static/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
