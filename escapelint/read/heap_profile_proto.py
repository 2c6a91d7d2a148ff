"""A Go heap profile read from its protobuf (pprof's profile.proto), with the `protobuf` package.

Go writes every heap profile (`go test -memprofile`, `/debug/pprof/heap` and `/allocs`) as a gzip'd
`perftools.profiles.Profile` message. escapelint reads it with Google's `protobuf` package (its upb
backend, in C) and message classes made at run time from a descriptor built here, in Python, from
the facts of pprof's proto/profile.proto (message and field names, numbers and types): no generated
`_pb2` module, no protoc, no Go. The result is the same HeapProfile that escapelint.read.heap_profile
reads from the `go tool pprof -raw` text of the same file (the tests compare the two on every
recorded profile): string-table names, a location's frames innermost first, column 0 read as None,
the `bytes` numeric label as the object size, samples summed by first location and object size.

The one hot part is the samples: a long benchmark's profile holds millions of them, and a Python
object per sample and per repeated field costs about a microsecond each. So the samples are read in
columns. Protobuf merges the occurrences of a singular message field, and concatenates the repeated
fields inside it: parsed as one `SampleColumns` message, every sample's values land in one list and
every label's key and number in two more, at C speed. What keeps the samples apart is a separator
sample serialized by the same library (a value of INT64_MIN and a label of key 0, which no real
label has, string 0 being ""), put between the samples' own bytes, which a view of the profile
(`ProfileSampleBytes`, field 2 read as `bytes`, as protobuf's wire format allows for any message)
hands over untouched. Only the first location of each sample is read from a message per sample (the
samples' bytes put back into a message of repeated samples by protobuf's own serializer): the
locations are not worth a column (fifty million ids in the depth-9 benchmark's profile, where only
the first of each sample's two dozen counts). A profile whose labels do not fit the columns (a
string label, a number label of 0) is read one sample at a time, with the same result. The samples
are read CHUNK_SAMPLES at a time, so that the memory for them stays bounded whatever the profile's
size: the rest is the profile's own bytes, which upb copies once (about 600 MB at most for the 2.1
million samples of the depth-9 profile, 2 GB for a profile of 16.8 million).

Measured and left out (scripts/benchmark.py --profile; the README has the figures): a message per
sample for everything (values and labels too: a quarter slower); the location ids as a column too,
with compress picking each sample's first (twice as slow, and 2 GB for the ids); summing the groups
from index lists in C (no faster than the dict loop).

What pprof does that this does not: pruning the frames a profile names in its `drop_frames`. Go's
runtime never writes one, but pprof does when it converts a legacy text profile
(`go tool pprof -proto BINARY heap.txt`: the allocator's frames are to be dropped): such a profile is
refused here with a ProfileNeedsPprofError, and escapelint.workflows.profile hands it to
`go tool pprof -raw`, which prunes them. Legacy text profiles themselves are not protobuf.
A profile that is malformed (a sample with the wrong number of values, a name outside the string
table, a location or function id 0 or repeated, a sample at a location the profile lacks) is a
ProfileFormatError that says which, as pprof refuses it too.
"""

from __future__ import annotations

import functools
from datetime import datetime
from itertools import chain, compress, islice
from operator import attrgetter, not_

from escapelint.gc_pause import paused
from escapelint.read.heap_profile import (
    HeapProfile,
    ProfileFormatError,
    ProfileFrame,
    ProfileLocation,
    SampleGroup,
    SampleType,
    add_to_group,
)

class ProfileNeedsPprofError(ProfileFormatError):
    """A profile that names frames to drop (`drop_frames`), which only `go tool pprof` applies."""


#: The separator sample's value: no heap profile counts minus 2^63 bytes or objects.
_SEPARATOR_VALUE = -(2**63)

_PACKAGE = "perftools.profiles"

