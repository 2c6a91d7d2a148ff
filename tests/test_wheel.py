"""The installed wheel carries the grammar and works without the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile

import pytest

from .conftest import RECORDED, ROOT

pytestmark = pytest.mark.slow


def test_wheel_ships_grammar_and_runs_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("escapelint-*.whl")
    shipped = zipfile.ZipFile(wheel).namelist()
    assert "escapelint/grammars/gc_diagnostics.lark" in shipped
    assert "escapelint/report/templates/html/package.html" in shipped and "escapelint/report/templates/markdown/package.md" in shipped

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # Outside the checkout also means without a PYTHONPATH into it (the tests themselves may run with one).
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True, env=env)
    probe = (
        "import escapelint, pathlib; from importlib import resources;"
        "shipped = resources.files('escapelint') / 'grammars' / 'gc_diagnostics.lark';"
        "assert shipped.is_file(), shipped;"
        f"assert not pathlib.Path(escapelint.__file__).is_relative_to({str(ROOT)!r}), escapelint.__file__;"
        "print('ok')"
    )
    probed = subprocess.run([python, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False, env=env)
    assert probed.returncode == 0 and probed.stdout == "ok\n", probed.stderr
    report = subprocess.run(
        [env_dir / "bin" / "escapelint", "report", str(RECORDED / "go1.27.3" / "example.m2.txt"), "-q"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        env=env,
    )
    assert b'"balanced": true' in report.stdout
