"""The per-package result cache: the reports are the same, byte for byte, without it, cold and warm,
and it never trusts what it should not (escapelint/workflows/cache.py).

Inputs are the recorded fixtures (fixtures/recorded) and the bundled modules' sources; the damaged
entries, and an input moved down by blank lines, are made here from them on purpose.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from escapelint.read.classifier import LineClassifier
from escapelint.read.input import WindowLines, file_snapshot
from escapelint.workflows import cache as cache_module
from escapelint.workflows import parallel
from escapelint.workflows.blocks import read_block
from escapelint.workflows.cache import FINDINGS, JSON, RecordingSourceLocator, ResultCache, block_digest, context_for
from escapelint.workflows.cache import default_directory, verify_entry
from escapelint.workflows.report import report

from .conftest import MODULES, module_of, recorded_files, toolchain_or_skip

FORMATS = ("json", "sarif", "md", "html", "github")
#: When a report was made (the HTML and Markdown indexes' time, SARIF's endTimeUtc): the only bytes that may differ.
_GENERATED = re.compile(rb'<time datetime="[^"]*">[^<]*</time>|"endTimeUtc": "[^"]*"|\| Generated \| [^|]*\|')


def _outputs(directory: Path) -> dict[str, bytes]:
    """Every file of a run's outputs, the time each was made left out."""
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and ".escapelint-report" not in path.name:
            found[str(path.relative_to(directory))] = _GENERATED.sub(b"<time>", path.read_bytes())
    return found


def _run(source: Path, out: Path, root: Path, cache: ResultCache | None, *, jobs: int = 1, formats=FORMATS) -> dict:
    targets = [(name, out / name) for name in formats]
    result = report(str(source), targets, source_root=root, jobs=jobs, cache=cache)
    assert result.cache_problem is None
    return _outputs(out)


def _fresh_cache(tmp_path: Path, name: str = "cache") -> ResultCache:
    cache = ResultCache.open(tmp_path / name)
    assert cache is not None and cache.on
    return cache


