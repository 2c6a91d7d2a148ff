"""A file of build output read through the result cache: every block looked up first, then only the work that is left.

A block's results may depend on other packages' output: a value followed into a callee of an earlier
package (escapelint.analyze.leaks) makes that package's leak explanations a dependency of the entry
("package" dependencies, each with the identity it had). Checking them needs the identity of every
package in the file. Those identities are in the cache as well: each entry stores its own block's
(BlockMeta.leak_identities). So the read goes in two steps:

1. **Look up** every block (`plan`): its digest, its entries (checked whole, with the source files
   they depend on), and where its lines start. Two threads do it, since hashing, checksums and
   reading give up the interpreter lock; the file is never decoded here. A hit's line count is in
   its meta; a miss's lines are counted here only when a hit comes after it (whose lines may have
   moved), else by the process that reads the miss, from the nearest line number known by then.
2. **Decide and do** (`read_cached`). When every block has an entry, the identities come from the
   metas and the file is never scanned for leaks; otherwise the leak table is built from the file
   (escapelint.read.leak_scan) as before. A block whose entry holds and whose "package" dependencies
   are current is taken from the cache; the rest (misses, stale entries, and hits whose line numbers
   moved and must be rewritten) are made or rewritten, in worker processes when there are several.

Results come out in input order, the same, byte for byte, as without the cache (tests/test_cache.py).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from escapelint.analyze.leaks import LeakSummaries
from escapelint.analyze.source import SourceLocator
from escapelint.read.classifier import LineClassifier
from escapelint.read.input import WindowLines, cannot_read, file_snapshot
from escapelint.workflows.blocks import BlockResult, from_entries, look_up_block, read_block
from escapelint.workflows.cache import FINDINGS, JSON, BlockMeta, CacheContext, Entry, RecordingSourceLocator
from escapelint.workflows.cache import ResultCache, combined_digest, piece_buffer, piece_digest, piece_spans
from escapelint.workflows.parallel import COUNT_PIECE, Window, build_wide_leaks, count_line_ends, plan_windows
from escapelint.workflows.parallel import prepare_worker

#: Threads that hash and check the blocks (hashlib and zlib give up the interpreter lock on large data).
LOOKUP_THREADS = 2


@dataclass
class BlockPlan:
    """One block of the file after the look-up."""

    index: int
    block: Window
    digest: str
    #: The lines of the file before the block; None after a miss that comes after the last hit:
    #: counted where the block is read (`_work`; in one process, as the blocks before it are read).
    first_line: int | None
    meta: BlockMeta | None  # the meta of its entries when every kind asked for is there and holds; None: a miss
    #: Those entries, checked whole and closed (Entry.reopen): in this process only, never sent to a worker.
    entries: dict[str, Entry] = field(default_factory=dict)


@dataclass
class ReadSettings:
    """What every block of one read shares."""

    source: Path
    cache: ResultCache
    context: CacheContext
    sources: SourceLocator
    fragments: Path | None  # where JSON text goes; None when no JSON is written
    want_findings: bool


def plan(settings: ReadSettings, snapshot: tuple[int, ...], taken_ns: int) -> list[BlockPlan]:
    """Look up every block of the file (step 1 of the module docstring), in input order.

    LOOKUP_THREADS threads share three kinds of task, the biggest blocks first: hash a 16 MiB piece
    of a block; once all its pieces are, look up the block's entries (checked but for their bodies);
    then check each piece of those bodies. A task a finished one makes goes first, so the look-ups
    (which hold the interpreter lock: JSON, the source files' identities) run while the other thread
    hashes, and one big block does not keep a thread busy alone. Then the misses before the last
    hit are counted, by as many threads. An empty cache counts nothing here: of Go 1.22's std, that
    left 0.2 s of the 0.5-0.8 s before the first worker starts.

    A file the cache has seen, unchanged since (`snapshot`, read.input.file_snapshot taken at
    `taken_ns` before this look-up: ResultCache.known_blocks), is neither cut nor hashed again: its
    blocks and their digests are those of the last look-up. Of a warm report on Go 1.22's std that
    is 0.06 s of cutting and 0.29 s of two threads' hashing, about half of the run.
    """
    source = settings.source
    known = settings.cache.known_blocks(source, snapshot)
    if known is not None:
        blocks = [Window(index, start, end) for index, (start, end, _) in enumerate(known)]
        block_digests = [digest for _, _, digest in known]
        spans: list[list[tuple[int, int]]] = [[] for _ in blocks]
    else:
        blocks = plan_windows(source, min_window_bytes=0)
        block_digests = [""] * len(blocks)
        spans = [piece_spans(block.start, block.end) for block in blocks]
    digests: list[list[bytes]] = [[b""] * len(pieces) for pieces in spans]  # of each piece
    unhashed = [len(pieces) for pieces in spans]
    found: list[dict[str, Entry]] = [{} for _ in blocks]
    broken: set[int] = set()
    tasks = _Tasks()

    def hash_piece(index: int, piece: int) -> None:
        buffer = buffers.get()
        try:
            digests[index][piece] = piece_digest(source, *spans[index][piece], buffer)
        finally:
            buffers.put(buffer)
        if tasks.count_down(unhashed, index):
            block_digests[index] = combined_digest(digests[index])
            tasks.add(look_up, index)

    def look_up(index: int) -> None:
        found[index] = entries = _entries(settings, block_digests[index])
        for kind, entry in entries.items():
            for piece in range(len(entry.body_crcs)):
                tasks.add(check_piece, index, kind, piece)

    def check_piece(index: int, kind: str, piece: int) -> None:
        entry = found[index][kind].reopen()
        if entry is None or not entry.piece_intact(piece):
            broken.add(index)
        if entry is not None:
            entry.close()

    biggest_first = sorted(range(len(blocks)), key=lambda i: -blocks[i].size)
    if known is not None:
        tasks.run([(look_up, (i,)) for i in biggest_first], LOOKUP_THREADS)
    else:
        # Made here, not in the threads (piece_digest says why); closed when the file is hashed.
        buffers: queue.SimpleQueue = queue.SimpleQueue()
        made = [piece_buffer() for _ in range(LOOKUP_THREADS)]
        for buffer in made:
            buffers.put(buffer)
        try:
            tasks.run([(hash_piece, (i, p)) for i in biggest_first for p in range(len(spans[i]))], LOOKUP_THREADS)
        finally:
            for buffer in made:
                buffer.close()
        settings.cache.remember_blocks(
            source, snapshot, taken_ns, [(block.start, block.end, digest) for block, digest in zip(blocks, block_digests)]
        )
    metas = []
    for index in range(len(blocks)):
        entries = found[index] = {} if index in broken else found[index]
        metas.append(next(iter(entries.values())).meta if entries else None)
    last_hit = max((i for i, meta in enumerate(metas) if meta is not None), default=-1)
    counted = _count_lines(source, [blocks[i] for i in range(last_hit) if metas[i] is None])
    plans = []
    line: int | None = 0
    for index, block in enumerate(blocks):
        meta = metas[index]
        plans.append(BlockPlan(index, block, block_digests[index], line, meta, found[index]))
        lines = meta.stats.lines if meta is not None else counted.get(index)
        line = None if line is None or lines is None else line + lines
    return plans


def _count_lines(source: Path, blocks: list[Window]) -> dict[int, int]:
    """The lines of each of these blocks, by index, counted by LOOKUP_THREADS threads (reading gives
    up the interpreter lock)."""
    counted: dict[int, int] = {}
    # Made here, not in the threads: a large buffer a thread allocates stays in its own malloc arena,
    # and every worker forked later would count those pages again.
    buffers: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(min(LOOKUP_THREADS, len(blocks))):
        buffers.put(bytearray(COUNT_PIECE))

    def count(block: Window) -> None:
        buffer = buffers.get()
        counted[block.index] = count_line_ends(source, block.start, block.end, buffer)
        buffers.put(buffer)

    _Tasks().run([(count, (block,)) for block in blocks], LOOKUP_THREADS)
    return counted


class _Tasks:
    """Tasks run by a few threads; a task may add more, which go first. The first failure stops them
    all and is raised in the thread that called `run`."""

    def __init__(self) -> None:
        self._queue: deque[tuple[Callable[..., None], tuple]] = deque()
        self._lock = threading.Condition()
        self._unfinished = 0
        self._failures: list[BaseException] = []

    def add(self, function: Callable[..., None], *arguments) -> None:
        with self._lock:
            self._queue.appendleft((function, arguments))
            self._unfinished += 1
            self._lock.notify()

    def count_down(self, counters: list[int], index: int) -> bool:
        """counters[index] -= 1, under the lock; whether it reached 0."""
        with self._lock:
            counters[index] -= 1
            return counters[index] == 0

    def run(self, tasks: list[tuple[Callable[..., None], tuple]], threads: int) -> None:
        self._queue.extend(tasks)
        self._unfinished += len(tasks)
        workers = [threading.Thread(target=self._work, daemon=True) for _ in range(min(threads, max(1, len(tasks))))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if self._failures:
            raise self._failures[0]

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue and self._unfinished and not self._failures:
                    self._lock.wait()
                if not self._queue or self._failures:
                    self._lock.notify_all()
                    return
                function, arguments = self._queue.popleft()
            try:
                function(*arguments)
            except BaseException as exc:  # handed to the thread that called run
                with self._lock:
                    self._failures.append(exc)
            with self._lock:
                self._unfinished -= 1
                self._lock.notify_all()


def _entries(settings: ReadSettings, digest: str) -> dict[str, Entry]:
    """The block's entries of every kind asked for (none unless all are there), checked but for their
    bodies and their dependencies on other packages, closed."""
    key = settings.context.key(digest)
    kinds = ([JSON] if settings.fragments is not None else []) + ([FINDINGS] if settings.want_findings else [])
    entries: dict[str, Entry] = {}
    for kind in kinds:
        entry = settings.cache.lookup(key, kind, settings.context.source_root, check_packages=False, body=False)
        if entry is None:
            return {}
        entry.close()
        entries[kind] = entry
    return entries


def identities_from(plans: list[BlockPlan]) -> Callable[[str], str] | None:
    """LeakSummaries.identity as the file's own blocks state it, when every block is a hit that knows
    its own packages' identities; else None (the file must be scanned)."""
    table: dict[str, str] = {}
    for block in plans:
        if block.meta is None or block.meta.leak_identities is None:
            return None
        for path, identity in block.meta.leak_identities:
            table.setdefault(path, identity)  # the first package of a path wins, as in the table
    return lambda path: table.get(path, "-")


def _current(meta: BlockMeta, identity: Callable[[str], str]) -> bool:
    return all(identity(d.name) == d.identity for d in meta.dependencies if d.kind == "package")


@dataclass
class _Job:
    settings: ReadSettings
    identity: Callable[[str], str]
    leaks: LeakSummaries | None
    parent: int
    #: The file as it was before it was looked up: a block made from it must be read from that file.
    snapshot: tuple[int, ...]


_job: _Job | None = None
_classifier: LineClassifier | None = None


def read_cached(settings: ReadSettings, jobs: int) -> Iterator[tuple[BlockResult, str | None]]:
    """Every block's results, in input order, with the cache problem of the process that made it
    (step 2 of the module docstring); `jobs` > 1 makes what is left in that many worker processes."""
    try:
        taken_ns, snapshot = time.time_ns(), file_snapshot(settings.source)
    except OSError as exc:
        raise cannot_read(str(settings.source), exc) from None
    plans = plan(settings, snapshot, taken_ns)
    identity = identities_from(plans)
    leaks = None
    current = [] if identity is None else [p.meta is not None and _current(p.meta, identity) for p in plans]
    if not all(current) or identity is None:
        # Some block is made (a miss, or an entry whose callees' leaks changed): its values are followed
        # into other packages, with the table of the whole file, which decides what is current.
        leaks = build_wide_leaks(settings.source)
        identity = leaks.identity
        current = [p.meta is not None and _current(p.meta, identity) for p in plans]
    job = _Job(settings, identity, leaks, os.getpid(), snapshot)
    _give_back_free_memory()
    # A current block whose lines did not move is copied from its entry here; the rest is work.
    ready = [is_current and p.meta.first_line == p.first_line for p, is_current in zip(plans, current)]
    left = [p for p, done in zip(plans, ready) if not done]
    if jobs <= 1 or len(left) <= 1:
        line = 0
        for block, is_current in zip(plans, current):
            result = _read_here(job, replace(block, first_line=line), is_current)
            line = result[0].first_line + result[0].stats.lines
            yield result
        return
    yield from _read_with_workers(job, plans, current, ready, min(jobs, len(left)))


def _give_back_free_memory() -> None:
    """Hand what the look-up and the leak scan freed back to the system (glibc keeps freed memory for
    reuse, per thread): every worker forked after it would count those pages again. (While the
    threads read into buffers of their own, the parent was 95 MiB at the fork, and 83 MiB with this.)"""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _read_here(job: _Job, block: BlockPlan, current: bool) -> tuple[BlockResult, str | None]:
    """One block in this process: taken from its entries when they are `current` (and still there:
    else made after all), else made through `read_block`."""
    global _classifier
    settings = job.settings
    if current and block.entries:
        found = _reopened(block, settings, in_place=os.getpid() == job.parent)
        if found is not None:
            return found, settings.cache.problem
    if current:
        found = look_up_block(
            block.digest, block.first_line, cache=settings.cache, context=settings.context,
            fragments=settings.fragments, want_findings=settings.want_findings, identity=job.identity,
        )  # fmt: skip
        if found is not None:
            return found, settings.cache.problem
    if _classifier is None:
        _classifier = LineClassifier()
    if job.leaks is None:
        # Found current in the look-up, but another run replaced or removed its entry since: made
        # after all, it needs the leak table (built once per process of this run).
        job.leaks = build_wide_leaks(settings.source)
    leaks = job.leaks
    source, span = settings.source, block.block
    result = read_block(
        lambda: WindowLines(source, span.start, span.end, job.snapshot), block.digest, block.first_line,
        cache=settings.cache, context=settings.context, classifier=_classifier,
        sources=RecordingSourceLocator(settings.sources.root, settings.cache.dependencies),
        fragments=settings.fragments, want_findings=settings.want_findings, leaks=leaks,
        own_leaks=leaks.identities_in(span.start, span.end),
    )  # fmt: skip
    return result, settings.cache.problem


def _reopened(block: BlockPlan, settings: ReadSettings, *, in_place: bool) -> BlockResult | None:
    """The results of the entries the look-up checked, if each is still the file it checked
    (`in_place`: this is the process that writes the report; blocks.from_entries)."""
    opened = {}
    try:
        for kind, entry in block.entries.items():
            again = entry.reopen()
            if again is None:
                return None
            opened[kind] = again
        return from_entries(opened.get(JSON), opened.get(FINDINGS), block.first_line, settings.fragments, in_place=in_place)
    finally:
        for entry in opened.values():
            entry.close()


# --- worker processes ---------------------------------------------------------------------------


def _start_worker(job: _Job) -> None:
    global _job
    prepare_worker(job.parent)
    _job = job


def _work(block: BlockPlan, current: bool, anchor: tuple[int, int]) -> tuple[int, BlockResult, str | None, int]:
    """A block in a worker: rewritten from its entry (`current`: its lines moved) or made; with how
    many entries were stored. `anchor`: (byte offset, the lines before it), for a block whose
    first line is not known yet: the lines from there to the block are counted here."""
    job = _job
    assert job is not None, "worker not started"
    if block.first_line is None:
        offset, lines = anchor
        block = replace(block, first_line=lines + count_line_ends(job.settings.source, offset, block.block.start))
    before = job.settings.cache.stored
    result, problem = _read_here(job, block, current)
    return block.index, result, problem, job.settings.cache.stored - before


def _read_with_workers(
    job: _Job, plans: list[BlockPlan], current: list[bool], ready: list[bool], workers: int
) -> Iterator[tuple[BlockResult, str | None]]:
    """The blocks that are not ready go to `workers` forked processes (the biggest first, then in
    input order, a spare one queued each); the ready ones are taken here when their turn comes.

    A block whose first line is not known goes with the nearest offset before it whose line number
    is (as parallel.read_windows hands out windows): the blocks' line counts come back with their results."""
    left = [p for p, done in zip(plans, ready) if not done]
    biggest = max(left, key=lambda p: p.block.size)
    order = deque([biggest, *(p for p in left if p is not biggest)])
    known_lines = {p.block.start: p.first_line for p in plans if p.first_line is not None}  # offset -> the lines before it
    finished: queue.SimpleQueue = queue.SimpleQueue()
    done: dict[int, tuple[BlockResult, str | None]] = {}
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_start_worker, initargs=(job,)) as pool:
        in_flight = 0

        def hand_out() -> None:
            nonlocal in_flight
            while order and in_flight <= workers:
                block = order.popleft()
                task = replace(block, entries={})  # the checked entries stay with this process
                anchor = max(offset for offset in known_lines if offset <= block.block.start)
                pool.apply_async(
                    _work, (task, current[block.index], (anchor, known_lines[anchor])),
                    callback=finished.put, error_callback=finished.put,
                )  # fmt: skip
                in_flight += 1

        def collect(wait: bool) -> None:
            """Take the workers' results that are in (waiting for one when `wait`), handing out more."""
            nonlocal in_flight
            while in_flight:
                try:
                    outcome = finished.get(block=wait)
                except queue.Empty:
                    return
                in_flight -= 1
                if isinstance(outcome, BaseException):
                    raise outcome
                index, result, problem, stored = outcome
                job.settings.cache.stored += stored
                known_lines[plans[index].block.end] = result.first_line + result.stats.lines
                done[index] = (result, problem)
                hand_out()
                wait = False

        hand_out()
        for block, is_ready in zip(plans, ready):
            if is_ready:
                collect(wait=False)
                yield _read_here(job, block, True)
                continue
            while block.index not in done:
                collect(wait=True)
            yield done.pop(block.index)

