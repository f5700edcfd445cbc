"""The columnar route's transport through shared memory (rulekit/batch/spool.py): two workers
whose chunks travel through files give the bytes of one worker, fall back to the pipes when there
is no room, resume, and leave nothing behind."""
from __future__ import annotations

import os
import pathlib

import attrs
import pytest

from rulekit.batch import Job, run, spool
from rulekit.batch.run import Interrupted
from tests.test_batch_columnar import AS_OF, WORKLOAD, households, parquet, with_bad_rows

pa = pytest.importorskip("pyarrow")


@pytest.fixture
def shm(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """/dev/shm replaced by a directory of the test's own; counts what went through files."""
    root = tmp_path / "shm"
    root.mkdir()
    monkeypatch.setattr(spool, "SHARED_MEMORY", root)
    seen = {"root": root, "in": 0, "out": 0, "text": 0, "group": 0}
    put, append = spool.Spool.put, spool.append

    def counting_put(self: spool.Spool, chunk: object) -> object:
        out = put(self, chunk)
        seen["in"] += isinstance(out, spool.Spooled)
        seen["text"] += isinstance(out, spool.Spooled) and type(out.chunk).__name__ == "TextBatch"
        seen["group"] += type(out).__name__ == "GroupTask"
        return out

    def counting_append(f: object, text: spool.SpooledOutput) -> None:
        seen["out"] += 1
        append(f, text)
    monkeypatch.setattr(spool.Spool, "put", counting_put)
    monkeypatch.setattr(spool, "append", counting_append)
    return seen


def job_on(tmp_path: pathlib.Path, n: int = 2500, **kw: object) -> Job:
    rows, types = with_bad_rows(households(n, seed=31))
    src = parquet(tmp_path / "h.parquet", rows, types)
    return Job(pack=str(WORKLOAD), input=src, output=tmp_path / "one.csv", as_of=AS_OF,
               chunk_size=5, **kw)


def test_two_workers_through_files_write_the_bytes_of_one(tmp_path: pathlib.Path, shm: dict) -> None:
    one = job_on(tmp_path)
    two = attrs.evolve(one, output=tmp_path / "two.csv", workers=2)
    s1, s2 = run(one, progress=False), run(two, progress=False)
    assert s1.route == s2.route == "columnar"
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert (s1.statuses, s1.decisions, s1.blank) == (s2.statuses, s2.decisions, s2.blank)
    # every batch (2,500 rows in batches of 5 x 64) went through files, both ways
    assert shm["in"] == shm["out"] == 8
    assert list(shm["root"].iterdir()) == []          # the run's directory is gone


def test_csv_blocks_are_parsed_by_two_workers_through_files(tmp_path: pathlib.Path, shm: dict) -> None:
    """CSV: the main process numbers the lines of each block and the workers parse them; a block
    with a blank line is parsed by the main process (and does not travel as text)."""
    from tests.test_batch_columnar import csv_text
    lines = csv_text(households(3000, seed=37))
    lines[2000:2000] = ["," * lines[0].count(",") + "\r\n"]          # a blank row: positions shift
    src = tmp_path / "h.csv"
    src.write_bytes("".join(lines).encode("utf-8"))
    one = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "one.csv", as_of=AS_OF, chunk_size=5)
    s1 = run(one, progress=False)
    s2 = run(attrs.evolve(one, output=tmp_path / "two.csv", workers=2), progress=False)
    assert s1.route == s2.route == "columnar" and s1.blank == s2.blank == 1
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert shm["in"] == shm["out"] >= 5 and 1 <= shm["text"] < shm["in"]
    assert list(shm["root"].iterdir()) == []


def test_without_room_in_shared_memory_chunks_go_through_the_pipes(
        tmp_path: pathlib.Path, shm: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool, "MIN_FREE", 1 << 62)
    one = job_on(tmp_path)
    run(one, progress=False)
    run(attrs.evolve(one, output=tmp_path / "two.csv", workers=2), progress=False)
    assert shm["in"] == shm["out"] == 0
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


def test_an_interrupted_two_worker_run_resumes_and_leaves_no_files(
        tmp_path: pathlib.Path, shm: dict) -> None:
    job = attrs.evolve(job_on(tmp_path, 3000), output=tmp_path / "o.csv", workers=2,
                       checkpoint_seconds=0)

    def stop(done: int) -> None:
        if done >= 1000:
            raise KeyboardInterrupt
    with pytest.raises(Interrupted):
        run(job, progress=False, on_chunk=stop)
    assert list(shm["root"].iterdir()) == []
    resumed = run(attrs.evolve(job, resume=True), progress=False)     # appended with sendfile
    clean = run(attrs.evolve(job, output=tmp_path / "clean.csv", workers=1), progress=False)
    assert resumed.resumed_from >= 1000 and resumed.rows == clean.rows
    assert (tmp_path / "o.csv").read_bytes() == (tmp_path / "clean.csv").read_bytes()
    assert resumed.statuses == clean.statuses
    assert list(shm["root"].iterdir()) == []