@pytest.mark.parametrize("recording", recorded_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_recorded_fixture_reports_the_same_without_the_cache_cold_and_warm(tmp_path, recording):
    root = module_of(recording)
    plain = _run(recording, tmp_path / "plain", root, None)
    cold_cache = _fresh_cache(tmp_path)
    cold = _run(recording, tmp_path / "cold", root, cold_cache)
    assert cold_cache.stored > 0, "the cold run stored nothing: the test proves nothing"
    warm_cache = _fresh_cache(tmp_path)
    warm = _run(recording, tmp_path / "warm", root, warm_cache)
    assert warm_cache.stored == 0, "the warm run analysed again"
    assert cold == plain
    assert warm == plain


def test_workers_read_through_the_cache_with_the_same_result(tmp_path, monkeypatch):
    """Every recorded fixture in one input, cut into one window per package, cold and warm."""
    if not parallel.can_fork():
        pytest.skip("parallel reading needs fork()")
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_WINDOW_BYTES", 1)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    source = tmp_path / "all.txt"
    source.write_bytes(b"".join(path.read_bytes() for path in recorded_files("*.m2.txt")))
    root = MODULES / "example"
    plain = _run(source, tmp_path / "plain", root, None, jobs=1)
    cold = _run(source, tmp_path / "cold", root, _fresh_cache(tmp_path), jobs=2)
    warm_cache = _fresh_cache(tmp_path)
    warm = _run(source, tmp_path / "warm", root, warm_cache, jobs=2)
    assert cold == plain
    assert warm == plain
    assert not any(scratch.iterdir()), "fragments were left behind"


@pytest.mark.parametrize("jobs", [1, 2])
def test_misses_before_hits_and_after_the_last_one_start_at_the_right_lines(tmp_path, monkeypatch, jobs):
    """A blank line added at the end of a block in the middle and of the last block: the first moves
    the lines of the hits after it (counted in the look-up), the last block is a miss after every hit
    (counted from the nearest known line where it is read)."""
    if jobs > 1 and not parallel.can_fork():
        pytest.skip("parallel reading needs fork()")
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    recordings = recorded_files("*.m2.txt")
    texts = [path.read_bytes() for path in recordings]
    source = tmp_path / "all.txt"
    source.write_bytes(b"".join(texts))
    root = MODULES / "example"
    cache = _fresh_cache(tmp_path)
    _run(source, tmp_path / "first", root, cache, jobs=jobs)
    middle = len(texts) // 2
    texts[middle] = b"\n" + texts[middle]  # the block before it ends in one more line
    texts[-1] += b"\n"
    source.write_bytes(b"".join(texts))
    plain = _run(source, tmp_path / "plain", root, None, jobs=1)
    warm_cache = _fresh_cache(tmp_path)
    assert _run(source, tmp_path / "warm", root, warm_cache, jobs=jobs) == plain
    assert 2 <= warm_cache.stored <= 4, "not a mix of hits and misses: the test proves nothing"


def test_a_block_found_further_down_the_input_has_its_line_numbers_moved(tmp_path):
    """The same packages after 7 more lines (blank, on purpose): every line number is moved, none kept."""
    recording = recorded_files("example.m2.txt")[-1]
    root = module_of(recording)
    cache = _fresh_cache(tmp_path)
    _run(recording, tmp_path / "first", root, cache)
    moved = tmp_path / "moved.txt"
    moved.write_bytes(b"\n" * 7 + recording.read_bytes())
    plain = _run(moved, tmp_path / "plain", root, None)
    warm_cache = _fresh_cache(tmp_path)
    warm = _run(moved, tmp_path / "warm", root, warm_cache)
    assert warm == plain
    # Only the blank lines' own block (before the first header) was new.
    assert warm_cache.stored <= 2


def _entries(cache: ResultCache) -> list[Path]:
    return sorted(path for path, _ in cache.entries())


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "foreign key", "empty", "other format"])
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path, damage):
    recording = recorded_files("example.m2.txt")[-1]
    root = module_of(recording)
    plain = _run(recording, tmp_path / "plain", root, None)
    cache = _fresh_cache(tmp_path)
    _run(recording, tmp_path / "cold", root, cache)
    entries = _entries(cache)
    biggest = max(entries, key=lambda p: p.stat().st_size)
    data = bytearray(biggest.read_bytes())
    if damage == "flipped byte":
        data[len(data) // 3] ^= 0x20
    elif damage == "truncated":
        del data[len(data) // 2 :]
    elif damage == "foreign key":  # another block's entry under this name
        other = next(p for p in entries if p != biggest and p.name.endswith(biggest.name[64:]))
        data = bytearray(other.read_bytes())
    elif damage == "empty":
        data = bytearray()
    else:
        data = data.replace(b'"format": %d' % cache_module.FORMAT, b'"format": 99')
    biggest.write_bytes(bytes(data))
    key, kind = biggest.name[:64], biggest.name[65:]
    assert verify_entry(biggest, key, kind) is None
    warm_cache = _fresh_cache(tmp_path)
    warm = _run(recording, tmp_path / "warm", root, warm_cache)
    assert warm == plain
    assert warm_cache.stored >= 1, "the damaged entry was not rewritten"
    entry = verify_entry(biggest, key, kind)
    assert entry is not None
    entry.close()


def test_a_changed_source_file_is_a_miss(tmp_path):
    """The rules read the package's files: changing one makes its packages' entries stale."""
    recording = recorded_files("example.m2.txt")[-1]
    root = tmp_path / "module"
    shutil.copytree(module_of(recording), root)
    cache = _fresh_cache(tmp_path)
    _run(recording, tmp_path / "cold", root, cache)
    unchanged = _fresh_cache(tmp_path)
    _run(recording, tmp_path / "again", root, unchanged)
    assert unchanged.stored == 0
    go_file = sorted(root.rglob("*.go"))[0]
    go_file.write_text(go_file.read_text(encoding="utf-8") + "\n// touched\n", encoding="utf-8")
    changed = _fresh_cache(tmp_path)
    warm = _run(recording, tmp_path / "changed", root, changed)
    assert changed.stored >= 1, "a changed source file was not noticed"
    assert warm == _run(recording, tmp_path / "plain", root, None)


def test_two_checkouts_of_one_module_share_their_entries(tmp_path):
    """Relative file names are dependencies under the source root: another copy of the same files hits."""
    recording = recorded_files("example.m2.txt")[-1]
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(module_of(recording), first)
    shutil.copytree(module_of(recording), second)
    _run(recording, tmp_path / "one", first, _fresh_cache(tmp_path))
    other = _fresh_cache(tmp_path)
    shared = _run(recording, tmp_path / "two", second, other)
    assert other.stored == 0
    assert shared == _run(recording, tmp_path / "plain", second, None)


def test_a_full_disk_turns_the_cache_off_once_and_the_reports_are_the_same(tmp_path, monkeypatch):
    recording = recorded_files("example.m2.txt")[-1]
    root = module_of(recording)
    plain = _run(recording, tmp_path / "plain", root, None)
    calls = []

    def full(*args, **kwargs):
        calls.append(args)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    cache = _fresh_cache(tmp_path)
    monkeypatch.setattr(cache_module, "_move_in", full)
    targets = [(name, tmp_path / "full" / name) for name in FORMATS]
    result = report(str(recording), targets, source_root=root, cache=cache)
    assert _outputs(tmp_path / "full") == plain
    assert result.cache_problem is not None and "No space left on device" in result.cache_problem
    assert len(calls) == 1, "the cache went on trying after the disk was full"
    assert not list((tmp_path / "cache" / "tmp").iterdir()), "temporary entries were left behind"


@pytest.mark.parametrize("how", ["a file where the directory goes", "read-only"])
def test_a_cache_that_cannot_be_written_is_off_and_says_so(tmp_path, how):
    if how == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only directory")
        where = tmp_path / "ro"
        where.mkdir()
        where.chmod(0o500)
    else:
        (tmp_path / "file").write_text("not a directory")
        where = tmp_path / "file" / "cache"
    try:
        cache = ResultCache.open(where)
        assert cache is not None and not cache.on
        assert str(where) in cache.problem
        recording = recorded_files("example.m2.txt")[-1]
        root = module_of(recording)
        result = report(str(recording), [("json", tmp_path / "r.json")], source_root=root, cache=cache)
        assert result.cache_problem == cache.problem
        report(str(recording), [("json", tmp_path / "plain.json")], source_root=root)
        assert (tmp_path / "r.json").read_bytes() == (tmp_path / "plain.json").read_bytes()
    finally:
        if how == "read-only":
            where.chmod(0o700)


def _cli(*args: str, cache: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, ESCAPELINT_CACHE=str(cache))
    return subprocess.run(
        [sys.executable, "-m", "escapelint", *args], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )


def test_the_command_line_says_once_that_the_cache_is_off(tmp_path):
    recording = recorded_files("example.m2.txt")[-1]
    (tmp_path / "file").write_text("x")
    result = _cli("report", str(recording), "-o", str(tmp_path / "r.json"), "-q", cache=tmp_path / "file" / "c")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("escapelint: warning: the result cache is off for this run") == 1, result.stderr


def test_no_cache_neither_reads_nor_fills_it_and_cache_info_and_clean(tmp_path):
    recording = recorded_files("example.m2.txt")[-1]
    where = tmp_path / "cache"
    args = ("report", str(recording), "--source-root", str(module_of(recording)), "-q")
    assert _cli(*args, "-o", str(tmp_path / "a.json"), "--no-cache", cache=where).returncode == 0
    assert not where.exists()
    assert _cli(*args, "-o", str(tmp_path / "b.json"), cache=where).returncode == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    info = _cli("cache", "info", cache=where)
    assert info.returncode == 0
    assert f"directory: {where}" in info.stdout
    entries = int(re.search(r"entries:\s+(\d+)", info.stdout).group(1))
    assert entries >= 2
    (where / "mine.txt").write_text("not escapelint's")
    clean = _cli("cache", "clean", cache=where)
    assert clean.returncode == 0
    assert f"removed {entries} cache entries" in clean.stderr
    assert "entries:   0" in _cli("cache", "info", cache=where).stdout
    assert (where / "mine.txt").read_text() == "not escapelint's"
    off = _cli("cache", "info", cache=Path("off"))
    assert off.returncode == 2 and off.stderr.startswith("escapelint: error: the result cache is off")


def test_the_default_cache_is_beside_the_toolchains_and_clean_leaves_them(tmp_path, monkeypatch):
    home = tmp_path / "home"
    toolchain = home / ".cache" / "escapelint" / "toolchains" / "1.0" / "go" / "VERSION"
    toolchain.parent.mkdir(parents=True)
    toolchain.write_text("go1.0")
    environ = {"HOME": str(home)}
    monkeypatch.setenv("HOME", str(home))
    directory = default_directory(environ)
    if sys.platform.startswith("linux"):
        assert directory == home / ".cache" / "escapelint" / "results"
    assert default_directory({"ESCAPELINT_CACHE": "off"}) is None
    assert default_directory({"ESCAPELINT_CACHE": str(tmp_path / "x")}) == tmp_path / "x"
    cache = ResultCache.open(directory)
    recording = recorded_files("example.m2.txt")[-1]
    report(str(recording), [("json", tmp_path / "r.json")], source_root=module_of(recording), cache=cache)
    assert cache.clean() >= 1
    assert toolchain.read_text() == "go1.0"


def test_trimming_removes_the_least_recently_used_and_keeps_what_was_just_used(tmp_path):
    recording = recorded_files("example.m2.txt")[-1]
    root = module_of(recording)
    cache = _fresh_cache(tmp_path)
    _run(recording, tmp_path / "a", root, cache)
    entries = _entries(cache)
    assert len(entries) >= 2
    total = sum(p.stat().st_size for p in entries)
    old = entries[0]
    os.utime(old, (1, 1))  # used long ago
    small = ResultCache(cache.directory, limit=total - 1)
    assert small.trim() == 1, "only the entry not used recently may go"
    assert not old.exists()
    assert all(p.exists() for p in entries[1:])
    assert ResultCache(cache.directory, limit=1).trim(now=10**10) == len(entries) - 1  # much later, all are old


def test_two_processes_filling_the_cache_at_once_write_whole_entries(tmp_path):
    recording = recorded_files("example.m2.txt")[-1]
    where = tmp_path / "cache"
    args = ["report", str(recording), "--source-root", str(module_of(recording)), "-q", "--format", "json", "--format", "sarif"]
    env = dict(os.environ, ESCAPELINT_CACHE=str(where))
    children = [
        subprocess.Popen([sys.executable, "-m", "escapelint", *args, "-o", str(tmp_path / f"out{n}")], env=env)
        for n in range(3)
    ]
    assert [child.wait() for child in children] == [0, 0, 0]
    outputs = [_outputs(tmp_path / f"out{n}") for n in range(3)]
    assert outputs[0] == outputs[1] == outputs[2]
    cache = ResultCache(where, limit=1 << 30)
    for path in _entries(cache):
        entry = verify_entry(path, path.name[:64], path.name[65:])
        assert entry is not None, f"{path} is not a whole entry"
        entry.close()
    assert not list((where / "tmp").iterdir())


def test_the_tests_never_use_the_users_cache():
    """tests/conftest.py points every test, and every escapelint it starts, at a cache of its own."""
    where = Path(os.environ["ESCAPELINT_CACHE"])
    assert where != default_directory({"HOME": str(Path.home())})
    assert Path(os.path.realpath(where)).is_relative_to(os.path.realpath(os.environ.get("TMPDIR", "/tmp")))


@pytest.mark.toolchain
def test_a_build_escapelint_runs_reads_the_same_through_the_cache(tmp_path):
    """audit and baseline on a copy of the example module: no cache, cold and warm give the same files."""
    toolchain = toolchain_or_skip("1.27.3")
    module = tmp_path / "example"
    shutil.copytree(MODULES / "example", module)
    env = dict(toolchain.env(), ESCAPELINT_CACHE=str(tmp_path / "cache"), GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "escapelint", *args], cwd=module, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    outputs = []
    for name, extra in (("plain", ["--no-cache"]), ("cold", []), ("warm", [])):
        run("audit", "-q", "--format", f"json:{tmp_path / name}.json", "--format", f"md:{tmp_path / name}-md",
            "--format", f"sarif:{tmp_path / name}.sarif", *extra)  # fmt: skip
        run("baseline", "-q", "-o", str(tmp_path / f"{name}-baseline.json"), *extra)
        sarif = _GENERATED.sub(b"", (tmp_path / f"{name}.sarif").read_bytes())
        outputs.append([(tmp_path / f"{name}.json").read_bytes(), sarif,
                        _outputs(tmp_path / f"{name}-md"), (tmp_path / f"{name}-baseline.json").read_bytes()])  # fmt: skip
    assert outputs[1] == outputs[0]
    assert outputs[2] == outputs[0]
    assert any((tmp_path / "cache" / "entries").rglob("*-findings"))


@pytest.mark.slow
@pytest.mark.toolchain
def test_the_standard_library_reports_the_same_without_the_cache_cold_and_warm(tmp_path):
    """Go 1.22.10's std (2.2 million lines): with workers, cold, warm, and warm with every package moved."""
    from scripts.check_std import build_std

    toolchain = toolchain_or_skip("1.22.10")
    source = tmp_path / "std.txt"
    assert build_std(toolchain, source).exit_code == 0
    plain, cold, warm, moved, moved_plain = (tmp_path / f"{n}.json" for n in ("plain", "cold", "warm", "moved", "mp"))
    report(str(source), [("json", plain)], source_root=tmp_path)
    report(str(source), [("json", cold)], source_root=tmp_path, cache=_fresh_cache(tmp_path))
    warm_cache = _fresh_cache(tmp_path)
    report(str(source), [("json", warm)], source_root=tmp_path, cache=warm_cache)
    assert warm_cache.stored == 0
    assert cold.read_bytes() == plain.read_bytes()
    assert warm.read_bytes() == plain.read_bytes()
    shifted = tmp_path / "shifted.txt"
    with shifted.open("wb") as out:
        out.write(b"\n\n\n")
        with source.open("rb") as original:
            shutil.copyfileobj(original, out)
    report(str(shifted), [("json", moved_plain)], source_root=tmp_path)
    report(str(shifted), [("json", moved)], source_root=tmp_path, cache=_fresh_cache(tmp_path))
    assert moved.read_bytes() == moved_plain.read_bytes()


def test_an_imported_struct_type_read_for_a_selector_is_a_dependency(tmp_path):
    """`st.Keys` with `st store.Stats`: whether Keys is a field or a method is read from package
    store's files (PackageSource.members_of), so they are dependencies of the verdict, like the
    package's own files; they were read around the recorder once."""
    from escapelint.workflows.cache import Dependencies

    root = MODULES / "leaks"
    sources = RecordingSourceLocator(root, Dependencies())
    source = sources.read({"./selectors.go"})
    sources.take()
    assert source.members_of("./selectors.go", "store.Stats") == ({"Keys", "Bytes"}, frozenset())
    noted = {(d.kind, d.name) for d in sources.take()}
    # Named under the root, as the package's own files are: another copy of the module hits.
    assert {("dir", "store"), ("file", "store/store.go")} <= noted


def test_a_callee_analysis_kept_from_an_earlier_block_still_lists_what_it_read(tmp_path):
    """A callee package's analysis outlives the block that made it (escapelint.analyze.findings keeps
    it for later blocks); each block that follows a value into it must still list the callee's files
    as dependencies, or a changed callee would leave its callers' entries wrongly current."""
    recording = recorded_files("leaks.m2.txt")[-1]
    root = module_of(recording)
    leaks = parallel.build_wide_leaks(recording)
    blocks = parallel.plan_windows(recording, min_window_bytes=0)
    classifier = LineClassifier()

    def dependencies(cache: ResultCache) -> dict[int, set]:
        found = {}
        sources = RecordingSourceLocator(root, cache.dependencies)
        context = context_for(sources, "universal")
        fragments = tmp_path / f"fragments-{len(os.listdir(tmp_path))}"
        fragments.mkdir()
        for index, block in enumerate(blocks):
            digest = block_digest(recording, block.start, block.end)
            result = read_block(
                lambda block=block: WindowLines(recording, block.start, block.end), digest, 1,
                cache=cache, context=context, sources=sources, classifier=classifier,
                fragments=fragments, want_findings=True, leaks=leaks,
            )  # fmt: skip
            assert not result.hit
            key = context.key(digest)
            entries = [verify_entry(cache.entry_path(key, kind), key, kind) for kind in (JSON, FINDINGS)]
            assert all(entries)
            found[index] = {d for d in entries[0].meta.dependencies}
            assert found[index] == {d for d in entries[1].meta.dependencies}
            for entry in entries:
                entry.close()
        return found

    first = dependencies(_fresh_cache(tmp_path, "first"))
    assert leaks.analyses, "no value was followed into another package: the test proves nothing"
    callee_files = {d.name for deps in first.values() for d in deps if d.kind == "file" and "store/" in d.name}
    assert callee_files, "the caller's entry does not list the callee's source"
    # The same blocks again, into another cache: the callee's analysis is the one the first pass made.
    again = dependencies(_fresh_cache(tmp_path, "again"))
    assert again == first


def test_a_warm_run_takes_every_package_identity_from_the_cache_and_never_scans_the_file(tmp_path, monkeypatch):
    """Every block a hit: the leak table's identities come from the entries (BlockMeta.leak_identities)."""
    from escapelint.workflows import cached_read

    recording = recorded_files("leaks.m2.txt")[-1]
    root = module_of(recording)
    plain = _run(recording, tmp_path / "plain", root, None, formats=("json", "md"))
    _run(recording, tmp_path / "cold", root, _fresh_cache(tmp_path), formats=("json", "md"))

    def scan(_source):
        raise AssertionError("the file was scanned for leaks although every block is in the cache")

    monkeypatch.setattr(cached_read, "build_wide_leaks", scan)
    warm_cache = _fresh_cache(tmp_path)
    assert _run(recording, tmp_path / "warm", root, warm_cache, formats=("json", "md")) == plain
    assert warm_cache.stored == 0


def _without_lines(recording: Path, out: Path, drop) -> Path:
    """The recording with some lines left out on purpose (`drop(number, line)`): a derived input."""
    lines = recording.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(line for number, line in enumerate(lines, 1) if not drop(number, line)))
    return out


@pytest.mark.parametrize("change", ["callee package left out", "callee's leak flow left out"])
def test_a_caller_whose_callee_changed_is_made_again(tmp_path, change):
    """The leaks package follows values into store.Keep. Its entry stays the same bytes when store's
    output changes (or store is not in the build at all), but its verdicts do not: it is made again,
    whether the changed identity is known from the entries (store gone, every other block a hit) or
    from the file (store's block changed, a miss)."""
    recording = recorded_files("leaks.m2.txt")[-1]
    root = module_of(recording)
    header = recording.read_bytes().splitlines().index(b"# example.com/escapelint/leaks") + 1
    if change == "callee package left out":
        changed = _without_lines(recording, tmp_path / "changed.txt", lambda number, _: number < header)
    else:
        changed = _without_lines(
            recording, tmp_path / "changed.txt", lambda number, line: number < header and b"store.go:10:11:  " in line
        )
    plain = _run(changed, tmp_path / "plain", root, None)
    assert plain != _run(recording, tmp_path / "before", root, None), "the change changes nothing: the test proves nothing"
    cache = _fresh_cache(tmp_path)
    _run(recording, tmp_path / "cold", root, cache)
    warm_cache = _fresh_cache(tmp_path)
    assert _run(changed, tmp_path / "warm", root, warm_cache) == plain
    assert warm_cache.stored >= 1


@pytest.mark.parametrize("piece", [64, 100, 4096])
def test_a_block_streamed_a_line_at_a_time_has_the_digest_of_the_same_bytes_in_a_file(tmp_path, monkeypatch, piece):
    """A `go build` pipe is hashed a line at a time (BlockHasher.update), a file in pieces, by threads
    (piece_digest): the two must agree, also where a line ends exactly at a piece's end."""
    monkeypatch.setattr(cache_module, "PIECE", piece)
    recording = recorded_files("example.m2.txt")[-1]
    data = recording.read_bytes()
    data += b"x" * (-len(data) % piece)  # the last piece full too
    source = tmp_path / "block.txt"
    source.write_bytes(data)
    streamed = cache_module.BlockHasher()
    for line in data.splitlines(keepends=True):
        streamed.update(line)
    assert streamed.hexdigest() == cache_module.block_digest(source, 0, len(data))
    assert len(cache_module.piece_spans(0, len(data))) == len(data) // piece
    # A block that starts anywhere in the file (mapped from the page before it).
    assert len(data) > 8192
    later = cache_module.BlockHasher()
    later.update(data[4099:])
    assert later.hexdigest() == cache_module.block_digest(source, 4099, len(data))


def test_entries_that_vanish_after_the_look_up_are_made_after_all_with_the_leak_table(tmp_path, monkeypatch):
    """Another run may replace or trim an entry between the look-up and its use: the block is then
    made, and it still follows values into other packages (the leak table is built when needed)."""
    from escapelint.workflows import cached_read

    recording = recorded_files("leaks.m2.txt")[-1]
    root = module_of(recording)
    plain = _run(recording, tmp_path / "plain", root, None)
    _run(recording, tmp_path / "cold", root, _fresh_cache(tmp_path))
    real_plan = cached_read.plan

    def plan_then_clean(settings, *rest):
        plans = real_plan(settings, *rest)
        assert all(p.meta is not None for p in plans), "not every block was found: the test proves nothing"
        settings.cache.clean()  # what another run's `cache clean` or trimming does meanwhile
        return plans

    monkeypatch.setattr(cached_read, "plan", plan_then_clean)
    again = _fresh_cache(tmp_path)
    assert _run(recording, tmp_path / "again", root, again) == plain
    assert again.stored > 0, "nothing was made after all: the test proves nothing"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_rewritten_after_its_look_up_is_an_error_and_files_nothing_under_the_old_digests(tmp_path, monkeypatch, jobs):
    """`go build ... > out.txt` run again while the report reads out.txt: the blocks looked up are
    not the bytes read, so nothing read is stored (it would be filed under the digest of bytes that are gone)."""
    from escapelint.read.input import InputError
    from escapelint.workflows import cached_read

    if jobs > 1 and not parallel.can_fork():
        pytest.skip("parallel reading needs fork()")
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    recordings = recorded_files("*.m2.txt")
    source = tmp_path / "all.txt"
    source.write_bytes(b"".join(path.read_bytes() for path in recordings))
    real_plan = cached_read.plan

    def plan_then_rewrite(settings, *rest):
        plans = real_plan(settings, *rest)
        source.write_bytes(recordings[0].read_bytes())  # truncated and written again, shorter
        return plans

    monkeypatch.setattr(cached_read, "plan", plan_then_rewrite)
    cache = _fresh_cache(tmp_path)
    with pytest.raises(InputError, match="changed while it was read"):
        _run(source, tmp_path / "out", MODULES / "example", cache, jobs=jobs)
    assert not _entries(cache), "an entry was stored from the rewritten file"


def test_a_file_truncated_while_it_is_hashed_is_an_error_not_a_crash(tmp_path, monkeypatch):
    """The look-up hashes the file a piece at a time; truncated meanwhile (`go build ... > out.txt`
    again), it is an InputError. The pieces are read, not mapped: a mapped page the file no longer
    holds would kill the process with SIGBUS (and mapping past its end was a ValueError)."""
    from escapelint.read.input import InputError
    from escapelint.workflows import cached_read

    recordings = recorded_files("*.m2.txt")
    source = tmp_path / "all.txt"
    source.write_bytes(b"".join(path.read_bytes() for path in recordings))
    real_plan_windows = cached_read.plan_windows

    def cut_then_truncate(path, *rest, **options):
        blocks = real_plan_windows(path, *rest, **options)
        os.truncate(source, blocks[0].end)  # the first block is all that is left
        return blocks

    monkeypatch.setattr(cached_read, "plan_windows", cut_then_truncate)
    cache = _fresh_cache(tmp_path)
    with pytest.raises(InputError, match="changed while it was read"):
        _run(source, tmp_path / "out", MODULES / "example", cache)
    assert not _entries(cache)


def _blocks_line_by_line(data: bytes) -> list[bytes]:
    """The oracle: a pipe's blocks cut a line at a time, at each line the reader takes for a package
    header but the first (how pipe_blocks cut them before it took pieces)."""
    from escapelint.read.messages import PackageHeader

    classifier = LineClassifier()
    blocks: list[bytes] = []
    for line in re.split(b"(?<=\n)", data):
        if not line:
            continue
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if blocks and line.startswith(b"#") and isinstance(classifier.classify(text)[1], PackageHeader):
            blocks.append(b"")
        if not blocks:
            blocks.append(b"")
        blocks[-1] += line
    return blocks


# Hand-made, deliberately odd input besides a real recording: "#" inside lines and at the end, CRLF
# and lone CR, a header first, a header as the last line without its line end.
_ODD_PIPE = (
    b"# example.com/a\n./a.go:1:2: x escapes to heap\n#notaheader\n x # example.com/not\n"
    b"# example.com/b\r\n./b.go:3:4: moved to heap: y\r./b.go:5:6: #\n##\n# example.com/c"
)


@pytest.mark.parametrize("piece", [1, 2, 7, 4096, 1 << 20])
def test_a_pipe_read_in_pieces_is_cut_into_the_blocks_a_line_by_line_read_gives(piece, tmp_path):
    from escapelint.workflows.blocks import pipe_blocks
    from escapelint.workflows.cache import BlockHasher

    for data in (recorded_files("leaks.m2.txt")[-1].read_bytes(), _ODD_PIPE):
        expected = _blocks_line_by_line(data)
        assert len(expected) > 2
        chunks = (data[at : at + piece] for at in range(0, len(data), piece))
        found = []
        for digest, spool in pipe_blocks(chunks, LineClassifier(), tmp_path):
            with spool:
                text = spool.read()
            hasher = BlockHasher()
            hasher.update(text)
            assert digest == hasher.hexdigest()
            found.append(text)
        assert found == expected


# --- an input file's block digests, kept for the next run on the same file (ResultCache.known_blocks)


def _count_cuts(monkeypatch) -> list[int]:
    """How many times the look-up cuts a file into blocks (and so hashes it), one element a time."""
    from escapelint.workflows import cached_read

    calls: list[int] = []
    real = cached_read.plan_windows

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cached_read, "plan_windows", counted)
    return calls


