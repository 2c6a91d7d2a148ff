"""`python -m escapelint` and the `escapelint` command.

`escapelint --version` (or `-V`) alone is answered before typer and the command definitions are
imported, so that scripts asking for the version pay only for starting Python (issue 11: at most
100 ms); any other command line goes to the typer app, which answers `--version` the same way.
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from escapelint import __version__

        sys.stdout.write(f"{__version__}\n")
        return
    from escapelint.cli import main

    main()


if __name__ == "__main__":
    run()