def test_a_batch_or_an_output_that_cannot_be_written_travels_as_it_is(tmp_path: pathlib.Path) -> None:
    from rulekit.batch.columnar_run import Batch, TextBatch
    batch = Batch(pa.record_batch([pa.array([1.5])], names=["x"]), 0, None, "f row ")
    gone = spool.Spool(str(tmp_path / "gone"))
    assert gone.put(batch) is batch
    assert gone.put([(0, "f:2", ("a",))]) == [(0, "f:2", ("a",))]      # a row chunk: never spooled
    assert spool.put_output(str(tmp_path / "gone"), b"a,b\r\n") == b"a,b\r\n"
    here = spool.Spool(str(tmp_path))
    spooled = here.put(batch)
    assert isinstance(spooled, spool.Spooled) and spooled.chunk.records is None
    assert spooled.open().records.equals(batch.records) and not os.path.exists(spooled.path)
    text = TextBatch(b"H1,2\nH2,3\n", 7, 1, 2, "h.csv")
    spooled = here.put(text)
    assert isinstance(spooled, spool.Spooled) and spooled.chunk.data == b""
    assert spooled.open() == text and not os.path.exists(spooled.path)


def test_append_falls_back_to_copying_where_sendfile_refuses(tmp_path: pathlib.Path) -> None:
    """sendfile refuses a file opened for appending (O_APPEND): the bytes are copied instead."""
    for mode in ("ab", "r+b"):
        out_path = tmp_path / f"out-{mode}.csv"
        out_path.write_bytes(b"head\r\n")
        with out_path.open(mode) as out:
            out.seek(0, os.SEEK_END)
            out.write(b"buffered,")
            text = spool.put_output(str(tmp_path), "一,二\r\n".encode() * 1000)
            assert isinstance(text, spool.SpooledOutput)
            spool.append(out, text)
            out.write(b"tail\r\n")
            assert not os.path.exists(text.path)
        assert out_path.read_bytes() == b"head\r\nbuffered," + "一,二\r\n".encode() * 1000 + b"tail\r\n"


def test_a_killed_runs_directory_is_removed_by_the_next_run(tmp_path: pathlib.Path) -> None:
    """kill -9 leaves the run's directory in shared memory (RAM): the next run removes it, and
    leaves alone the directory of a run still going."""
    import subprocess
    import sys
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    dead = tmp_path / f"{spool.PREFIX}{gone}-abc"
    dead.mkdir()
    (dead / "in-3").write_bytes(b"x" * 100)
    alive = tmp_path / f"{spool.PREFIX}{os.getpid()}-def"
    alive.mkdir()
    other = tmp_path / "rulekit-run-notapid"
    other.mkdir()
    fresh = spool.Spool.open(tmp_path)
    assert fresh.directory is not None
    assert not dead.exists() and alive.exists() and other.exists()
    fresh.close()
    assert not pathlib.Path(fresh.directory).exists()


def test_a_two_worker_run_killed_with_sigkill_resumes_exactly(tmp_path: pathlib.Path) -> None:
    """kill -9 of the main process of a two-worker columnar run (batches and output in shared
    memory), then --resume with two workers: one row per input row, in order, the bytes of a
    clean run; the killed run's shared-memory directory is gone afterwards."""
    import time

    from tests.test_batch import kill_after
    rows = households(100_000, seed=43)
    src = parquet(tmp_path / "h.parquet", rows)
    out = tmp_path / "o.csv"
    argv = ["run", "--pack", str(WORKLOAD), str(src), "-o", str(out), "--as-of", AS_OF,
            "--chunk-size", "5", "--checkpoint-seconds", "0", "--workers", "2", "--no-progress"]
    done, pid = kill_after(argv, out, 3000)
    assert 3000 <= done < len(rows)
    job = Job(pack=str(WORKLOAD), input=src, output=out, as_of=AS_OF, chunk_size=5, workers=2,
              resume=True)
    resumed = run(job, progress=False)
    assert resumed.route == "columnar" and resumed.resumed_from >= done and resumed.rows == len(rows)
    run(attrs.evolve(job, output=tmp_path / "clean.csv", resume=False, workers=1), progress=False)
    assert out.read_bytes() == (tmp_path / "clean.csv").read_bytes()
    time.sleep(0.5)                     # the killed run's workers see their pipe close and exit
    spool.Spool.open().close()
    assert not list(spool.SHARED_MEMORY.glob(f"{spool.PREFIX}{pid}-*"))


