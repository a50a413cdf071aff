"""What the stack reads from the artifact bucket: release tarballs and nested templates."""

from __future__ import annotations

import hashlib
import re
import tarfile
from pathlib import Path

from botocore.exceptions import ClientError

from deploy.aws.cfn import DeployError
from deploy.release.version import VERSION_PATTERN

RELEASE_FILE = re.compile(rf"^webshop-(?P<version>{VERSION_PATTERN})\.tar\.gz$")
BOOTSTRAP = "deploy/bootstrap.sh"


def release_key(version: str) -> str:
    """The key the instances' user data downloads (the app/ops contract)."""
    return f"releases/webshop-{version}.tar.gz"


def release_exists(s3, bucket: str, version: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=release_key(version))
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def _check_tarball(path: Path) -> None:
    """Refuse what an instance could not boot: the bootstrap must sit at the tree's root."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            names = {name.removeprefix("./") for name in tar.getnames()}
    except (tarfile.TarError, OSError) as exc:
        raise DeployError(f"{path} is not a readable .tar.gz: {exc}") from exc
    if BOOTSTRAP not in names:
        raise DeployError(f"{path} has no {BOOTSTRAP} at its root; instances could not boot it")


def upload_release(s3, bucket: str, path: Path) -> str:
    """Upload webshop-<version>.tar.gz once; returns the version.

    Releases are immutable: an instance that boots tomorrow must get the same code
    as the ones started today, so an existing key is never overwritten.
    """
    match = RELEASE_FILE.match(path.name)
    if not match:
        raise DeployError(f"{path.name}: expected webshop-<version>.tar.gz")
    version = match["version"]
    _check_tarball(path)
    if release_exists(s3, bucket, version):
        raise DeployError(
            f"s3://{bucket}/{release_key(version)} already exists; releases are immutable,"
            " build a new version instead"
        )
    s3.upload_file(
        str(path), bucket, release_key(version), ExtraArgs={"ContentType": "application/gzip"}
    )
    return version


def template_parameter(path: Path) -> str:
    """The root template's parameter that names a nested template: app.yaml -> AppTemplateKey."""
    return f"{path.stem.capitalize()}TemplateKey"


def package_templates(s3, bucket: str, directory: Path) -> dict[str, str]:
    """Upload each nested template under a key named by its own content; returns the
    root template's parameters ({"AppTemplateKey": "templates/<sha>/app.yaml", ...}).

    An unchanged template keeps its key, so its nested stack's TemplateURL, and thus the
    stack, is left alone: editing one tier's template updates that tier only.
    """
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise DeployError(f"no nested templates in {directory}")
    keys = {}
    for f in files:
        body = f.read_bytes()
        key = f"templates/{hashlib.sha256(body).hexdigest()[:32]}/{f.name}"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        keys[template_parameter(f)] = key
    return keys
