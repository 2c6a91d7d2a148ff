"""A Go heap profile, read from the text that `go tool pprof -raw FILE` prints.

escapelint does not decode pprof's protobuf itself: the Go toolchain's own pprof does
(escapelint.workflows.profile runs it), and its `-raw` text is the profile's `String()` form
(github.com/google/pprof/profile/profile.go, vendored in GOROOT/src/cmd/vendor), the same layout
from Go 1.19 to 1.27:

    PeriodType: space bytes
    Period: 524288
    Time: 2026-12-02 00:40:50.277855318 +0000 UTC
    Duration: 30s                                          (only when the profile has one)
    Samples:
    alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count inuse_space/bytes
             1         96          1         96: 16 17 18 19 6
                    bytes:[96]                              (numeric labels; `bytes` is the object size)
    Locations
        75: 0x543859 M=1 example.com/m/hot.NewBuffer /src/m/hot/hot.go:17:0 s=16
        83: 0x5439b1 M=1 example.com/m/hot.newPoint /src/m/hot/hot.go:38:0 s=37
                 example.com/m/hot.Inlined /src/m/hot/hot.go:45:0 s=44   (an inlined frame's caller)
    Mappings
    1: 0x400000/0x555000/0x0 /tmp/go-build/b001/hot.test ... [FN]

A location's lines are its frames, innermost (the inlined callee) first, the function the code was
compiled into last. Go 1.19's pprof prints `file:line s=N`, later ones `file:line:column s=N`; the
runtime writes no columns (runtime/pprof/proto.go, pbLine), so the column is 0 there and read as None.

Samples are summed by their first location and object size while they are read: Go writes each
distinct stack as one sample, and a profile of a long benchmark holds hundreds of thousands of
them, but only the allocating location decides which escape site a sample is (escapelint.analyze.cost).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


class ProfileFormatError(ValueError):
    """The text is not the `-raw` form of a profile (one line says where)."""


class ProfileMismatchError(ValueError):
    """The profile cannot be joined to the build: not a heap profile (its sample types say so).
    Raised by escapelint.analyze.cost; here, with the profile, so that catching it loads no analysis."""


@dataclass(frozen=True, slots=True)
class SampleType:
    """One value every sample carries: `alloc_space` in `bytes`, `alloc_objects` in `count`, ..."""

    type: str
    unit: str


@dataclass(frozen=True, slots=True)
class ProfileFrame:
    """One line of a location: a function at a source position (column None when not recorded)."""

    function: str
    file: str
    line: int
    column: int | None


@dataclass(frozen=True, slots=True)
class ProfileLocation:
    """A program counter and its frames, innermost first; no frames when it was not symbolized."""

    id: int
    address: int
    frames: tuple[ProfileFrame, ...]


@dataclass(frozen=True, slots=True)
class SampleGroup:
    """The samples that start at one location with one object size: their values summed.

    `object_size` is the sample's `bytes` label (Go's heap profiles carry it), else None.
    """

    location: int
    object_size: int | None
    values: tuple[int, ...]  # one per sample type, in the profile's order
    samples: int  # how many samples were summed


@dataclass(frozen=True)
class HeapProfile:
    """What escapelint reads of one profile: sample types, facts and the summed sample groups."""

    name: str
    sample_types: tuple[SampleType, ...]
    default_type: str | None
    period: int | None
    time: str | None
    duration: str | None
    groups: tuple[SampleGroup, ...]
    locations: dict[int, ProfileLocation]
    samples: int

    def value_index(self, type_name: str) -> int | None:
        for index, sample_type in enumerate(self.sample_types):
            if sample_type.type == type_name:
                return index
        return None


_SAMPLE_TYPE = re.compile(r"([^\s/]+)/(\S+?)(\[dflt\])?$")
_LOCATION = re.compile(r"\s*(\d+): (0x[0-9a-fA-F]+) (?:M=\d+ )?(?:\[F\] )?(.*)$")
# "FUNC FILE:LINE[:COLUMN] s=START[(SYSTEM NAME)]": the file may hold spaces and colons, and so may
# the function, but only inside the brackets of a generic instantiation
# (`sync.newIndirectNode[go.shape.interface {},go.shape.interface {}]`): _split_function finds its end.
_FILE_POSITION = re.compile(r"(.*):(\d+):(\d+) s=-?\d+(?:\(.*\))?$")
_FILE_POSITION_WITHOUT_COLUMN = re.compile(r"(.*):(\d+)() s=-?\d+(?:\(.*\))?$")  # Go 1.19's pprof
_SIZE_LABEL = re.compile(r"(?:^|\s)bytes:\[(\d+)")


def read_heap_profile(lines: Iterable[str], name: str = "<profile>") -> HeapProfile:
    """Read the `go tool pprof -raw` text of one profile; ProfileFormatError names the first bad line."""
    sample_types: tuple[SampleType, ...] = ()
    default_type = period = time = duration = None
    groups: dict[tuple[int, int | None], list[int]] = {}
    locations: dict[int, ProfileLocation] = {}
    samples = 0
    section = "header"
    location: ProfileLocation | None = None
    numbered = enumerate(lines, 1)
    number = 0
    for number, line in numbered:
        line = line.rstrip("\r\n")
        if section == "header":
            if line == "Samples:":
                section = "types"
            elif line.startswith("Period: "):
                period = _int(line[8:], name, number)
            elif line.startswith("Time: "):
                time = line[6:]
            elif line.startswith("Duration: "):
                duration = line[10:]
            elif not line.startswith(("PeriodType: ", "Comment: ", "Doc: ")) and line.strip():
                raise ProfileFormatError(f"{name}:{number}: not the text of `go tool pprof -raw`: {line[:80]!r}")
        elif section == "types":
            types = []
            for word in line.split():
                match = _SAMPLE_TYPE.match(word)
                if match is None:
                    raise ProfileFormatError(f"{name}:{number}: not a sample type: {word!r}")
                types.append(SampleType(match[1], match[2]))
                if match[3]:
                    default_type = match[1]
            sample_types = tuple(types)
            samples, number = _read_samples(numbered, len(sample_types), groups, name)
            section = "locations"  # _read_samples stops after the "Locations" line
        elif section == "locations":
            if line == "Mappings":
                section = "mappings"
                continue
            match = _LOCATION.match(line)
            if match is not None:
                location = ProfileLocation(int(match[1]), int(match[2], 16), ())
                frame_text = match[3]
            elif location is not None and line.startswith(" "):
                frame_text = line.strip()
            elif not line.strip():
                continue
            else:
                raise ProfileFormatError(f"{name}:{number}: not a location: {line[:80]!r}")
            if frame_text.strip() and frame_text.strip() != "??":
                function, position = _split_function(frame_text.strip())
                frame = _FILE_POSITION.match(position) or _FILE_POSITION_WITHOUT_COLUMN.match(position)
                if not function or frame is None:
                    raise ProfileFormatError(f"{name}:{number}: not a frame: {frame_text[:80]!r}")
                column = int(frame[3]) if frame[3] else 0
                location = ProfileLocation(
                    location.id,
                    location.address,
                    (*location.frames, ProfileFrame(function, frame[1], int(frame[2]), column or None)),
                )
            locations[location.id] = location
        # The mappings are not needed: Go's profiles are symbolized when written.
    if section in ("header", "types"):
        raise ProfileFormatError(f"{name}: no samples section: not the text of `go tool pprof -raw`")
    return HeapProfile(
        name=name,
        sample_types=sample_types,
        default_type=default_type,
        period=period,
        time=time,
        duration=duration,
        groups=tuple(SampleGroup(loc, size, tuple(v[:-1]), v[-1]) for (loc, size), v in groups.items()),
        locations=locations,
        samples=samples,
    )


def _split_function(text: str) -> tuple[str, str]:
    """A frame's function name and what follows it: the name ends at the first space outside brackets."""
    depth = 0
    for index, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == " " and depth <= 0:
            return text[:index], text[index + 1 :]
    return "", text


