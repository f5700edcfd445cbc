"""Batch runs on Spark (rulekit.batch.spark): the output file of `rulekit run` byte for byte, bad and
blank rows included, the same statuses and population report, whatever the partitioning."""
from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import random
import shutil
import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("pyspark")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import rulekit  # noqa: E402
from rulekit.batch import BatchError, Job, run  # noqa: E402
from rulekit.batch import spark as rk  # noqa: E402
from rulekit.batch.readers import _blank  # noqa: E402
from tests.test_batch import households, read_rows, tables  # noqa: E402
from tests.test_jinxian_reports import household  # noqa: E402

JINXIAN_AS_OF = "2021-06-18"
# pyspark 4.x warns about pandas 3 on every call that could use pandas; this adapter uses Arrow only
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One local Spark session for the module (it takes seconds to start); its Python workers
    run this interpreter, where rulekit is installed."""
    from pyspark.sql import SparkSession
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        pytest.skip("Spark needs a Java runtime (java on PATH or JAVA_HOME)")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        session = (SparkSession.builder.master("local[2]").appName("rulekit-tests")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "2")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.local.dir", str(tmp_path_factory.mktemp("spark")))
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


def in_parts(df, n: int):
    """`df` split into `n` partitions that keep its row order (repartition(n) would deal the rows
    out round robin, a different input order)."""
    from pyspark.sql import functions as F
    return (df.withColumn("_n", F.monotonically_increasing_id()).repartitionByRange(n, "_n")
            .sortWithinPartitions("_n").drop("_n"))


def partition_sizes(df) -> list[int]:
    from pyspark.sql import functions as F
    got = df.groupBy(F.spark_partition_id().alias("p")).count().collect()
    return [r["count"] for r in sorted(got)]


@pytest.fixture(scope="module")
def yuxi_parquet(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """300 Yuxi households as a system export: the form's Chinese headers as text cells, members
    nested as a list<struct> column, with bad rows and a blank row among them."""
    records = households(300, seed=3)
    head, rows, _, _ = tables(records)
    cells = [dict(zip(head, row), 家庭成员=rec["members"]) for row, rec in zip(rows, records)]
    cells[4]["A28"] = "很多"
    cells[6]["A28"] = "5,000"
    cells[21]["A4"] = "是的"
    cells[30]["采集时点"] = None                          # no date to evaluate at
    cells.insert(10, {**{h: "" for h in head}, "家庭成员": None})   # blank: skipped, counted
    cells[11]["A4"] = "\u3000"                            # a full-width space: an empty cell
    path = tmp_path_factory.mktemp("yuxi") / "h.parquet"
    pq.write_table(pa.Table.from_pylist(cells), path)
    return path


@pytest.fixture(scope="module")
def local_run(yuxi_parquet: pathlib.Path) -> tuple[pathlib.Path, rulekit.batch.Summary]:
    out = yuxi_parquet.with_name("local.csv")
    return out, run(Job(pack="yuxi", input=yuxi_parquet, output=out), progress=False)


def test_csv_equals_the_local_run_byte_for_byte(spark, yuxi_parquet: pathlib.Path, local_run,
                                                 tmp_path: pathlib.Path) -> None:
    """Same bytes, bad rows located as the local reader locates them, same statuses and blanks."""
    local, summary = local_run
    df = spark.read.parquet(str(yuxi_parquet))
    result = rk.run(df, "yuxi", tmp_path / "spark.csv", source="h.parquet")
    assert (tmp_path / "spark.csv").read_bytes() == local.read_bytes()
    assert result.statuses == summary.statuses and result.rows == summary.rows == 300
    assert result.blank == summary.blank == 1
    rows = read_rows(tmp_path / "spark.csv")
    invalid = {r["position"]: r["error"] for r in rows if r["status"] == "invalid"}
    assert invalid == {"4": "h.parquet row 5 A28: 必须是数字（现在是 '很多'）；不会自动转换，空白表示未知",
                       "6": "h.parquet row 7 A28: 数字中不能有千位分隔符（现在是 '5,000'）",
                       "21": "h.parquet row 23 A4: 必须填“是”或“否”（或 true/false）（现在是 '是的'）；空白表示未知",
                       "30": "h.parquet row 32: collected_on: 记录没有采集日期（collected_on），请给出 "
                             "as_of（命令行用 --as-of）：适用哪一天的参数值"}
    assert [r["id"] for r in rows[9:11]] == ["YX-0009", "YX-0010"]     # the blank row is skipped


def test_three_partitions_equal_one(spark, yuxi_parquet: pathlib.Path, local_run,
                                    tmp_path: pathlib.Path) -> None:
    """Positions and row numbers are global: three partitions give the one-partition bytes, as
    CSV and as the Parquet directory; round-robin partitions decide each household the same."""
    local, summary = local_run
    df = spark.read.parquet(str(yuxi_parquet))
    three = in_parts(df, 3)
    assert partition_sizes(three) == [101, 100, 100]
    result = rk.run(three, "yuxi", tmp_path / "three.csv", source="h.parquet")
    assert (tmp_path / "three.csv").read_bytes() == local.read_bytes()
    assert result.statuses == summary.statuses and result.blank == 1
    rk.run(three, "yuxi", str(tmp_path / "decided"), source="h.parquet")
    back = pq.read_table(tmp_path / "decided").to_pylist()
    assert len(list((tmp_path / "decided").glob("part-*.parquet"))) == 3
    assert back == read_rows(local)
    dealt = rk.decide(df.repartition(3), "yuxi", source="h.parquet").collect()
    key = lambda r: (r["id"], r["status"])                                    # noqa: E731
    same = [{k: v for k, v in r.items() if k not in ("position", "error")} for r in read_rows(local)]
    assert sorted(({k: v for k, v in r.asDict().items() if k not in ("position", "error")} for r in dealt),
                  key=key) == sorted(same, key=key)


def jinxian_households(n: int, seed: int = 7) -> list[dict]:
    """Jinxian households around the statistics day (some with no date: unknown), so that every
    cell of the table counts some."""
    rnd = random.Random(seed)
    days = ["2020-12-01", "2021-03-31", "2021-04-01", "2021-05-05", "2021-06-18", "2021-06-19", None]
    out = []
    for i in range(n):
        category = rnd.choice(["边缘易致贫户", "脱贫不稳定户", "非监测对象", "突发严重困难户"])
        identified = rnd.choice(days) if category != "非监测对象" else None
        eliminated = rnd.choice([None, None, "2021-05-10", "2021-06-18", "2021-06-19"]) if identified else None
        out.append(household(f"J{i:03d}", category, rnd.randint(1, 6), alleviated=rnd.random() < 0.5,
                             identified=identified, eliminated=eliminated, food=rnd.random() < 0.2,
                             water=rnd.random() < 0.2, housing=rnd.random() < 0.1,
                             dropout=rnd.random() < 0.1, uninsured=rnd.random() < 0.2))
    return out


def jinxian_cells(r: dict) -> dict:
    """A household as a typed export row: yes/no as booleans, dates as dates, members nested."""
    def day(v: str | None) -> dt.date | None:
        return dt.date.fromisoformat(v) if v else None
    return {"户编号": r["id"], "县（市、区）": r["county"], "采集时点": day(r["collected_on"]),
            "A4": r["alleviated"], "A3": r["monitoring_category"],
            "A23": r["guarantees"]["housing_unsafe"], "A24": r["guarantees"]["dropout"],
            "A25": r["guarantees"]["water_unsafe"],
            "返贫致贫风险是否已稳定消除": r["elimination"]["risk_stably_eliminated"],
            "A54": day(r["elimination"].get("elimination_date")),
            "local.identified_on": day(r["local"].get("identified_on")),         # a dot in a name
            "local.food_clothing_worry": r["local"]["food_clothing_worry"], "家庭成员": r["members"]}


def test_report_and_statuses_equal_the_local_run(spark, tmp_path: pathlib.Path) -> None:
    """Jinxian's 附件2 table tallied per partition and merged: equal to the local run's report
    file and to pack.report over the same households; the invalid household listed by position."""
    recs = jinxian_households(240)
    cells = [jinxian_cells(r) for r in recs]
    cells[17]["A3"] = "监测户"                                   # not a category: invalid
    pq.write_table(pa.Table.from_pylist(cells), tmp_path / "j.parquet")
    summary = run(Job(pack="jinxian", input=tmp_path / "j.parquet", output=tmp_path / "local.csv",
                      as_of=JINXIAN_AS_OF, reports=("stats_table",)), progress=False)
    df = in_parts(spark.read.parquet(str(tmp_path / "j.parquet")), 3)
    result = rk.run(df, "jinxian", tmp_path / "spark.csv", as_of=JINXIAN_AS_OF, reports=["stats_table"],
                    source="j.parquet")
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert result.statuses == summary.statuses and result.statuses["invalid"] == 1
    report = result.reports["stats_table"]
    assert json.loads(json.dumps(report.to_dict(), ensure_ascii=False)) == \
        json.loads((tmp_path / "local.stats_table.json").read_text(encoding="utf-8"))
    assert "\ufeff" + report.to_csv() == (tmp_path / "local.stats_table.csv").read_bytes().decode("utf-8")
    got = report.to_dict()
    want = rulekit.load_pack("jinxian").report("stats_table", recs[:17] + recs[18:],
                                               as_of=JINXIAN_AS_OF).to_dict()
    assert [i["position"] for i in got.pop("invalid")] == [17] and want.pop("invalid") == []
    got_groups, want_groups = got.pop("groups"), want.pop("groups")
    assert got == want
    measures = got_groups[0]["measures"]       # counts, and unknowns whose ids span the partitions
    assert measures["food_h"] > 0 and measures["new_edge_h"] == {"unknown": [
        "6 household(s) with unknown facts: J007, J016, J021, J105, J185…"]}
    assert got_groups == want_groups


def test_blank_cells_as_the_local_readers_see_them() -> None:
    """A row is blank exactly when readers._blank says so, whitespace of every script included."""
    texts = ["", " ", "\u3000", "\t\n", "\x1c", "\u200b", "a", " a ", "\xa0", "\u2028", None]
    batch = pa.RecordBatch.from_pydict({"t": texts, "n": [None] * len(texts)})
    assert rk._blank_mask(batch).to_pylist() == [_blank((t, None)) for t in texts]
    batch = pa.RecordBatch.from_pydict({"t": [" ", " ", None], "n": [0, None, None],
                                        "l": [None, [], None]})
    assert rk._blank_mask(batch).to_pylist() == [False, False, True]


def test_problems_before_any_task(spark, yuxi_parquet: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """A column that maps to nothing, a wrong output, a missing report: refused in the driver."""
    df = spark.read.parquet(str(yuxi_parquet)).withColumnRenamed("A28", "工资收入合计")
    with pytest.raises(BatchError, match="工资收入合计"):
        rk.run(df, "yuxi", tmp_path / "o.csv")
    df = spark.read.parquet(str(yuxi_parquet))
    with pytest.raises(BatchError, match=r"o\.jsonl: the output of a Spark run must be a \.csv file"):
        rk.run(df, "yuxi", tmp_path / "o.jsonl")
    with pytest.raises(BatchError, match="pack 'yuxi' has no report 'stats_table'"):
        rk.run(df, "yuxi", tmp_path / "o.csv", as_of="2022-06-30", reports=["stats_table"])
    assert not list(tmp_path.iterdir())


def test_a_dataframe_that_changes_between_reads_is_refused(spark, yuxi_parquet: pathlib.Path,
                                                            tmp_path: pathlib.Path) -> None:
    """The counting pass saw one row fewer than the deciding pass: positions would be wrong."""
    from pyspark.sql import functions as F
    marker = str(tmp_path / "seen")

    def first_call_drops() -> bool:        # False for the very first row read, True ever after
        if os.path.exists(marker):
            return True
        open(marker, "w").close()
        return False

    keep = F.udf(first_call_drops, "boolean").asNondeterministic()
    df = spark.read.parquet(str(yuxi_parquet)).where(keep())
    with pytest.raises(BatchError, match=r"partition 0: 300 rows counted, 301 decided"):
        rk.run(df, "yuxi", tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()
