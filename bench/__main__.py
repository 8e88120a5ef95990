"""``python -m bench [NAME ...]``: run ``bench/bench_<NAME>.py``'s ``main()`` for each name (all when none given)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def available() -> list[str]:
    """Return the benchmark names found beside this file (``bench_<name>.py``), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all when ``argv`` is empty); return a process exit code."""
    names = available()
    chosen = argv or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(
            f"python -m bench: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    for name in chosen:
        print(f"== bench {name} ==", flush=True)
        importlib.import_module(f"bench.bench_{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
