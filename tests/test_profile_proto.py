"""Heap profiles read from their protobuf, without Go (escapelint.read.heap_profile_proto).

The profiles are the real ones scripts/record_profiles.py recorded (BenchmarkHot of
fixtures/modules/profiled on Go 1.19, 1.22.10 and 1.27.3, plain and -trimpath), beside the
`go tool pprof -raw` text that toolchain's pprof printed of each: the protobuf reader must give what the
text reader gives. Profiles that are not right are made from the recorded ones by this file's own
message classes, each marked as deliberately malformed.
"""

from __future__ import annotations

import gzip
import time
from collections import Counter
from dataclasses import replace

import pytest

from escapelint.read.heap_profile import read_heap_profile
from escapelint.read.heap_profile_proto import (
    _go_duration,
    message_classes,
    read_heap_profile_proto,
)
from escapelint.workflows.profile import ProfileError, attribute_build, read_profile, read_through_pprof

from .conftest import MODULES, RECORDED, analysed, analysed_file, toolchain_or_skip

PROFILES = [(v, n) for v in ("1.19", "1.22.10", "1.27.3") for n in ("profiled", "profiled-trimpath")]
IDS = [f"go{v}/{n}" for v, n in PROFILES]


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The recorded `-raw` texts print the profile's time in UTC, the recording machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()  # before tzset, so that the zone read again is the one restored
    time.tzset()


def recorded(version: str, name: str):
    directory = RECORDED / f"go{version}" / "profiles"
    return directory / f"{name}.hot.pb.gz", directory / f"{name}.hot.raw"


def text_profile(version: str, name: str):
    _, raw = recorded(version, name)
    with raw.open(encoding="utf-8") as lines:
        return read_heap_profile(lines, "profile")


def proto_profile(version: str, name: str):
    protobuf, _ = recorded(version, name)
    return replace(read_profile(protobuf, None), name="profile")


def by_frames(profile) -> Counter:
    """The samples summed by allocating frames and size, leaving out those whose values are all 0.

    Go 1.19's pprof merges a profile it reads (github.com/google/pprof's Merge, even of one profile):
    it numbers the locations afresh and drops the samples whose every value is 0. Later ones print the
    profile as it is.
    """
    summed: Counter = Counter()
    for group in profile.groups:
        if any(group.values):
            location = profile.locations.get(group.location)
            key = (location.frames if location else (), group.object_size)
            summed[key] = tuple(a + b for a, b in zip(summed.get(key, (0,) * 5), (*group.values, group.samples)))
    return summed


def same_as_pprof_text(proto, text, version: str) -> None:
    if version == "1.19":
        assert by_frames(proto) == by_frames(text)
        assert replace(proto, groups=(), locations={}, samples=0) == replace(text, groups=(), locations={}, samples=0)
        assert proto.samples > text.samples
    else:
        assert proto == text


# --- the same profile as pprof's text ---------------------------------------------------------


@pytest.mark.parametrize("version, name", PROFILES, ids=IDS)
def test_the_protobuf_reads_as_pprof_printed_it(version, name):
    same_as_pprof_text(proto_profile(version, name), text_profile(version, name), version)


@pytest.mark.parametrize("version, name", PROFILES, ids=IDS)
def test_the_attribution_is_the_same_from_either(version, name):
    trimpath = name.endswith("trimpath")
    recording = analysed_file(recorded(version, name)[0].parent / "profiled-trimpath.m2.txt") if trimpath else analysed(version, "profiled")
    packages = list(recording.packages)
    proto = attribute_build(packages, [proto_profile(version, name)], MODULES / "profiled")
    text = attribute_build(packages, [text_profile(version, name)], MODULES / "profiled")
    if version == "1.19":  # the samples of nothing (all values 0) are counted, not weighed
        assert proto.facts.total == text.facts.total and proto.facts.attributed == text.facts.attributed
        assert proto.facts.unmatched == text.facts.unmatched and proto.facts.unmapped == text.facts.unmapped
        proto, text = replace(proto, facts=None), replace(text, facts=None)
    assert proto == text
    assert proto.ranked(recording.findings())[0][0].function == "NewBuffer"


def test_inline_frames_come_innermost_first_and_columns_0_are_none():
    profile = proto_profile("1.27.3", "profiled")
    inlined = [loc for loc in profile.locations.values() if [f.function.rsplit(".", 1)[-1] for f in loc.frames] == ["newPoint", "Inlined"]]
    assert inlined and [(f.line, f.column) for f in inlined[0].frames] == [(38, None), (45, None)]
    assert profile.time == text_profile("1.27.3", "profiled").time and profile.time.endswith(" +0000 UTC")


