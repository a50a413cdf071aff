"""Collect static files once per release and publish them to S3.

collectstatic straight into S3 makes about five requests per file (uploads, existence checks,
re-reads for hashing): 13 s for the admin's files against a local S3 server. Collecting on
local disk and uploading the result in parallel takes about a second, so a release does that,
and instances never collect at boot.
"""

import json
import mimetypes
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
MANIFEST = "staticfiles.json"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=300"


def collect_static(static_root: Path) -> dict[str, str]:
    """Run collectstatic into `static_root` (hashed names); return the manifest's paths."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="webapp.settings",
        DJANGO_SECRET_KEY=environment.get("DJANGO_SECRET_KEY", "collectstatic-needs-no-secret"),
        DJANGO_STATIC_ROOT=str(static_root),
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--clear", "-v0"],
        cwd=BASE_DIR,
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

    def upload(path: Path) -> None:
        name = path.relative_to(static_root).as_posix()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        extra = {
            "ContentType": content_type,
            "CacheControl": IMMUTABLE if name in hashed else REVALIDATE,
        }
        if acl:
            extra["ACL"] = acl
        s3.upload_file(str(path), bucket, f"{prefix}/{name}", ExtraArgs=extra)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(upload, files))
    upload(static_root / MANIFEST)
    return len(files) + 1
