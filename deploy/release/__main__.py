"""Build a release, and publish its static files.

python -m deploy.release build [--version V]        (`make release`)
    dist/webshop-<V>.tar.gz   what an instance runs (deploy/release/build.py)
    dist/webshop-<V>-static/  the collected static files, hashed names
python -m deploy.release publish-static --version V --bucket B [--endpoint-url U] [--acl A]
    uploads dist/webshop-<V>-static/ under static/ in the static bucket: once per release,
    before any instance runs it (instances never collect static files at boot)
"""

import argparse
import sys
from pathlib import Path

from deploy.release.build import DIST, build
from deploy.release.static import MANIFEST, publish_static
from deploy.release.version import source_version


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
        version = options.version or source_version()
        if version is None:
            raise SystemExit("Not a git checkout: give the release a version with --version.")
        artifact, static_root = build(version, options.dist)
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