def add_to_group(groups: dict, key: tuple[int, int | None], values) -> None:
    """Add one sample's values to its group (first location, object size): a sum per sample type, then
    how many samples were summed (both readers of a profile build their groups this way)."""
    total = groups.get(key)
    if total is None:
        groups[key] = [*values, 1]
    else:
        for i, value in enumerate(values):
            total[i] += value
        total[-1] += 1


def _read_samples(numbered, types: int, groups: dict, name: str) -> tuple[int, int]:
    """Sum the sample lines into `groups` up to the "Locations" line: (samples read, last line number).

    The one hot loop of the reader (a long benchmark's profile has millions of samples): a sample
    line is `V1 V2 ...: LOC LOC ...`, optionally followed by its label line (`bytes:[N] ...`).
    """
    samples = 0
    key: tuple[int, int | None] | None = None
    values: list[int] = []
    number = 0

    for number, line in numbered:
        head, colon, rest = line.partition(": ")
        if colon and "[" not in head:
            if key is not None:
                add_to_group(groups, key, values)
            try:
                values = [int(v) for v in head.split()]
                rest = rest.lstrip()
                end = rest.find(" ")
                first = int(rest[:end] if end >= 0 else rest) if rest.strip() else 0
            except ValueError:
                raise ProfileFormatError(f"{name}:{number}: not a sample: {line.strip()[:80]!r}") from None
            if len(values) != types:
                raise ProfileFormatError(f"{name}:{number}: {len(values)} values for {types} sample types")
            key = (first, None)
            samples += 1
        elif ":[" in line and key is not None:  # the sample's labels
            match = _SIZE_LABEL.search(line)
            if match is not None:
                key = (key[0], int(match[1]))
            add_to_group(groups, key, values)
            key = None
        elif line.rstrip("\r\n") == "Locations":
            break
        elif line.strip():
            raise ProfileFormatError(f"{name}:{number}: not a sample: {line.strip()[:80]!r}")
    else:
        if key is not None:
            add_to_group(groups, key, values)
        return samples, number
    if key is not None:
        add_to_group(groups, key, values)
    return samples, number


def _int(text: str, name: str, number: int) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ProfileFormatError(f"{name}:{number}: not a number: {text[:40]!r}") from None


#: The first line of the `-raw` text: how escapelint tells it from a profile file Go wrote.
RAW_TEXT_STARTS = (b"PeriodType: ", b"Period: ", b"Comment: ", b"Doc: ", b"Samples:")