def test_a_generic_functions_name_with_spaces_is_one_name_in_both_readers():
    """Go 1.27's runtime allocates in internal/sync.newIndirectNode[go.shape.interface {},...]."""
    for profile in (proto_profile("1.27.3", "profiled"), text_profile("1.27.3", "profiled")):
        names = {f.function for loc in profile.locations.values() for f in loc.frames}
        assert "internal/sync.newIndirectNode[go.shape.interface {},go.shape.interface {}]" in names


def test_a_plain_protobuf_file_is_read_as_a_gzipd_one(tmp_path):
    protobuf, _ = recorded("1.22.10", "profiled")
    plain = tmp_path / "heap.pb"
    plain.write_bytes(gzip.decompress(protobuf.read_bytes()))
    assert replace(read_profile(plain, None), name="profile") == proto_profile("1.22.10", "profiled")


def test_labels_read_one_sample_at_a_time_give_the_same_groups(tmp_path):
    """A string label on every sample keeps the label columns from pairing up: the slow way must agree."""
    classes = message_classes()
    protobuf, _ = recorded("1.27.3", "profiled")
    message = classes["Profile"]()
    message.ParseFromString(gzip.decompress(protobuf.read_bytes()))
    message.string_table.extend(["goroutine", "worker"])  # deliberately unlike Go's heap profiles
    key, value = len(message.string_table) - 2, len(message.string_table) - 1
    for sample in message.sample:
        sample.label.insert(0, classes["Label"](key=key, str=value))
    labelled = tmp_path / "labelled.pb"
    labelled.write_bytes(message.SerializeToString())
    assert read_profile(labelled, None).groups == proto_profile("1.27.3", "profiled").groups


def test_a_profile_of_two_sample_types_sums_both(tmp_path):
    """Not Go's four (pprof's objects/space of a converted legacy profile have two): the general loop."""
    classes = message_classes()
    message = classes["Profile"]()
    message.ParseFromString(gzip.decompress(recorded("1.27.3", "profiled")[0].read_bytes()))
    del message.sample_type[2:]  # deliberately two of the four: alloc_objects, alloc_space
    for sample in message.sample:
        del sample.value[2:]
    two = tmp_path / "two.pb"
    two.write_bytes(message.SerializeToString())
    read, whole = read_profile(two, None), proto_profile("1.27.3", "profiled")
    assert [g.values for g in read.groups] == [g.values[:2] for g in whole.groups]
    assert [g.samples for g in read.groups] == [g.samples for g in whole.groups]


def test_durations_print_as_go_prints_them():
    # time.Duration.String()'s own examples and cases (src/time/time_test.go, durationTests)
    assert [_go_duration(n) for n in (1, 1100, 2_200_000, 3_300_000_000, 4 * 60 * 10**9 + 5 * 10**9, 2 * 3600 * 10**9)] == [
        "1ns", "1.1µs", "2.2ms", "3.3s", "4m5s", "2h0m0s",
    ]  # fmt: skip
    assert _go_duration(-(3600 + 60 + 1) * 10**9 - 1) == "-1h1m1.000000001s"
    assert _go_duration(30 * 10**9)[:4] == "30s"  # pprof's "Duration:" line, %.4v


# --- what is not a profile ----------------------------------------------------------------------


def malformed(tmp_path, change) -> str:
    """The recorded Go 1.27 profile changed by `change(message)`: deliberately malformed. Its error."""
    classes = message_classes()
    message = classes["Profile"]()
    message.ParseFromString(gzip.decompress(recorded("1.27.3", "profiled")[0].read_bytes()))
    change(message)
    path = tmp_path / "bad.pb.gz"
    path.write_bytes(gzip.compress(message.SerializeToString()))
    with pytest.raises(ProfileError) as error:
        read_profile(path, None)
    return str(error.value)


def test_a_sample_with_the_wrong_number_of_values_is_refused(tmp_path):
    message = malformed(tmp_path, lambda m: m.sample[5].value.append(1))
    assert "malformed profile: mismatch: sample has 5 values vs. 4 types" in message
    assert "go tool pprof" not in message  # pprof refuses it too: no advice to run it


def test_a_string_index_outside_the_table_is_refused(tmp_path):
    message = malformed(tmp_path, lambda m: setattr(m.function[0], "name", 10**6))
    assert "malformed profile: string index 1000000 of" in message


def test_a_sample_at_a_location_the_profile_lacks_is_refused(tmp_path):
    message = malformed(tmp_path, lambda m: m.sample[0].location_id.__setitem__(0, 99999))
    assert "a sample's location 99999 is not in the profile" in message


def test_a_profile_that_drops_frames_needs_pprof(tmp_path):
    def drop(message):
        message.string_table.append("runtime\\..*")
        message.drop_frames = len(message.string_table) - 1

    message = malformed(tmp_path, drop)
    assert "names frames to drop (drop_frames), which go tool pprof applies, and there is no `go` on PATH: pass --go GO" in message


