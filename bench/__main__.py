"""python -m bench [--quick] [options]: see docs/performance.md."""

import argparse
import sys
from pathlib import Path

from bench.harness import ENDPOINT_KEYS, Options, main


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 round of 2 s, 1 s warm-up, 10,000 products in the scale phase",
    )
    parser.add_argument("--duration", type=float, help="seconds per run (default 5)")
    parser.add_argument("--warmup", type=float, help="seconds per endpoint to warm up (default 2)")
    parser.add_argument("--rounds", type=int, help="measured rounds (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--workers", type=int, help="gunicorn workers (default: deploy/gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--threads", type=int, help="gunicorn threads per worker (default: the conf's)"
    )
    parser.add_argument(
        "--scale-products",
        type=int,
        help="catalogue size of the scale phase (default 100000; 0 skips the phase)",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="a streaming read replica beside PostgreSQL (DATABASE_REPLICA_URL); the table's "
        "last column shows each node's share of the queries",
    )
    parser.add_argument("--results", type=Path, default=Path("bench-results"), help="output folder")
    parser.add_argument(
        "--only",
        default="",
        metavar="KEYS",
        help="measure only these endpoints (comma-separated; the ceiling always runs): "
        + ", ".join(ENDPOINT_KEYS),
    )
    parser.add_argument(
        "--profile",
        default="",
        metavar="KEYS",
        help="after the rounds, one more run of each endpoint named (comma-separated, e.g. "
        "ceiling,product,cart) under py-spy: where its CPU goes",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    return Options(
        duration=args.duration or (2.0 if quick else 5.0),
        warmup=args.warmup if args.warmup is not None else (1.0 if quick else 2.0),
        rounds=args.rounds or (1 if quick else 3),
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        workers=args.workers,
        threads=args.threads,
        scale_products=(
            args.scale_products if args.scale_products is not None else 10_000 if quick else 100_000
        ),
        results=args.results.resolve(),
        only=keys(parser, args.only),
        profile=keys(parser, args.profile),
        replica=args.replica,
    )


def keys(parser: argparse.ArgumentParser, value: str) -> list[str]:
    chosen = [key for key in value.split(",") if key]
    unknown = set(chosen) - set(ENDPOINT_KEYS)
    if unknown:
        parser.error(f"unknown endpoints {', '.join(sorted(unknown))}; known: {ENDPOINT_KEYS}")
    return chosen


if __name__ == "__main__":
    sys.exit(main(parse(sys.argv[1:])))