def test_a_file_seen_unchanged_is_not_hashed_again_and_reports_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_SETTLED_NS", 0)  # the file was just written: no wait for it to settle
    recording = recorded_files("example.m2.txt")[-1]
    root = module_of(recording)
    source = tmp_path / "out.txt"
    source.write_bytes(recording.read_bytes())
    plain = _run(source, tmp_path / "plain", root, None)
    cuts = _count_cuts(monkeypatch)
    cache = _fresh_cache(tmp_path)
    assert _run(source, tmp_path / "cold", root, cache) == plain
    assert _run(source, tmp_path / "warm", root, _fresh_cache(tmp_path)) == plain
    assert len(cuts) == 1, "the second run cut and hashed the file again"
    # Written again with other bytes of the same size: its change time moves, the digests are not trusted.
    data = bytearray(source.read_bytes())
    data[data.index(b"escapes to heap")] = ord("E")
    time.sleep(0.05)  # past a tick of the file system's clock
    source.write_bytes(bytes(data))
    changed_plain = _run(source, tmp_path / "changed-plain", root, None)
    assert _run(source, tmp_path / "changed", root, _fresh_cache(tmp_path)) == changed_plain != plain
    assert len(cuts) == 2


def test_a_file_written_just_before_its_look_up_is_hashed_every_time(tmp_path, monkeypatch):
    """Racily clean: a write in the same tick of the file system's clock would leave its times as they
    were, so a file that changed less than 2 s before it was looked at is not remembered."""
    recording = recorded_files("example.m2.txt")[-1]
    source = tmp_path / "out.txt"
    source.write_bytes(recording.read_bytes())
    cuts = _count_cuts(monkeypatch)
    for name in ("first", "second"):
        _run(source, tmp_path / name, module_of(recording), _fresh_cache(tmp_path))
    assert len(cuts) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other code"])
