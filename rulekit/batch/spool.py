"""Moving the columnar route's chunks between the main process and the workers through files in
shared memory, not through the pool's pipes.

With `--workers N` the pool pickles every chunk into a pipe and every chunk's output back: a
million households of the workload are ~360 MB of Arrow columns in and ~380 MB of CSV out, each
copied four times (pickle, pipe write, pipe read, unpickle), and all of it in the main process,
which also reads the input. Measured on 2 cores, that made two workers no faster than one. Here
the main process writes each Arrow batch once into a file (Arrow's IPC format; a block of CSV
lines as its bytes) in a directory of its own under /dev/shm; the worker maps the file (no copy)
and writes its output lines to another file there, which the main process appends to the output
with `os.sendfile` (the kernel copies).

Only a transport: what a chunk holds and what the output says are unchanged, and any failure to
use the files (no /dev/shm, too little room in it, a full disk while writing) sends that chunk
through the pipes as before. The directory is the run's own and is removed when the run ends,
interrupted or not; the number of chunks in flight is bounded by run.py, so the room it takes is
too (a few chunks of a few MB).
"""
from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
from typing import IO, Any

import attrs

SHARED_MEMORY = pathlib.Path("/dev/shm")
MIN_FREE = 1 << 30            # leave /dev/shm alone when it has less room than this (Docker: 64 MB)
PREFIX = "rulekit-run-"       # then the main process's id: rulekit-run-4242-xxxxxxxx


@attrs.frozen
class Spooled:
    """A chunk of the columnar route whose data waits in `path`: a columnar_run.Batch without its
    records (an Arrow IPC file) or a columnar_run.TextBatch without its bytes. The worker writes
    its output lines into `directory`."""
    path: str
    chunk: Any
    directory: str

    def open(self) -> Any:
        """The chunk with its data back (Arrow columns mapped from the file, not copied); the
        file is removed (a mapping outlives it)."""
        from rulekit.batch.columnar_run import Batch
        if isinstance(self.chunk, Batch):
            import pyarrow as pa
            with pa.memory_map(self.path) as source:
                chunk = attrs.evolve(self.chunk, records=pa.ipc.open_stream(source).read_next_batch())
        else:
            chunk = attrs.evolve(self.chunk, data=pathlib.Path(self.path).read_bytes())
        os.unlink(self.path)
        return chunk


@attrs.frozen
class SpooledOutput:
    """A chunk's output (UTF-8 bytes) waiting in a file for the main process to append."""
    path: str


def _remove_orphans(parent: pathlib.Path) -> None:
    """Remove the directories of runs that were killed (kill -9, power cut) and could not remove
    their own: their main process, whose id the name holds, is gone. Shared memory is RAM."""
    for path in parent.glob(f"{PREFIX}*"):
        pid = path.name[len(PREFIX):].split("-")[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:              # another user's process: alive, not ours to judge
            pass


class Spool:
    """The run's directory in shared memory, or nothing to do where there is none."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self.count = 0

    @classmethod
    def open(cls, parent: pathlib.Path | None = None) -> Spool:
        """A new directory under `parent` (/dev/shm) when it is there with room to spare, else a
        Spool that leaves every chunk to the pipes."""
        parent = SHARED_MEMORY if parent is None else parent
        try:
            _remove_orphans(parent)
            room = os.statvfs(parent)
            if room.f_bavail * room.f_frsize < MIN_FREE:
                return cls(None)
            return cls(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
        except (OSError, AttributeError):       # no such directory, not writable, not POSIX
            return cls(None)

    def put(self, chunk: Any) -> Any:
        """A columnar chunk (Batch or TextBatch) as Spooled; anything else (row chunks), or a
        chunk that cannot be written, as it is."""
        from rulekit.batch.columnar_run import Batch, GroupTask, TextBatch
        if isinstance(chunk, GroupTask):                 # the worker reads the data itself
            return attrs.evolve(chunk, directory=self.directory)
        if self.directory is None or not isinstance(chunk, (Batch, TextBatch)):
            return chunk
        self.count += 1
        path = os.path.join(self.directory, f"in-{self.count}")
        try:
            if isinstance(chunk, Batch):
                import pyarrow as pa
                with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, chunk.records.schema) as out:
                    out.write_batch(chunk.records)
                return Spooled(path, attrs.evolve(chunk, records=None), self.directory)
            pathlib.Path(path).write_bytes(chunk.data)
            return Spooled(path, attrs.evolve(chunk, data=b""), self.directory)
        except OSError:                 # full: this one goes through the pipe
            pathlib.Path(path).unlink(missing_ok=True)
            return chunk

    def close(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def put_output(directory: str, data: bytes) -> SpooledOutput | bytes:
    """A worker's output for a chunk as a file in the run's directory (or the bytes themselves
    when it cannot be written)."""
    out = OutputFile(directory)
    out.write(data)
    return out.close()


class OutputFile:
    """A worker's output for a large chunk, written as it is made: a file in the run's directory,
    or (when there is none, or it cannot be written) bytes kept in memory."""

    def __init__(self, directory: str | None) -> None:
        self.parts: list[bytes] = []
        self.file: IO[bytes] | None = None
        self.path: str | None = None
        if directory is not None:
            try:
                fd, self.path = tempfile.mkstemp(suffix=".csv", prefix="out-", dir=directory)
                self.file = os.fdopen(fd, "wb")
            except OSError:
                self.path = None

    def write(self, data: bytes) -> None:
        if self.file is not None:
            try:
                self.file.write(data)
                return
            except OSError:                      # full: what is written so far comes back
                self.file.close()
                assert self.path is not None
                self.parts.append(pathlib.Path(self.path).read_bytes())
                os.unlink(self.path)
                self.file = self.path = None
        self.parts.append(data)

    def close(self) -> SpooledOutput | bytes:
        if self.file is not None:
            self.file.close()
            assert self.path is not None
            return SpooledOutput(self.path)
        return b"".join(self.parts)


def append(out: IO[bytes], text: SpooledOutput) -> None:
    """Append a spooled output to `out` (an open binary file) and remove it."""
    out.flush()
    with open(text.path, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        try:
            sent = 0
            while sent < size:
                n = os.sendfile(out.fileno(), src.fileno(), sent, size - sent)
                if n == 0:
                    raise OSError("sendfile wrote nothing")
                sent += n
        except (OSError, AttributeError):        # no sendfile between these files: copy here
            src.seek(sent)
            out.seek(0, os.SEEK_END)
            shutil.copyfileobj(src, out)
    out.seek(0, os.SEEK_END)         # the buffered file's idea of where it is, from the file itself
    os.unlink(text.path)