# pprof's proto/profile.proto, field by field: (name, number, type, repeated, message type).
# Breakdown fields of later revisions, which Go does not write, are left out.
_PROFILE_PROTO = {
    "Profile": [
        ("sample_type", 1, "message", True, "ValueType"),
        ("sample", 2, "message", True, "Sample"),
        ("mapping", 3, "message", True, "Mapping"),
        ("location", 4, "message", True, "Location"),
        ("function", 5, "message", True, "Function"),
        ("string_table", 6, "string", True, None),
        ("drop_frames", 7, "int64", False, None),
        ("keep_frames", 8, "int64", False, None),
        ("time_nanos", 9, "int64", False, None),
        ("duration_nanos", 10, "int64", False, None),
        ("period_type", 11, "message", False, "ValueType"),
        ("period", 12, "int64", False, None),
        ("comment", 13, "int64", True, None),
        ("default_sample_type", 14, "int64", False, None),
        ("doc_url", 15, "int64", False, None),
    ],
    "ValueType": [("type", 1, "int64", False, None), ("unit", 2, "int64", False, None)],
    "Sample": [
        ("location_id", 1, "uint64", True, None),
        ("value", 2, "int64", True, None),
        ("label", 3, "message", True, "Label"),
    ],
    "Label": [
        ("key", 1, "int64", False, None),
        ("str", 2, "int64", False, None),
        ("num", 3, "int64", False, None),
        ("num_unit", 4, "int64", False, None),
    ],
    "Mapping": [
        ("id", 1, "uint64", False, None),
        ("memory_start", 2, "uint64", False, None),
        ("memory_limit", 3, "uint64", False, None),
        ("file_offset", 4, "uint64", False, None),
        ("filename", 5, "int64", False, None),
        ("build_id", 6, "int64", False, None),
        ("has_functions", 7, "bool", False, None),
        ("has_filenames", 8, "bool", False, None),
        ("has_line_numbers", 9, "bool", False, None),
        ("has_inline_frames", 10, "bool", False, None),
    ],
    "Location": [
        ("id", 1, "uint64", False, None),
        ("mapping_id", 2, "uint64", False, None),
        ("address", 3, "uint64", False, None),
        ("line", 4, "message", True, "Line"),
        ("is_folded", 5, "bool", False, None),
    ],
    "Line": [
        ("function_id", 1, "uint64", False, None),
        ("line", 2, "int64", False, None),
        ("column", 3, "int64", False, None),
    ],
    "Function": [
        ("id", 1, "uint64", False, None),
        ("name", 2, "int64", False, None),
        ("system_name", 3, "int64", False, None),
        ("filename", 4, "int64", False, None),
        ("start_line", 5, "int64", False, None),
    ],
}

# Views of the same bytes, for reading the samples in columns (see the module's docstring). A message
# type with a dot is one of profile.proto's.
_VIEWS = {
    # The profile with each sample's bytes as they are, and time_nanos repeated: two profiles
    # concatenated (`cat a.pb b.pb`) have two, which pprof refuses and so does this reader.
    "ProfileSampleBytes": [
        ("sample", 2, "bytes", True, None) if number == 2 else ("time_nanos", 9, "int64", True, None) if number == 9
        else (name, number, kind, repeated, f"{_PACKAGE}.{type_name}" if type_name else None)
        for name, number, kind, repeated, type_name in _PROFILE_PROTO["Profile"]
    ],
    # Some samples as messages, one each: parsed from a ProfileSampleBytes holding only their bytes.
    "SampleMessages": [("sample", 2, "message", True, f"{_PACKAGE}.Sample")],
    # Every sample merged into one: its repeated fields are every sample's, one after another. The
    # location ids (field 1) are left out, unknown to the view: kept as bytes, never made into numbers.
    "SampleColumns": [
        ("value", 2, "int64", True, None),
        ("label", 3, "message", False, "LabelColumns"),
    ],
    "LabelColumns": [
        ("key", 1, "int64", True, None),
        ("str", 2, "int64", True, None),
        ("num", 3, "int64", True, None),
        ("num_unit", 4, "int64", True, None),
    ],
}

_VIEWS_PACKAGE = "escapelint.pprof"

#: Samples read at a time: the memory for their messages and columns stays a few hundred MB at most, whatever
#: the profile's size, and each step is long enough that its fixed costs do not count.
CHUNK_SAMPLES = 1 << 18


