"""escapelint.gc_pause: the one home of pausing the cyclic garbage collector."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

import pytest

from escapelint.gc_pause import paused

PACKAGE = Path(__file__).resolve().parent.parent / "escapelint"


@pytest.fixture(autouse=True)
def collector_on_again():
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_again_after():
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_inside_leaves_the_collector_as_it_was():
    with pytest.raises(OSError):
        with paused():
            raise OSError("disk went away")
    assert gc.isenabled()


def test_blocks_nest():
    with paused():
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_no_other_module_touches_the_collector():
    users = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "gc_pause.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(alias.name == "gc" for alias in node.names):
                users.append(str(path.relative_to(PACKAGE)))
    assert users == []