def test_a_damaged_record_of_an_input_is_ignored_and_written_again(tmp_path, monkeypatch, damage):
    monkeypatch.setattr(cache_module, "_SETTLED_NS", 0)
    recording = recorded_files("example.m2.txt")[-1]
    root = module_of(recording)
    source = tmp_path / "out.txt"
    source.write_bytes(recording.read_bytes())
    plain = _run(source, tmp_path / "plain", root, None)
    _run(source, tmp_path / "cold", root, _fresh_cache(tmp_path))
    (record,) = (tmp_path / "cache" / "inputs").iterdir()
    data = record.read_bytes()
    if damage == "garbage":
        record.write_bytes(b"\0" * len(data))
    elif damage == "truncated":
        record.write_bytes(data[: len(data) // 2])
    else:  # a record made by other code: checked whole, but not this code's
        monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "other")
    cuts = _count_cuts(monkeypatch)
    assert _run(source, tmp_path / "again", root, _fresh_cache(tmp_path)) == plain
    assert len(cuts) == 1
    if damage != "other code":
        assert _fresh_cache(tmp_path).known_blocks(source, file_snapshot(source)) is not None, "not written again"


def test_clean_removes_the_records_of_inputs(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_SETTLED_NS", 0)
    recording = recorded_files("example.m2.txt")[-1]
    source = tmp_path / "out.txt"
    source.write_bytes(recording.read_bytes())
    cache = _fresh_cache(tmp_path)
    _run(source, tmp_path / "cold", module_of(recording), cache)
    assert any((tmp_path / "cache" / "inputs").iterdir())
    cache.clean()
    assert not any((tmp_path / "cache" / "inputs").iterdir())


def test_a_warm_run_copies_the_json_from_the_entries_themselves(tmp_path, monkeypatch):
    """A hit whose lines did not move, in the process that writes the report: copied from the entry
    checked, open, with no link into the run's directory to make and remove."""
    recording = recorded_files("example.m2.txt")[-1]
    root = module_of(recording)
    plain = _run(recording, tmp_path / "plain", root, None)
    _run(recording, tmp_path / "cold", root, _fresh_cache(tmp_path))
    links: list[str] = []
    real_link = os.link
    monkeypatch.setattr(os, "link", lambda *args, **kwargs: links.append(args[0]) or real_link(*args, **kwargs))
    assert _run(recording, tmp_path / "warm", root, _fresh_cache(tmp_path)) == plain
    assert not links