@functools.lru_cache(maxsize=None)
def message_classes() -> dict:
    """The message classes of profile.proto and of the column views, by message name.

    Made once per process from a FileDescriptorProto built here (protobuf's own way to describe a
    .proto file in code), in a pool of their own so as not to clash with another `perftools.profiles`.
    """
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    types = {
        "message": field.TYPE_MESSAGE, "string": field.TYPE_STRING, "bytes": field.TYPE_BYTES,
        "int64": field.TYPE_INT64, "uint64": field.TYPE_UINT64, "bool": field.TYPE_BOOL,
    }  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    for file_name, package, messages, dependencies in (
        ("escapelint/pprof/profile.proto", _PACKAGE, _PROFILE_PROTO, []),
        ("escapelint/pprof/views.proto", _VIEWS_PACKAGE, _VIEWS, ["escapelint/pprof/profile.proto"]),
    ):
        file = descriptor_pb2.FileDescriptorProto(name=file_name, package=package, syntax="proto3", dependency=dependencies)
        for message_name, fields in messages.items():
            message = file.message_type.add(name=message_name)
            for name, number, kind, repeated, type_name in fields:
                added = message.field.add(
                    name=name, number=number, type=types[kind],
                    label=field.LABEL_REPEATED if repeated else field.LABEL_OPTIONAL,
                )  # fmt: skip
                if type_name is not None:
                    added.type_name = f".{type_name}" if "." in type_name else f".{package}.{type_name}"
        pool.Add(file)
    classes = {}
    for package, messages in ((_PACKAGE, _PROFILE_PROTO), (_VIEWS_PACKAGE, _VIEWS)):
        for message_name in messages:
            classes[message_name] = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{message_name}"))
    return classes


def read_heap_profile_proto(data: bytes | list[bytes], name: str = "<profile>") -> HeapProfile:
    """Read one serialized (already gunzip'd) profile; ProfileFormatError says why it is not one.

    `data` may be handed over as a list holding the bytes alone: the list is emptied once they are
    parsed, so that their memory (600 MB for a 45 MB gzip'd profile) goes before the samples are read.
    """
    with paused():  # millions of short-lived objects and no cycles: see escapelint.gc_pause
        return _read(data, name)


def _read(data: bytes | list[bytes], name: str) -> HeapProfile:
    from google.protobuf.message import DecodeError

    classes = message_classes()
    serialized = data[0] if isinstance(data, list) else data
    if not serialized:
        raise ProfileFormatError(f"{name}: empty input file")
    profile = classes["ProfileSampleBytes"]()
    try:
        profile.ParseFromString(serialized)  # upb copies what it keeps
    except DecodeError as exc:
        raise ProfileFormatError(f"{name}: not a protobuf profile ({exc})") from None
    del serialized
    if isinstance(data, list):
        data.clear()
    if len(profile.time_nanos) > 1:
        raise ProfileFormatError(f"{name}: concatenated profiles detected")
    strings = list(profile.string_table)
    if not strings or strings[0] != "":
        raise ProfileFormatError(f"{name}: not a protobuf profile (its string table does not start with \"\")")
    if profile.drop_frames:
        raise ProfileNeedsPprofError(f"{name}: names frames to drop (drop_frames), which go tool pprof applies")

    def string(index: int) -> str:
        if 0 <= index < len(strings):
            return strings[index]
        raise ProfileFormatError(f"{name}: malformed profile: string index {index} of {len(strings)}")

    sample_types = tuple(SampleType(string(t.type), string(t.unit)) for t in profile.sample_type)
    sample_bytes = profile.sample
    samples = len(sample_bytes)
    if samples and not sample_types:
        raise ProfileFormatError(f"{name}: malformed profile: missing sample type information")
    default_name = string(profile.default_sample_type)
    default_type = default_name if profile.default_sample_type and any(t.type == default_name for t in sample_types) else None
    time_nanos = profile.time_nanos[0] if profile.time_nanos else 0
    locations = _locations(profile, string, name)
    size_key = strings.index("bytes") if "bytes" in strings else None
    groups: dict[tuple[int, int | None], list[int]] = {}
    reader = _SampleReader(classes, len(sample_types), size_key, name)
    for start in range(0, samples, CHUNK_SAMPLES):
        reader.add(sample_bytes[start : start + CHUNK_SAMPLES], groups)
    for location, _size in groups:
        if location and location not in locations:
            raise ProfileFormatError(f"{name}: malformed profile: a sample's location {location} is not in the profile")
    return HeapProfile(
        name=name,
        sample_types=sample_types,
        default_type=default_type,
        period=profile.period,
        time=_go_time(time_nanos) if time_nanos else None,
        duration=_go_duration(profile.duration_nanos)[:4] if profile.duration_nanos else None,
        groups=tuple(SampleGroup(loc, size, tuple(v[:-1]), v[-1]) for (loc, size), v in groups.items()),
        locations=locations,
        samples=samples,
    )


