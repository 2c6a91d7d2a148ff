"""BuildReader as a library: it leaves the garbage collector as it found it."""

from __future__ import annotations

import gc

import pytest

from escapelint.read.assembler import BuildReader

from .conftest import RECORDED, read_lines

EXAMPLE = RECORDED / "go1.27.3" / "categories.m2.txt"


def test_the_collector_runs_while_the_caller_holds_a_package():
    assert gc.isenabled()
    packages = 0
    for _ in BuildReader().packages(read_lines(EXAMPLE)):
        assert gc.isenabled()
        packages += 1
    assert packages > 0
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled():
    gc.disable()
    try:
        for _ in BuildReader().packages(read_lines(EXAMPLE)):
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_reader_given_up_halfway_leaves_the_collector_on():
    packages = BuildReader().packages(read_lines(EXAMPLE))
    next(packages)
    packages.close()
    assert gc.isenabled()


def test_a_collector_the_caller_disables_while_holding_a_package_stays_disabled():
    packages = BuildReader().packages(read_lines(EXAMPLE))
    next(packages)
    gc.disable()
    try:
        packages.close()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_reader_that_fails_leaves_the_collector_on():
    def lines():
        yield from read_lines(EXAMPLE)[:50]
        raise OSError("disk went away")

    with pytest.raises(OSError):
        for _ in BuildReader().packages(lines()):
            pass
    assert gc.isenabled()
