"""Run every benchmark in one process and repeat all their verdicts at the end.

Run: ``python benchmarks/run_all.py [--quick]`` (PostgreSQL as in ``bench_sql.py``; an
unreachable server is skipped). See ``README.md`` for what each benchmark compares.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import bench_depot
import bench_lifecycles
import bench_sql
from _harness import summary


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes; indicative only")
    parser.add_argument("--cpu", action="store_true",
                        help="CPU time for the in-memory benchmark (see its --help)")
    args = parser.parse_args(argv)
    flags = ["--quick"] if args.quick else []
    start = time.perf_counter()
    for name, run, extra in (
        ("bench_lifecycles", bench_lifecycles.main, ["--cpu"] if args.cpu else []),
        ("bench_depot", bench_depot.main, []),
        ("bench_sql", bench_sql.main, []),
    ):
        print(f"=== {name} {' '.join(flags + extra)}".rstrip())
        begun = time.perf_counter()
        run(flags + extra)
        print(f"=== {name}: {time.perf_counter() - begun:.0f} s")
        sys.stdout.flush()
    print(f"\nall benchmarks: {time.perf_counter() - start:.0f} s")
    summary(args.quick, everything=True)


if __name__ == "__main__":
    main(sys.argv[1:])
