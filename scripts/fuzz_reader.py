"""Run the reader's fuzz campaign longer than CI does (the same strategies and properties).

    python scripts/fuzz_reader.py --examples 5000                 # every property, a fresh seed
    python scripts/fuzz_reader.py --examples 500 --seed 7 jobs    # one property, reproducibly

The strategies and properties are tests/fuzz_strategies.py's, which tests/test_fuzz_reader.py runs in CI
with a fixed seed and 150 examples. A failure is shrunk and printed with the input (`data=b'...'`) and
a `@reproduce_failure` blob; put the input into tests/test_fuzz_reader.py as a regression case. No
example database is written. Exit status 1 if any property failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from hypothesis import given, seed, settings

    from tests import fuzz_strategies as fuzz

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="examples per property (default 1000)")
    parser.add_argument("--seed", type=int, default=None, help="a seed, to repeat a run (default: a fresh one)")
    parser.add_argument(
        "properties", nargs="*", metavar="PROPERTY",
        help=f"which properties to check: {', '.join(fuzz.PROPERTIES)} (default all)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.properties if name not in fuzz.PROPERTIES]
    if unknown:
        parser.error(f"unknown property {unknown[0]!r}; known: {', '.join(fuzz.PROPERTIES)}")
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    names = args.properties or list(fuzz.PROPERTIES)
    if "jobs" in names:
        from escapelint.workflows import parallel

        if not parallel.can_fork():
            print("fuzz_reader: skipping 'jobs': parallel reading needs fork()", file=sys.stderr)
            names.remove("jobs")

    # The CI profile, but with as many examples as asked and a seed of its own (fresh unless given).
    run_settings = settings(settings.get_profile("ci"), max_examples=args.examples, derandomize=False)
    failed = []
    for name in names:
        check, strategy = fuzz.PROPERTIES[name]
        test = settings(run_settings)(given(strategy())(check))
        if args.seed is not None:
            test = seed(args.seed)(test)
        started = time.monotonic()
        print(f"fuzz_reader: {name}: {args.examples} examples ...", file=sys.stderr, flush=True)
        try:
            test()
        except Exception:  # noqa: BLE001 - report every property's failure, then the next property
            traceback.print_exc()
            failed.append(name)
            print(f"fuzz_reader: {name}: FAILED", file=sys.stderr)
        else:
            print(f"fuzz_reader: {name}: passed in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
