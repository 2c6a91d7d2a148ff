"""The matchers' tables kept between runs (issue 11: start-up costs): the same matchers as the parser
gives, Lark left unimported while the matchers read every line, and a missing or damaged file made again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from escapelint.read.matchers import MatcherTables, compile_pattern_matchers
from escapelint.read.messages import MessageSyntaxError, build_parser, parse_tool_line

from .conftest import RECORDED, read_lines, recorded_files

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"


def test_the_tables_survive_their_file():
    tables = MatcherTables.from_parser(build_parser())
    again = MatcherTables.from_json(tables.to_json())
    assert again == tables and again.origin == "cached"


def test_the_tool_line_matchers_agree_with_lark_on_every_recorded_bare_line():
    """ "# pkg" headers, go's own lines and tab-indented details: as Lark's tool_line reads them."""
    matchers = compile_pattern_matchers(build_parser(), "tool_line")
    bare = {line.rstrip("\r\n") for path in recorded_files() for line in read_lines(path)}
    bare = {line for line in bare if line.startswith(("# ", "\t", "go", "note:"))}
    compared = 0
    for text in sorted(bare):
        fast = matchers.match(text)
        if fast is None:
            continue
        try:
            assert fast == parse_tool_line(text), text
        except MessageSyntaxError:
            pytest.fail(f"matcher accepts what the grammar rejects: {text!r}")
        compared += 1
    assert compared >= 5  # every package header of the recordings, at least


_READ_EXAMPLE = textwrap.dedent(
    """
    import sys
    from escapelint.read.assembler import read_build_output
    from escapelint.read.matchers import matcher_tables
    outputs, stats = read_build_output(open({path!r}, encoding="utf-8").read().splitlines(keepends=True))
    print(matcher_tables().origin, "lark" in sys.modules, stats.packages, stats.balanced())
    """
)


def _read_example(cache_home) -> list[str]:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    done = subprocess.run(
        [sys.executable, "-c", _READ_EXAMPLE.format(path=str(EXAMPLE))], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_warm_start_reads_the_example_without_importing_lark(tmp_path):
    assert _read_example(tmp_path) == ["built", "True", "2", "True"]  # the first run makes the tables
    assert _read_example(tmp_path) == ["cached", "False", "2", "True"]


def test_damaged_tables_are_made_again(tmp_path):
    _read_example(tmp_path)
    [tables] = (tmp_path / "escapelint").glob("matchers-*.json")
    tables.write_text('{"position": ')  # damaged by hand
    assert _read_example(tmp_path) == ["built", "True", "2", "True"]
    assert _read_example(tmp_path)[:2] == ["cached", "False"]
