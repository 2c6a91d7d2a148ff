"""Record real Go heap profiles of the `profiled` fixture module's benchmarks, for escapelint's cost tests.

For each toolchain (default: Go 1.19, 1.22.10 and 1.27.3, the three the tests require) this runs, in
``fixtures/modules/profiled``::

    go test -run '^$' -bench . -benchtime 2000x -memprofilerate 1 -memprofile P -o DIR/hot.test ./hot
    go tool pprof -raw -symbolize=none P

and the same with ``-trimpath``, plus ``go build -trimpath -p 1 -gcflags=-m=2 ./...`` (the matching
compiler output of a trimmed build; the untrimmed one is ``fixtures/recorded/go<v>/profiled.m2.txt``
by scripts/record_fixtures.py). `-memprofilerate 1` samples every allocation, so the figures are exact
counts, and `-benchtime 2000x` fixes the iterations: the benchmark runs once with b.N = 1, then with
2000, so every site of BenchmarkHot allocates 2001 times. Stored under
``fixtures/recorded/go<version>/profiles/``:

    profiled.hot.pb.gz            the profile, bytes as Go wrote it (gzip'd protobuf)
    profiled.hot.raw              `go tool pprof -raw` of it, by the same toolchain
    profiled-trimpath.hot.pb.gz   the same from a -trimpath build
    profiled-trimpath.hot.raw
    profiled-trimpath.m2.txt      go build -trimpath -p 1 -gcflags=-m=2 ./...
    profiles.meta.json            {go_version, commands, goroot, recorded_by}

A profile holds a time stamp and the recording machine's paths, so it is not compared byte for byte
on re-recording (unlike record_fixtures.py --check); the tests assert what it attributes.

Usage::

    python scripts/record_profiles.py
    python scripts/record_profiles.py --versions 1.27.3
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__:
    from .toolchains import find
else:  # run as a script: scripts/ is on sys.path
    from toolchains import find

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "fixtures" / "modules" / "profiled"
RECORDED_DIR = ROOT / "fixtures" / "recorded"
DEFAULT_VERSIONS = ("1.19", "1.22.10", "1.27.3")
BENCH = ["-run", "^$", "-bench", ".", "-benchtime", "2000x", "-memprofilerate", "1"]


def run(argv: list[str], env: dict[str, str], cwd: Path = MODULE) -> bytes:
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(argv)} failed ({proc.returncode}):\n{proc.stdout.decode(errors='replace')}")
    return proc.stdout


def record(version: str) -> list[str]:
    toolchain = find(version)
    if toolchain is None:
        sys.exit(f"Go {version} is not installed (python scripts/toolchains.py install)")
    env = toolchain.env()
    go = str(toolchain.go)
    out = RECORDED_DIR / f"go{version}" / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    commands = []
    with tempfile.TemporaryDirectory(prefix="escapelint-profile-") as tmp:
        for name, flags in (("profiled", []), ("profiled-trimpath", ["-trimpath"])):
            profile = Path(tmp) / f"{name}.pb.gz"
            test = ["go", "test", *flags, *BENCH, "-memprofile", str(profile), "-o", str(Path(tmp) / "hot.test"), "./hot"]
            run([go, *test[1:]], env)
            raw = ["go", "tool", "pprof", "-raw", "-symbolize=none", str(profile)]
            (out / f"{name}.hot.raw").write_bytes(run([go, *raw[1:]], env))
            (out / f"{name}.hot.pb.gz").write_bytes(profile.read_bytes())
            commands += [shlex.join(test).replace(tmp, "$TMP"), shlex.join(raw).replace(tmp, "$TMP")]
        build = ["go", "build", "-trimpath", "-p", "1", "-gcflags=-m=2", "./..."]
        (out / "profiled-trimpath.m2.txt").write_bytes(run([go, *build[1:]], env))
        commands.append(shlex.join(build))
    meta = {
        "go_version": version,
        "commands": commands,
        "module": "profiled",
        "goroot": str(toolchain.goroot),
        "recorded_by": "scripts/record_profiles.py",
    }
    (out / "profiles.meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=list(DEFAULT_VERSIONS))
    args = parser.parse_args(argv)
    for version in args.versions:
        record(version)
        print(f"go{version}/profiles: recorded", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
