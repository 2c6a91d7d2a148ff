"""SIGTERM stops every command as Ctrl-C does (exit 143), not only `report`: here `audit`, stopped while
its build is still printing, leaves the previous report whole and no go process behind.

The go command is a stand-in that prints the first package of a recorded build (fixtures/recorded/)
and then waits, so that the signal surely arrives mid-build; no toolchain is needed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import RECORDED

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"

HANGING_GO = """\
#!{python}
import json, os, pathlib, sys, time
args = sys.argv[1:]
if args[:4] == ["env", "-json", "GOMOD", "GOVERSION"]:
    print(json.dumps({{"GOMOD": str(pathlib.Path.cwd() / "go.mod"), "GOVERSION": "go1.27.3"}}))
elif args[:2] == ["env", "GOVERSION"]:
    print("go1.27.3")
elif args[:1] == ["list"]:
    print("main")
elif args[:1] == ["build"]:
    pathlib.Path({started!r}).write_text(str(os.getpid()))
    text = open({recording!r}, encoding="utf-8").read()
    sys.stdout.write(text[: text.index("\\n# ", 1) + 1])
    sys.stdout.flush()
    time.sleep(120)
else:
    sys.exit(2)
"""


def _default_signals() -> None:  # a child of a background shell inherits SIGINT/SIGTERM as ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return " Z " not in stat  # a zombie has exited


def test_sigterm_stops_audit_mid_build_with_143_and_the_previous_report_whole(tmp_path):
    module = tmp_path / "module"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/escapelint/example\n\ngo 1.22\n")
    started = tmp_path / "build-started"
    go = tmp_path / "go"
    go.write_text(HANGING_GO.format(python=sys.executable, started=str(started), recording=str(EXAMPLE)))
    go.chmod(0o755)
    report = module / "escapelint-report"
    report.mkdir()
    (report / ".escapelint-report").write_text('{"generator": "escapelint", "files": ["index.html"]}\n')
    (report / "index.html").write_text("the previous report")
    audit = subprocess.Popen(
        [sys.executable, "-m", "escapelint", "audit", "--go", str(go), "-C", str(module), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_signals,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not started.exists() and audit.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), audit.communicate(timeout=10)
    time.sleep(0.3)  # the first package is read by now
    audit.send_signal(signal.SIGTERM)
    _, stderr = audit.communicate(timeout=60)
    assert audit.returncode == 143, stderr
    assert b"Traceback" not in stderr
    assert (report / "index.html").read_text() == "the previous report"
    assert sorted(p.name for p in report.iterdir() if not p.name.endswith(".lock")) == [".escapelint-report", "index.html"]
    build = int(started.read_text())
    deadline = time.monotonic() + 10
    while _alive(build) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(build), "the go build outlived the stopped audit"
