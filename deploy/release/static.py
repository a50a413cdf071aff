"""Collect static files once per release and publish them to S3.

collectstatic straight into S3 makes about five requests per file (uploads, existence checks,
re-reads for hashing): 13 s for the admin's files against a local S3 server. Collecting on
local disk and uploading the result in parallel (s3transfer's TransferManager, the engine
behind boto3's upload_file) takes about a second, so a release does that, and instances
never collect at boot.
"""

import json
import mimetypes
import os
import subprocess
import sys
from pathlib import Path

from s3transfer.manager import TransferConfig, TransferManager

from deploy.release.version import ROOT

MANIFEST = "staticfiles.json"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=300"


def collect_static(static_root: Path) -> dict[str, str]:
    """Run collectstatic into `static_root` (hashed names); return the manifest's paths."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="webapp.settings",
        DJANGO_BUILD_ONLY="true",  # collecting needs no database, Redis or secret
        DJANGO_STATIC_ROOT=str(static_root),
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--clear", "-v0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    return json.loads((static_root / MANIFEST).read_text())["paths"]


def publish_static(
    static_root: Path, *, s3, bucket: str, prefix: str = "static", acl: str | None = None
) -> int:
    """Upload collected files under `prefix/`; hashed names are cached for a year.

    The manifest goes last, so an instance that reads it finds every file it names.
    Returns the number of files uploaded.
    """
    hashed = set(json.loads((static_root / MANIFEST).read_text())["paths"].values())
    files = [
        path
        for path in static_root.rglob("*")
        if path.is_file() and path.suffix not in {".gz", ".br"} and path.name != MANIFEST
    ]

    def extra_args(name: str) -> dict[str, str]:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        extra = {"ContentType": content_type}
        extra["CacheControl"] = IMMUTABLE if name in hashed else REVALIDATE
        if acl:
            extra["ACL"] = acl
        return extra

    def upload(transfers: TransferManager, paths: list[Path]) -> None:
        futures = []
        for path in paths:
            name = path.relative_to(static_root).as_posix()
            futures.append(
                transfers.upload(str(path), bucket, f"{prefix}/{name}", extra_args(name))
            )
        for future in futures:
            future.result()

    with TransferManager(s3, TransferConfig(max_request_concurrency=16)) as transfers:
        upload(transfers, files)
        upload(transfers, [static_root / MANIFEST])
    return len(files) + 1