class _SampleReader:
    """Sums samples, given as their bytes, into groups by first location and object size."""

    def __init__(self, classes: dict, types: int, size_key: int | None, name: str) -> None:
        self.classes, self.types, self.size_key, self.name = classes, types, size_key, name
        separator = classes["SampleColumns"]()
        separator.value.append(_SEPARATOR_VALUE)
        separator.label.key.append(0)
        separator.label.num.append(0)
        self.separator = separator.SerializeToString()

    def add(self, sample_bytes: list[bytes], groups: dict) -> None:
        count = len(sample_bytes)
        # Each sample's first location (the allocating one), from one message per sample: the
        # samples' bytes put back into a message of repeated samples, serialized by protobuf.
        messages = self.classes["SampleMessages"]()
        messages.ParseFromString(self.classes["ProfileSampleBytes"](sample=sample_bytes).SerializeToString())
        firsts = [ids[0] if ids else 0 for ids in map(attrgetter("location_id"), messages.sample)]
        columns = self.classes["SampleColumns"]()
        columns.ParseFromString(self.separator + self.separator.join(sample_bytes))
        values = columns.value
        width = self.types + 1
        keys, nums = list(columns.label.key), list(columns.label.num)
        # Each sample's values follow its separator's; every label has a key (string 0 is "") and, in
        # Go's heap profiles, a number and no string: then the label columns pair up, and the
        # separators' key 0 marks where each sample's labels start.
        if (
            len(values) == count * width and values[0::width].count(_SEPARATOR_VALUE) == count
            and not columns.label.str and len(nums) == len(keys) and keys.count(0) == count
        ):  # fmt: skip
            sizes = _sizes_from_columns(keys, nums, self.size_key, count)
            by_type = [values[i::width] for i in range(1, width)]  # slices of upb's container are lists
        else:
            sizes, by_type = self._one_by_one(messages.sample)
        _group(groups, firsts, sizes, by_type)

    def _one_by_one(self, samples):
        """The slow way, one message per sample: pprof's own rules for labels, and its error for a
        sample with the wrong number of values. The sizes, and the values of each sample type."""
        sizes: list[int | None] = []
        by_type: list[list[int]] = [[] for _ in range(self.types)]
        for sample in samples:
            if len(sample.value) != self.types:
                raise ProfileFormatError(
                    f"{self.name}: malformed profile: mismatch: sample has {len(sample.value)} values vs. {self.types} types"
                )
            sizes.append(_size_of(sample.label, self.size_key))
            for column, value in zip(by_type, sample.value):
                column.append(value)
        return sizes, by_type


def _locations(profile, string, name: str) -> dict[int, ProfileLocation]:
    functions = {}
    for function in profile.function:
        if function.id == 0 or function.id in functions:
            raise ProfileFormatError(f"{name}: malformed profile: function id {function.id} reserved or repeated")
        functions[function.id] = (string(function.name), string(function.filename))
    locations: dict[int, ProfileLocation] = {}
    for location in profile.location:
        if location.id == 0 or location.id in locations:
            raise ProfileFormatError(f"{name}: malformed profile: location id {location.id} reserved or repeated")
        frames = []
        for line in location.line:
            function = functions.get(line.function_id)
            if function is not None:  # pprof prints "??" for a line without a function: no frame
                frames.append(ProfileFrame(function[0], function[1], line.line, line.column or None))
        locations[location.id] = ProfileLocation(location.id, location.address, tuple(frames))
    return locations