def grouped_parquet(path: pathlib.Path, rows: list[dict], types: dict, group_rows: int) -> pathlib.Path:
    names = list(rows[0])
    arrays = [pa.array([r.get(k) for r in rows], types.get(k)) for k in names]
    import pyarrow.parquet as pq
    pq.write_table(pa.table(arrays, names=names), path, row_group_size=group_rows)
    return path


def test_row_groups_read_by_the_workers_write_the_bytes_of_one(
        tmp_path: pathlib.Path, shm: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Parquet file of several row groups: with two workers each group whose statistics prove
    it has no blank row is read by a worker (the main process moves no data); the group with
    blank rows is read by the main process. Bad cells and rows the columnar path leaves are in
    the groups. The output is the bytes of one worker; so is a resumed run that starts inside a
    group."""
    from rulekit.batch import columnar_run
    rows, types = with_bad_rows(households(3000, seed=47))      # blank rows at 3, 4 and 500
    types = {**types, "dibao": pa.float64()}                     # no null in dibao but there
    src = grouped_parquet(tmp_path / "h.parquet", rows, types, 700)
    tasks = []
    one = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "one.csv", as_of=AS_OF, chunk_size=5)
    s1 = run(one, progress=False)
    put = spool.Spool.put

    def seen(self: spool.Spool, chunk: object) -> object:
        if isinstance(chunk, columnar_run.GroupTask):
            tasks.append((chunk.group, chunk.skip, chunk.first))
        return put(self, chunk)
    monkeypatch.setattr(spool.Spool, "put", seen)
    s2 = run(attrs.evolve(one, output=tmp_path / "two.csv", workers=2), progress=False)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert (s1.statuses, s1.decisions, s1.blank) == (s2.statuses, s2.decisions, s2.blank)
    assert s1.blank == 3 and s1.statuses["invalid"] > 10
    # groups 1-4 (rows 700-3002) by the workers; group 0 holds the blank rows: read here
    assert [g for g, _, _ in tasks] == [1, 2, 3, 4] and tasks[0] == (1, 0, 697)
    assert shm["group"] == 4 and shm["out"] == shm["in"] + 4 and list(shm["root"].iterdir()) == []

    # resumed from row 1000 (inside group 1), as an interrupted row-route run leaves it
    job = attrs.evolve(one, output=tmp_path / "o.csv", checkpoint_seconds=0)

    def stop(done: int) -> None:
        if done >= 1000:
            raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(columnar_run, "applies", lambda *a: False)
        with pytest.raises(Interrupted):
            run(attrs.evolve(job, chunk_size=5), progress=False, on_chunk=stop)
    tasks.clear()
    resumed = run(attrs.evolve(job, resume=True, workers=2), progress=False)
    assert resumed.resumed_from == 1000 and tasks[0] == (1, 1000 - 697, 1000)
    assert (tmp_path / "o.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_large_row_groups_and_no_shared_memory_keep_the_main_process_reading(
        tmp_path: pathlib.Path, shm: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from rulekit.batch import columnar_run
    rows = households(2000, seed=53)
    src = grouped_parquet(tmp_path / "h.parquet", rows, {}, 500)
    one = Job(pack=str(WORKLOAD), input=src, output=tmp_path / "one.csv", as_of=AS_OF, chunk_size=5)
    run(one, progress=False)
    monkeypatch.setattr(columnar_run, "GROUP_ROWS_MAX", 499)      # groups too large: read here
    run(attrs.evolve(one, output=tmp_path / "two.csv", workers=2), progress=False)
    assert shm["group"] == 0 and shm["in"] >= 4                  # batches read here, spooled
    monkeypatch.setattr(columnar_run, "GROUP_ROWS_MAX", 1 << 17)
    monkeypatch.setattr(spool, "MIN_FREE", 1 << 62)              # no room: pipes, no group tasks
    run(attrs.evolve(one, output=tmp_path / "three.csv", workers=2), progress=False)
    assert shm["group"] == 0
    for name in ("two.csv", "three.csv"):
        assert (tmp_path / name).read_bytes() == (tmp_path / "one.csv").read_bytes()