def test_two_profiles_concatenated_are_refused(tmp_path):
    protobuf, _ = recorded("1.27.3", "profiled")
    both = tmp_path / "both.pb"
    both.write_bytes(gzip.decompress(protobuf.read_bytes()) * 2)  # deliberately two in one file
    with pytest.raises(ProfileError, match="concatenated profiles detected"):
        read_profile(both, None)


def test_a_truncated_gzip_file_is_a_clear_error(tmp_path):
    protobuf, _ = recorded("1.27.3", "profiled")
    cut = tmp_path / "cut.pb.gz"
    cut.write_bytes(protobuf.read_bytes()[:-100])  # deliberately cut short
    with pytest.raises(ProfileError, match=r"--profile .*cut.pb.gz: not a whole gzip file \("):
        read_profile(cut, None)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty input file"),
        (b"\x00\x01 not a profile", "not a protobuf profile (Error parsing"),  # deliberately not a profile
        (b"\x32\x01x", "not a protobuf profile (its string table does not start with"),  # deliberately another message
    ],
    ids=["empty", "bytes", "another-message"],
)
def test_what_is_not_a_profile_says_so_in_one_line(tmp_path, content, problem):
    path = tmp_path / "not.pb"
    path.write_bytes(content)
    with pytest.raises(ProfileError) as error:
        read_profile(path, None)
    message = str(error.value)
    assert message.startswith(f"--profile {path}: ") and problem in message and "\n" not in message


def test_a_legacy_text_profile_is_refused_with_what_to_do(tmp_path):
    """It names only addresses: pprof run without its binary would give locations without a line."""
    path = tmp_path / "heap.txt"
    path.write_bytes(b"heap profile: 105: 108480 [115: 112056] @ heap/2\n")  # deliberately only the first line
    with pytest.raises(ProfileError, match=r"a legacy text heap profile \(/debug/pprof/heap\?debug=1\), which names only addresses: "
                       r"fetch the profile without \?debug=1, or convert it where its binary is: go tool pprof -raw BINARY .*heap.txt > "):
        read_profile(path, object())  # with a go or without: pprof is not run


def test_the_reader_alone_refuses_what_is_not_a_profile():
    from escapelint.read.heap_profile import ProfileFormatError

    with pytest.raises(ProfileFormatError, match="x: not a protobuf profile"):
        read_heap_profile_proto(b"\xff\xff\xff", "x")  # deliberately not a profile


# --- against the toolchain's pprof ---------------------------------------------------------------


@pytest.mark.toolchain
@pytest.mark.parametrize("version, name", PROFILES, ids=IDS)
def test_the_protobuf_reader_agrees_with_go_tool_pprof(version, name, monkeypatch):
    """Each recorded profile read here equals what that toolchain's `go tool pprof -raw` prints of it now."""
    from escapelint.workflows.gobuild import GoToolchain

    toolchain = toolchain_or_skip(version)
    protobuf, _ = recorded(version, name)
    monkeypatch.setenv("GOROOT", str(toolchain.goroot))  # the go that pprof runs as
    through_pprof = read_through_pprof(protobuf, GoToolchain(str(toolchain.go)))
    same_as_pprof_text(read_profile(protobuf, None), through_pprof, version)


@pytest.mark.toolchain
def test_a_profile_that_drops_frames_is_read_through_go_tool_pprof(tmp_path, monkeypatch):
    """pprof prunes the frames a profile names in drop_frames (its conversion of a legacy text profile
    names the allocator's): here NewBuffer's, so that its bytes land on the benchmark that called it."""
    from escapelint.workflows.gobuild import GoToolchain

    toolchain = toolchain_or_skip("1.27.3")
    classes = message_classes()
    message = classes["Profile"]()
    message.ParseFromString(gzip.decompress(recorded("1.27.3", "profiled")[0].read_bytes()))
    message.string_table.append(r"example\.com/escapelint/profiled/hot\.NewBuffer")  # deliberately unlike Go's
    message.drop_frames = len(message.string_table) - 1
    path = tmp_path / "drops.pb.gz"
    path.write_bytes(gzip.compress(message.SerializeToString()))
    monkeypatch.setenv("GOROOT", str(toolchain.goroot))
    pruned = read_profile(path, GoToolchain(str(toolchain.go)))
    whole = proto_profile("1.27.3", "profiled")
    leaf = lambda profile: {profile.locations[g.location].frames[0].function for g in profile.groups if g.location in profile.locations and profile.locations[g.location].frames}
    assert "example.com/escapelint/profiled/hot.NewBuffer" in leaf(whole)
    assert "example.com/escapelint/profiled/hot.NewBuffer" not in leaf(pruned)
    index = whole.value_index("alloc_space")
    assert sum(g.values[index] for g in pruned.groups) == sum(g.values[index] for g in whole.groups)