def _sizes_from_columns(keys: list[int], nums: list[int], size_key: int | None, samples: int) -> list[int | None]:
    """Each sample's object size from the label columns, where a separator (key 0) starts each sample's
    labels: its first `bytes` label's number, None for none (or for a number of 0, a label pprof drops,
    or a negative one, which the `-raw` text's "bytes:[-N]" names no size by)."""
    # Go's heap profiles: one `bytes` label per sample, none on a sample that allocated nothing. Then
    # the label after each separator is the sample's one label, picked out in C by itertools.compress.
    starts = list(map(not_, keys))
    first_keys = list(compress(chain(islice(keys, 1, None), (0,)), starts))
    without = first_keys.count(0)
    if len(keys) - samples == samples - without and first_keys.count(size_key) == samples - without:
        first_nums = list(compress(chain(islice(nums, 1, None), (0,)), starts))
        return first_nums if min(first_nums, default=1) > 0 else [num if num > 0 else None for num in first_nums]
    sizes: list[int | None] = []
    append = sizes.append
    size = None
    found = started = False
    for key, num in zip(keys, nums):
        if key == 0:
            if started:
                append(size)
            started = True
            size, found = None, False
        elif key == size_key and not found and num != 0:
            size, found = (num if num > 0 else None), True
    if started:
        append(size)
    return sizes


def _size_of(labels, size_key: int | None) -> int | None:
    """The object size of one sample as pprof reads it: its first `bytes` number label."""
    for label in labels:
        # pprof: a label with a string is a string label; one with neither number nor unit is dropped.
        if label.key == size_key and not label.str and (label.num or label.num_unit):
            return label.num if label.num > 0 else None
    return None


def _group(groups: dict, firsts: list[int], sizes: list[int | None], by_type: list[list[int]]) -> None:
    """Add samples to `groups` by (first location, object size): the values of each type, and a count."""
    get = groups.get
    keys = zip(firsts, sizes)
    if len(by_type) == 4:  # Go's heap profiles: alloc_objects, alloc_space, inuse_objects, inuse_space
        for key, a, b, c, d in zip(keys, *by_type):
            total = get(key)
            if total is None:
                groups[key] = [a, b, c, d, 1]
            else:
                total[0] += a
                total[1] += b
                total[2] += c
                total[3] += d
                total[4] += 1
        return
    # Any other number of sample types: the text reader's way, a sample at a time.
    for key, sample in zip(keys, zip(*by_type)):
        add_to_group(groups, key, sample)


def _go_time(nanos: int) -> str:
    """`time.Unix(0, nanos)` as Go's `%v` prints it (pprof's "Time:" line), in the local time zone."""
    seconds, fraction = divmod(nanos, 10**9)
    moment = datetime.fromtimestamp(seconds).astimezone()
    digits = f".{fraction:09d}".rstrip("0") if fraction else ""
    return f"{moment:%Y-%m-%d %H:%M:%S}{digits} {moment:%z} {moment.tzname()}"


def _go_duration(nanos: int) -> str:
    """Go's time.Duration.String(); pprof's "Duration:" line prints its first 4 characters (`%.4v`)."""
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 10**9:
        for unit, scale in (("ns", 1), ("µs", 10**3), ("ms", 10**6)):
            if nanos < scale * 1000:
                whole, rest = divmod(nanos, scale)
                digits = f".{rest:0{len(str(scale)) - 1}d}".rstrip("0") if rest else ""
                return f"{sign}{whole}{digits}{unit}" if nanos else "0s"
    seconds, rest = divmod(nanos, 10**9)
    text = f"{seconds % 60}" + (f".{rest:09d}".rstrip("0") if rest else "") + "s"
    minutes = seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        if minutes // 60:
            text = f"{minutes // 60}h{text}"
    return sign + text
