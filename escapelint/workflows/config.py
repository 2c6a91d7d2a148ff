"""Project configuration: `[tool.escapelint]` in pyproject.toml, or `.escapelint.toml`.

    [tool.escapelint]
    fail-on = ["returned-pointer", "global-assignment"]   # categories that fail `check`; default: all but unclassified
    exclude = ["internal/gen/**", "**/*_generated.go"]    # sites in these files are ignored
    baseline = ".escapelint-baseline.json"               # where `baseline` writes and `check` reads
    max-new = 0                                           # `diff` fails when more new escapes than this
    fail-on-bytes = 4096                                  # with --profile: `check` fails only on new sites allocating this much
    max-new-bytes = 65536                                 # with --profile: `diff` fails when the new sites allocate more

`.escapelint.toml` takes the same keys at its top level. An unknown key or category is an error that
names it: a typo must not silently turn a gate off.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path


if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_BASELINE = ".escapelint-baseline.json"
KNOWN_KEYS = ("fail-on", "exclude", "baseline", "max-new", "fail-on-bytes", "max-new-bytes", "fail-on-static")


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    fail_on: frozenset[str] = field(default_factory=lambda: frozenset(_rules()) - {"unclassified"})
    exclude: tuple[str, ...] = ()
    baseline: str = DEFAULT_BASELINE
    max_new: int = 0
    fail_on_bytes: int | None = None  # with a heap profile: new sites that allocated less do not fail `check`
    max_new_bytes: int | None = None  # with a heap profile: `diff` fails when its new sites allocated more
    # Fail on escapes the compiler serves from static data too (analyze/allocation.py); by default
    # `check` and `diff` fail only on sites that allocate.
    fail_on_static: bool = False
    origin: Path | None = None  # the file it was read from
    baseline_configured: bool = field(default=False, compare=False)  # `baseline` is in that file

    def excluded(self, file: str) -> bool:
        """Whether a site in `file` (as the compiler prints it) is excluded."""
        path = file[2:] if file.startswith("./") else file
        # "**/" also matches no directory at all, as in .gitignore: fnmatch alone needs a "/" there.
        return any(
            fnmatch.fnmatch(path, pattern) or (pattern.startswith("**/") and fnmatch.fnmatch(path, pattern[3:]))
            for pattern in self.exclude
        )


def load_config(root: Path) -> Config:
    """The configuration of the module at `root`: .escapelint.toml wins over pyproject.toml."""
    dedicated = root / ".escapelint.toml"
    if dedicated.is_file():
        return _from_table(_read(dedicated), dedicated)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        tool = _read(pyproject).get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{pyproject}: tool must be a table (escapelint reads [tool.escapelint])")
        table = tool.get("escapelint")
        if table is not None:
            return _from_table(table, pyproject)
    return Config()


def load_config_file(path: Path) -> Config:
    """The configuration in `path`, named with --config: a .escapelint.toml (keys at its top level),
    or a pyproject.toml whose [tool.escapelint] table is then required."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    document = _read(path)
    if path.name == "pyproject.toml":
        table = document.get("tool", {}).get("escapelint")
        if table is None:
            raise ConfigError(f"{path}: no [tool.escapelint] table")
        return _from_table(table, path)
    return _from_table(document, path)


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start + 1}), which TOML requires") from None
    except RecursionError:
        raise ConfigError(f"{path}: not usable TOML: nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _from_table(table: dict, origin: Path) -> Config:
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: [tool.escapelint] must be a table")
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(f"{origin}: unknown key {unknown[0]!r}; known keys: {', '.join(KNOWN_KEYS)}")
    config = Config(origin=origin)
    values = {}
    if "fail-on" in table:
        categories = _strings(table["fail-on"], "fail-on", origin)
        for category in categories:
            if category not in _rules():
                close = get_close_matches(category, list(_rules()), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ConfigError(f"{origin}: fail-on: unknown category {category!r}{hint}; known: {', '.join(_rules())}")
        values["fail_on"] = frozenset(categories)
    if "exclude" in table:
        values["exclude"] = tuple(_strings(table["exclude"], "exclude", origin))
    if "baseline" in table:
        if not isinstance(table["baseline"], str) or not table["baseline"]:
            raise ConfigError(f"{origin}: baseline must be a path")
        values["baseline"] = table["baseline"]
        values["baseline_configured"] = True
    if "max-new" in table:
        if not isinstance(table["max-new"], int) or isinstance(table["max-new"], bool) or table["max-new"] < 0:
            raise ConfigError(f"{origin}: max-new must be a whole number >= 0")
        values["max_new"] = table["max-new"]
    for key in ("fail-on-bytes", "max-new-bytes"):
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{origin}: {key} must be a whole number of bytes >= 0")
            values[key.replace("-", "_")] = value
    if "fail-on-static" in table:
        if not isinstance(table["fail-on-static"], bool):
            raise ConfigError(f"{origin}: fail-on-static must be true or false")
        values["fail_on_static"] = table["fail-on-static"]
    return Config(**{**config.__dict__, **values})


def _strings(value, key: str, origin: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{origin}: {key} must be a list of strings")
    return value


def _rules():
    from escapelint.rules import RULES  # when a configuration is read: every command imports ConfigError

    return RULES
