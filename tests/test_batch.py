"""Batch runs (`rulekit run`): every format with Chinese headers, nothing lost, resumable after a
kill, identical with several workers and on Dask, population reports from the same run."""
from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import time

import attrs
import pytest

import rulekit
from rulekit.batch import BatchError, Job, run
from rulekit.batch import columns as C
from rulekit.batch.readers import need
from rulekit.batch.run import Interrupted
from rulekit.batch.run import part as part_path
from rulekit.expr.values import Unknown
from rulekit.record import model as M
from rulekit.record.schema import normalise
from tests.conftest import EXAMPLE, ROOT
from tests.test_report import PACK as REPORT_TEST_PACK

AS_OF = "2022-06-30"


# -- households: a small seeded generator around the bundled example ---------------------------

def households(n: int, seed: int = 1) -> list[dict]:
    """Canonical Yuxi records varied so that every status and most outcomes occur."""
    rnd = random.Random(seed)
    base = normalise(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    out = []
    for i in range(n):
        r = copy.deepcopy(base)
        r["id"] = f"YX-{i:04d}"
        r["town"] = rnd.choice(["甲镇", "乙镇", "丙镇"])
        r["alleviated"] = rnd.random() < 0.6
        r["monitoring_category"] = rnd.choice(["none", "unstable", "edge"])
        scale = rnd.choice([0.2, 0.5, 1, 2, 4])
        for line in r["income"]["crops"] + r["income"]["livestock"]:
            line["sales"] = round(line["sales"] * scale, 2)
        r["income"]["work"][0]["outside_monthly_wage"] = rnd.choice([0, 800, 1300, 3000])
        r["income"]["dividend"] = rnd.choice([0, 300, 800.5])
        r["members"] = r["members"][:rnd.randint(1, 4)]
        r["members"][0]["health"] = rnd.choice(list(M.HEALTH))
        r["members"][0]["labour_skill"] = rnd.choice(list(M.LABOUR_SKILL))
        r["assets"]["urban_property"] = rnd.random() < 0.1
        r["risks"]["major_family_change"] = rnd.random() < 0.2
        r["risks"]["sudden_event"] = rnd.random() < 0.2
        r["expenses"]["rigid_expenses"][0]["amount"] = rnd.choice([0, 9600, 40000])
        if rnd.random() < 0.1:
            del r["income"]["dividend"]
        if rnd.random() < 0.1:
            del r["conduct"]["misconduct"]
        out.append(r)
    return out


def _fields(cls: type, prefix: tuple = ()) -> list[tuple[tuple, attrs.Attribute]]:
    out = []
    for f in attrs.fields(cls):
        if "section" in f.metadata:
            out += _fields(M.SECTIONS[f.name], prefix + (f.name,))
        elif f.name not in ("members", "local"):
            out.append((prefix + (f.name,), f))
    return out


HOUSEHOLD_COLUMNS = _fields(M.Household)
MEMBER_COLUMNS = [((f.name,), f) for f in attrs.fields(M.Member) if f.name != "local"]


def _header(f: attrs.Attribute) -> str:
    """The form code where the form has one (A28), else the Chinese label as printed."""
    return f.metadata.get("code") or f.metadata["zh"]


def _get(record: dict, path: tuple) -> object:
    for p in path:
        record = record.get(p) if isinstance(record, dict) else None
    return record


def _cell(f: attrs.Attribute, v: object, typed: bool) -> object:
    """A value as a spreadsheet holds it: Chinese values, 是/否 (or typed yes/no), JSON lists."""
    meta = f.metadata
    if v is None:
        return None if typed else ""
    if meta["kind"] == "list":
        if meta.get("enum"):
            return "、".join(M.ENUMS[meta["enum"]][x] for x in v) if v else "[]"
        return json.dumps(v, ensure_ascii=False)
    if meta.get("enum"):
        return M.ENUMS[meta["enum"]][v]
    if typed:
        return dt.date.fromisoformat(v) if meta["kind"] == M.DATE else v
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


def tables(records: list[dict], typed: bool = False) -> tuple[list[str], list[list], list[str], list[list]]:
    """(household header, rows, member header, rows) with the form's Chinese headers."""
    h_head = [_header(f) for _, f in HOUSEHOLD_COLUMNS]
    m_head = ["户编号"] + [_header(f) for _, f in MEMBER_COLUMNS]
    h_rows, m_rows = [], []
    for r in records:
        h_rows.append([_cell(f, _get(r, p), typed) for p, f in HOUSEHOLD_COLUMNS])
        for m in r["members"]:
            m_rows.append([r["id"]] + [_cell(f, m.get(p[0]), typed) for p, f in MEMBER_COLUMNS])
    return h_head, h_rows, m_head, m_rows


def write_csv(path: pathlib.Path, header: list, rows: list, encoding: str = "utf-8-sig") -> pathlib.Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_jsonl(path: pathlib.Path, records: list) -> pathlib.Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_rows(path: pathlib.Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def without(rows: list[dict], *columns: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in columns} for r in rows]


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return households(40)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, records: list[dict]) -> list[dict]:
    """The output of a plain one-process run over the nested JSONL records."""
    d = tmp_path_factory.mktemp("ref")
    run(Job(pack="yuxi", input=write_jsonl(d / "h.jsonl", records), output=d / "out.csv"),
        progress=False)
    return read_rows(d / "out.csv")


def cli(*argv: str) -> int:
    """`rulekit run ...` through the batch command module's own parser."""
    from rulekit.cli import batch
    p = argparse.ArgumentParser(prog="rulekit")
    batch.register(p.add_subparsers(dest="command", required=True))
    args = p.parse_args([str(a) for a in argv])
    return args.handler(args)


CLI_SCRIPT = ("import sys, argparse; from rulekit.cli import batch; p = argparse.ArgumentParser(); "
              "batch.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); "
              "sys.exit(a.handler(a))")


# -- every format, Chinese headers ------------------------------------------------------------------

def test_jsonl_output_matches_evaluate(reference: list[dict], records: list[dict], yuxi: rulekit.Pack) -> None:
    """One row per household, in order, with the engine's outcome, labels, statuses and fired rules."""
    assert [r["id"] for r in reference] == [r["id"] for r in records]
    assert [r["position"] for r in reference] == [str(i) for i in range(len(records))]
    for row, rec in zip(reference, records):
        result = yuxi.evaluate(rec)
        d = result.decision("monitoring")
        assert row["monitoring.outcome"] == (d.outcome or "")
        assert row["monitoring.label"] == (d.label or "")
        assert row["monitoring.status"] == d.status
        assert row["monitoring.missing"] == "、".join(d.missing_facts)
        focus = result.decision("focus_categories")
        assert row["focus_categories.outcome"] == ";".join(i for i, _ in focus.outcomes)
        assert row["fired"] == " ".join(result.fired)
        a = result.value("A")
        assert row["value.A"] == ("?" if isinstance(a, Unknown) else
                                  str(int(a)) if float(a).is_integer() else repr(a))
    assert {r["status"] for r in reference} == {"decided", "needs_review", "undetermined"}


def test_csv_with_chinese_headers_and_members_file(tmp_path: pathlib.Path, records: list[dict],
                                                   reference: list[dict]) -> None:
    h_head, h_rows, m_head, m_rows = tables(records)
    assert "A28" in h_head and "采集时点" in h_head and "健康状况" not in h_head and "A13" in m_head
    write_csv(tmp_path / "户.csv", h_head, h_rows)
    write_csv(tmp_path / "成员.csv", m_head, m_rows)
    s = run(Job(pack="yuxi", input=tmp_path / "户.csv", output=tmp_path / "out.csv",
                members=tmp_path / "成员.csv"), progress=False)
    assert s.rows == len(records) and not s.unattached
    assert read_rows(tmp_path / "out.csv") == reference


def test_csv_in_gbk_as_excel_saves_it(tmp_path: pathlib.Path, records: list[dict],
                                      reference: list[dict]) -> None:
    h_head, h_rows, m_head, m_rows = tables(records[:5])
    write_csv(tmp_path / "h.csv", h_head, h_rows, encoding="gbk")
    write_csv(tmp_path / "m.csv", m_head, m_rows, encoding="gbk")
    job = Job(pack="yuxi", input=tmp_path / "h.csv", output=tmp_path / "out.csv",
              members=tmp_path / "m.csv", lang="en")
    with pytest.raises(BatchError, match="h.csv: the text is not utf-8-sig; for a CSV saved by Excel "
                                         "in Chinese, pass --encoding gbk"):
        run(job, progress=False)
    run(attrs.evolve(job, encoding="gbk"), progress=False)
    assert read_rows(tmp_path / "out.csv") == reference[:5]


def test_xlsx_with_a_members_sheet(tmp_path: pathlib.Path, records: list[dict],
                                   reference: list[dict]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    h_head, h_rows, m_head, m_rows = tables(records, typed=True)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "农户"
    ws.append(h_head)
    for row in h_rows:
        ws.append(row)
    ws.append([None] * len(h_head))                 # a blank row: counted, not a household
    ms = book.create_sheet("家庭成员")
    ms.append(m_head)
    for row in m_rows:
        ms.append(row)
    book.create_sheet("填表说明").append(["本表按全国防返贫监测信息采集表填写"])
    book.save(tmp_path / "户.xlsx")
    s = run(Job(pack="yuxi", input=tmp_path / "户.xlsx", output=tmp_path / "out.csv"), progress=False)
    assert read_rows(tmp_path / "out.csv") == reference
    assert s.blank == 1 and s.unread_sheets == ("户.xlsx[填表说明]",)
    assert "工作表 户.xlsx[填表说明] 未读取" in s.text("zh")


def test_parquet_with_members_file_and_nested_members(tmp_path: pathlib.Path, records: list[dict],
                                                      reference: list[dict]) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    h_head, h_rows, m_head, m_rows = tables(records, typed=True)

    def table(head: list, rows: list) -> object:
        cols = {h: [r[i] for r in rows] for i, h in enumerate(head)}
        # a money column mixes whole and decimal numbers: Arrow stores it as double
        return pa.table({h: pa.array([float(x) if isinstance(x, int) and not isinstance(x, bool) else x
                                      for x in v]) if any(isinstance(x, float) for x in v)
                         else pa.array(v) for h, v in cols.items()})
    pq.write_table(table(h_head, h_rows), tmp_path / "h.parquet")
    pq.write_table(table(m_head, m_rows), tmp_path / "m.parquet")
    run(Job(pack="yuxi", input=tmp_path / "h.parquet", output=tmp_path / "out.csv",
            members=tmp_path / "m.parquet"), progress=False)
    assert read_rows(tmp_path / "out.csv") == reference
    # members nested as a list<struct> column, as a system export would hold them
    nested = [dict(zip(h_head, row), 家庭成员=rec["members"]) for row, rec in zip(h_rows, records)]
    pq.write_table(pa.Table.from_pylist(nested), tmp_path / "n.parquet")
    run(Job(pack="yuxi", input=tmp_path / "n.parquet", output=tmp_path / "n.csv"), progress=False)
    assert read_rows(tmp_path / "n.csv") == reference


def test_jsonl_members_joined_from_a_table(tmp_path: pathlib.Path, records: list[dict],
                                           reference: list[dict]) -> None:
    _, _, m_head, m_rows = tables(records)
    bare = [{k: v for k, v in r.items() if k != "members"} for r in records]
    s = run(Job(pack="yuxi", input=write_jsonl(tmp_path / "h.jsonl", bare), output=tmp_path / "o.jsonl",
                members=write_csv(tmp_path / "m.csv", m_head, m_rows)), progress=False)
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert s.rows == len(rows) == len(records)
    assert [r["decisions"]["monitoring"]["outcome"] or "" for r in rows] == \
        [r["monitoring.outcome"] for r in reference]
    assert rows[0]["decisions"]["focus_categories"]["outcome"] == \
        reference[0]["focus_categories.outcome"].split(";")
    assert isinstance(rows[0]["values"]["A"], (int, float))


def test_other_tables_as_child_tables(tmp_path: pathlib.Path, records: list[dict],
                                      reference: list[dict]) -> None:
    """Crops given as their own table (--table crops=FILE) instead of a JSON cell."""
    h_head, h_rows, m_head, m_rows = tables(records)
    col = h_head.index("种植业、林业、渔业产品")
    crops = [["户编号", "品种名称", "出售金额（元）", "自产自消折价金额（元）", "成本支出（元）"]]
    for row, rec in zip(h_rows, records):
        row[col] = ""
        crops += [[rec["id"], c["name"], c["sales"], c["self_consumed"], c["cost"]]
                  for c in rec["income"]["crops"]]
    write_csv(tmp_path / "h.csv", h_head, h_rows)
    write_csv(tmp_path / "m.csv", m_head, m_rows)
    write_csv(tmp_path / "c.csv", crops[0], crops[1:])
    assert cli("run", "--pack", "yuxi", tmp_path / "h.csv", "-o", tmp_path / "out.csv",
               "--members", tmp_path / "m.csv", "--table", f"种植业、林业、渔业产品={tmp_path / 'c.csv'}",
               "--no-progress") == 0
    assert read_rows(tmp_path / "out.csv") == reference


# -- nothing lost ------------------------------------------------------------------------------------

def test_bad_rows_among_good_ones_counts_reconcile(tmp_path: pathlib.Path, records: list[dict],
                                                   reference: list[dict], capsys) -> None:
    h_head, h_rows, m_head, m_rows = tables(records[:12])
    a28, a4, collected = h_head.index("A28"), h_head.index("A4"), h_head.index("采集时点")
    h_rows[1][a28] = "5,000"                          # thousands separator
    h_rows[3][a28] = "-"                              # a dash is not "no income"
    h_rows[3][a4] = "是的"
    h_rows[5][collected] = "2022/6/30"
    h_rows[7] = h_rows[7][:10]                        # a row cut short
    h_rows.insert(9, [""] * len(h_head))              # a blank row
    m_rows.append(["YX-9999", "无户之人"] + [""] * (len(m_head) - 2))   # a member of no household
    bad_member = next(i for i, r in enumerate(m_rows) if r[0] == "YX-0010")
    m_rows[bad_member][m_head.index("A16")] = "13个月"
    write_csv(tmp_path / "h.csv", h_head, h_rows)
    write_csv(tmp_path / "m.csv", m_head, m_rows)
    code = cli("run", "--pack", "yuxi", tmp_path / "h.csv", "-o", tmp_path / "out.csv",
               "--members", tmp_path / "m.csv", "--lang", "en", "--no-progress")
    assert code == 1
    rows = read_rows(tmp_path / "out.csv")
    assert [r["position"] for r in rows] == [str(i) for i in range(12)]
    assert [r["id"] for r in rows] == [r["id"] for r in records[:12]]
    invalid = {int(r["position"]): r["error"] for r in rows if r["status"] == "invalid"}
    assert invalid == {
        1: "h.csv:3 A28: must be a number written without thousands separators (got '5,000')",
        3: "h.csv:5 A4: must be 是 or 否 (or true/false) (got '是的'); an empty cell means unknown; "
           "h.csv:5 A28: must be a number (got '-'); no value is converted silently, and an empty "
           "cell means unknown",
        5: "h.csv:7 采集时点: must be a date written YYYY-MM-DD (got '2022/6/30')",
        7: f"h.csv:9: the row has 10 cells but the header has {len(h_head)} columns",
        10: "m.csv:" + str(bad_member + 2) + " A16: must be a number (got '13个月'); no value is "
            "converted silently, and an empty cell means unknown",
    }
    good = [i for i in range(12) if i not in invalid]
    assert without([rows[i] for i in good], "error") == without([reference[i] for i in good], "error")
    out = capsys.readouterr().out
    s = {k: sum(1 for r in rows if r["status"] == k) for k in ("decided", "needs_review", "undetermined")}
    assert sum(s.values()) + len(invalid) == 12
    assert (f"12 households: {s['decided']} decided, {s['needs_review']} need review, "
            f"{s['undetermined']} undetermined (facts missing), 5 invalid") in out
    assert "1 blank row(s) skipped" in out
    assert (f"m.csv: 1 row(s) name a household id that is not in the input (or none), so they were "
            f"not attached to any household: m.csv:{len(m_rows) + 1} (YX-9999)") in out


def test_a_record_problem_names_the_member_row(tmp_path: pathlib.Path, records: list[dict]) -> None:
    h_head, h_rows, m_head, m_rows = tables(records[:2])
    m_rows[1][m_head.index("残疾等级")] = "7"
    write_csv(tmp_path / "h.csv", h_head, h_rows)
    write_csv(tmp_path / "m.csv", m_head, m_rows)
    run(Job(pack="yuxi", input=tmp_path / "h.csv", output=tmp_path / "o.csv",
            members=tmp_path / "m.csv", lang="zh"), progress=False)
    assert read_rows(tmp_path / "o.csv")[0]["error"] == \
        "h.csv:2: members[1].disability_grade (m.csv:3): must be at most 4 (got 7)"


def test_every_header_problem_before_any_row(tmp_path: pathlib.Path, capsys) -> None:
    write_csv(tmp_path / "h.csv", ["序号", "工资性收入", "A28", "健康壮况"], [["1", "2", "3", "4"]])
    assert cli("run", "--pack", "yuxi", tmp_path / "h.csv", "-o", tmp_path / "o.csv",
               "--lang", "en") == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "h.csv: column '序号' is not a field of the household record; correct the header, or pass "
        "--ignore to leave the column out",
        "h.csv: columns '工资性收入' and 'A28' both give income.wage_income; keep one of them",
        "h.csv: column '健康壮况' is not a field of the household record; correct the header, or pass "
        "--ignore to leave the column out",
        "h.csv: there is no household id column; head one column id、户编号、household_id、household id、户主编号",
    ]
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.csv.part").exists()
    assert cli("run", "--pack", "yuxi", tmp_path / "h.csv", "-o", tmp_path / "o.csv") == 2
    assert "列“序号”不是农户记录的字段；请改正表头，或用 --ignore 指明不读这一列" in capsys.readouterr().err


def test_header_spellings() -> None:
    """Names, dotted paths, labels with or without the unit, half-width brackets, code + label."""
    m = C.household_mapping(rulekit.load_pack("yuxi").spec)
    for header in ("wage_income", "income.wage_income", "工资性收入（元）", "工资性收入(元)", "工资性收入",
                   "A28", "a28", " A28 ", "A28 工资性收入", "A28工资性收入（元）"):
        assert m.find(header).path == ("income", "wage_income"), header
    assert m.find("A27a").path == ("risks", "disaster_types")
    assert m.find("A13 健康状况") is None            # a member field, not a household column
    assert m.find("A28 转移性收入") is None          # code and label disagree
    assert m.find("户编号").path == ("id",)


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("number", " 5000 ", 5000), ("number", "12.5", 12.5), ("number", 3, 3), ("number", "", None),
    ("integer", "3.0", 3), ("integer", 4.0, 4), ("bool", "是", True), ("bool", "FALSE", False),
    ("bool", True, True), ("date", "2022-06-30", "2022-06-30"),
    ("date", dt.datetime(2022, 6, 30), "2022-06-30"), ("date", dt.date(2022, 6, 30), "2022-06-30"),
    ("text", 530421001, "530421001"), ("text", " 李明 ", " 李明 "), ("enum", " 患有大病 ", "患有大病"),
    ("enum_list", "因病、因学", ["因病", "因学"]), ("enum_list", "[]", []),
    ("items", '[{"name": "烤烟"}]', [{"name": "烤烟"}]), ("number", float("nan"), None),
])
def test_cells_convert_exactly(kind: str, value: object, expected: object) -> None:
    assert C.convert(kind, value) == expected


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("number", "无", "must be a number (got '无')"),
    ("number", "1,234.5", "must be a number written without thousands separators (got '1,234.5')"),
    ("number", True, "must be a number (got True)"),
    ("number", "inf", "must be a number (got 'inf')"),
    ("number", "１２", "must be a number (got '１２')"),
    ("number", "1_000", "must be a number (got '1_000')"),
    ("integer", "2.5", "must be a whole number (got '2.5')"),
    ("bool", 1, "must be 是 or 否 (or true/false) (got 1)"),
    ("date", 44742, "must be a date written YYYY-MM-DD (got 44742)"),
    ("date", "2022-02-30", "must be a date written YYYY-MM-DD (got '2022-02-30')"),
    ("date", dt.datetime(2022, 6, 30, 8, 15), "must be a date without a time of day (got 2022-06-30 08:15:00)"),
    ("text", 110101199001011234.0, "must be text, but the spreadsheet holds it as the number "
                                   "1.1010119900101123e+17, which may have lost digits"),
    ("items", "烤烟", "must be a JSON list of objects such as"),
])
def test_cells_are_never_coerced(kind: str, value: object, message: str) -> None:
    with pytest.raises(C.CellError) as e:
        C.convert(kind, value)
    assert e.value.problem("x").message.startswith(message)


# -- resumable ---------------------------------------------------------------------------------------

def test_interrupted_run_resumes_without_duplicate_or_gap(tmp_path: pathlib.Path, records: list[dict],
                                                          reference: list[dict]) -> None:
    job = Job(pack="yuxi", input=write_jsonl(tmp_path / "h.jsonl", records), output=tmp_path / "o.csv",
              chunk_size=5, checkpoint_seconds=0, lang="en")

    def stop(rows: int) -> None:
        if rows >= 15:
            raise KeyboardInterrupt
    with pytest.raises(Interrupted, match="interrupted: 15 households done and saved"):
        run(job, progress=False, on_chunk=stop)
    assert not (tmp_path / "o.csv").exists()
    assert len(read_rows(tmp_path / "o.csv.part")) == 15
    s = run(attrs.evolve(job, resume=True), progress=False)
    assert s.resumed_from == 15 and s.rows == len(records)
    assert read_rows(tmp_path / "o.csv") == reference
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.jsonl", "o.csv"]


def test_resume_refuses_a_different_run(tmp_path: pathlib.Path, records: list[dict]) -> None:
    job = Job(pack="yuxi", input=write_jsonl(tmp_path / "h.jsonl", records), output=tmp_path / "o.csv",
              chunk_size=5, checkpoint_seconds=0, lang="en")

    def stop(rows: int) -> None:
        raise KeyboardInterrupt
    with pytest.raises(Interrupted):
        run(job, progress=False, on_chunk=stop)
    with pytest.raises(BatchError, match=r"o.csv.journal: the interrupted run differs from this one "
                                         r"\(as_of changed\), so it cannot be continued"):
        run(attrs.evolve(job, resume=True, as_of="2022-01-01"), progress=False)


def kill_after(argv: list[str], out: pathlib.Path, rows: int) -> tuple[int, int]:
    """Start `rulekit run argv` in its own process, kill it with SIGKILL once its journal records
    `rows` rows written; (rows its last whole checkpoint records, the killed process's id)."""
    proc = subprocess.Popen([sys.executable, "-c", CLI_SCRIPT, *argv], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = part_path(out, ".journal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
        lines = journal.read_text(encoding="utf-8").splitlines() if journal.exists() else []
        if len(lines) > 3 and json.loads(lines[-2])["rows"] >= rows:   # the last may be half written
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, proc.stderr.read().decode()
    return json.loads(journal.read_text(encoding="utf-8").splitlines()[-2])["rows"], proc.pid


def test_killed_run_resumes(tmp_path: pathlib.Path, records: list[dict]) -> None:
    """kill -9 in the middle of a run (any instant: between a write and its checkpoint too), then
    --resume: one row per input, in input order, no duplicate, no gap, equal to a clean run."""
    many = households(1500, seed=3)
    src = write_jsonl(tmp_path / "h.jsonl", many)
    out = tmp_path / "o.csv"
    argv = ["run", "--pack", "yuxi", str(src), "-o", str(out), "--chunk-size", "20",
            "--checkpoint-seconds", "0.02", "--no-progress"]
    done, _ = kill_after(argv, out, 200)
    assert 200 <= done < len(many)
    s = run(Job(pack="yuxi", input=src, output=out, resume=True, chunk_size=20), progress=False)
    assert s.resumed_from >= done and s.rows == len(many)
    resumed = read_rows(out)
    assert [r["position"] for r in resumed] == [str(i) for i in range(len(many))]
    assert [r["id"] for r in resumed] == [r["id"] for r in many]
    run(Job(pack="yuxi", input=src, output=tmp_path / "clean.csv"), progress=False)
    assert resumed == read_rows(tmp_path / "clean.csv")


# -- parallel and distributed ------------------------------------------------------------------------

def test_two_workers_equal_one(tmp_path: pathlib.Path, records: list[dict], reference: list[dict]) -> None:
    h_head, h_rows, m_head, m_rows = tables(records)
    h_rows[4][h_head.index("A28")] = "很多"
    write_csv(tmp_path / "h.csv", h_head, h_rows)
    write_csv(tmp_path / "m.csv", m_head, m_rows)
    one = Job(pack="yuxi", input=tmp_path / "h.csv", output=tmp_path / "one.csv",
              members=tmp_path / "m.csv", full=tmp_path / "one.jsonl", chunk_size=7)
    two = attrs.evolve(one, output=tmp_path / "two.csv", full=tmp_path / "two.jsonl", workers=2)
    s1, s2 = run(one, progress=False), run(two, progress=False)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert s1.statuses == s2.statuses and s1.statuses["invalid"] == 1
    full = [json.loads(line) for line in (tmp_path / "two.jsonl").read_text(encoding="utf-8").splitlines()]
    assert full[0]["decisions"]["monitoring"]["reasons"]     # the whole reason chain is kept
    assert full[4] == {"position": 4, "record_id": "YX-0004", "error": read_rows(tmp_path / "two.csv")[4]["error"]}


def test_dask_equals_the_local_run(tmp_path: pathlib.Path, records: list[dict]) -> None:
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    from rulekit.batch import dask as rk
    nested = [{k: v for k, v in r.items()} for r in records]
    h_head, h_rows, _, _ = tables(records)
    h_head.append("家庭成员")
    for row, rec in zip(h_rows, nested):
        row.append(json.dumps(rec["members"], ensure_ascii=False))   # members as a JSON cell
    h_rows[6][h_head.index("A28")] = "5,000"
    h_rows.insert(9, [""] * len(h_head))           # a blank row: counted, not a household
    write_csv(tmp_path / "h.csv", h_head, h_rows)
    s = run(Job(pack="yuxi", input=tmp_path / "h.csv", output=tmp_path / "local.csv"), progress=False)
    local = read_rows(tmp_path / "local.csv")
    ddf = dd.read_csv(tmp_path / "h.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig",
                      blocksize=10_000)
    assert ddf.npartitions > 2
    rows = rk.decide(ddf, "yuxi").compute(scheduler="sync").to_dict("records")
    assert without(rows, "error") == without(local, "error")
    assert rows[6]["error"] == "dask row 7 A28: 数字中不能有千位分隔符（现在是 '5,000'）"
    assert local[6]["error"] == "h.csv:8 A28: 数字中不能有千位分隔符（现在是 '5,000'）"
    result = rk.run(ddf, "yuxi", tmp_path / "decided.parquet", scheduler="threads")
    assert result.statuses == s.statuses and result.rows == len(records)
    assert result.blank == s.blank == 1
    back = pd.read_parquet(tmp_path / "decided.parquet").to_dict("records")
    assert without(back, "error") == without(local, "error")


# -- population reports ------------------------------------------------------------------------------

# the report pack of tests/test_report.py, plus a first-hit decision the run's rows show
REPORT_PACK = REPORT_TEST_PACK.replace("reports:\n", """decisions:
  category:
    label: 监测类别
    hit: first
    outcomes:
      - {id: unstable, label: 脱贫不稳定户, when: "monitoring_category == \\"脱贫不稳定户\\"", status: decided, cites: [NAT-FORM]}
      - {id: other, label: 其他, status: decided, cites: [NAT-FORM]}
reports:
""", 1)


def test_report_from_the_run_equals_pack_report(tmp_path: pathlib.Path) -> None:
    d = tmp_path / "demo"
    d.mkdir()
    (d / "pack.yaml").write_text(textwrap.dedent(REPORT_PACK), encoding="utf-8")
    pack = rulekit.load_pack(d)
    rnd = random.Random(5)
    recs = [{"id": f"H{i}", "town": rnd.choice(["甲镇", "乙镇", "丙镇"]), "alleviated": rnd.random() < 0.8,
             "monitoring_category": rnd.choice(["脱贫不稳定户", "非监测对象", "非监测对象"]),
             "members": [{"age": 40}] * rnd.randint(1, 5)} for i in range(300)]
    del recs[3]["town"]                                         # unplaced
    del recs[8]["monitoring_category"]                          # counted as unknown
    recs[8]["alleviated"] = True
    recs[11]["members"] = [{"age": -1}]                         # invalid
    src = write_jsonl(tmp_path / "h.jsonl", recs)
    expected = pack.report("exit_audit", recs, as_of=AS_OF)
    for workers in (1, 2):
        out = tmp_path / f"o{workers}.csv"
        assert cli("run", "--pack", d, src, "-o", out, "--report", "exit_audit", "--as-of", AS_OF,
                   "--workers", workers, "--no-progress") == 1          # one invalid record
        got = json.loads((tmp_path / f"o{workers}.exit_audit.json").read_text(encoding="utf-8"))
        want = expected.to_dict()
        assert [i["position"] for i in got.pop("invalid")] == [i["position"] for i in want.pop("invalid")] == [11]
        assert got == want                                        # every group, cell by cell
        assert (tmp_path / f"o{workers}.exit_audit.csv").read_bytes().decode("utf-8-sig") == expected.to_csv()
    assert expected.unplaced == ["H3"]
    assert isinstance(expected.group(town=recs[8]["town"]).measures["wrong"], Unknown)
    assert cli("run", "--pack", d, src, "-o", tmp_path / "x.csv", "--report", "exit_audit") == 2


def test_dask_report_equals_pack_report(tmp_path: pathlib.Path) -> None:
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    from rulekit.batch import dask as rk
    d = tmp_path / "demo"
    d.mkdir()
    (d / "pack.yaml").write_text(textwrap.dedent(REPORT_PACK), encoding="utf-8")
    pack = rulekit.load_pack(d)
    recs = [{"id": f"H{i}", "town": ["甲镇", "乙镇"][i % 2], "alleviated": i % 5 != 0,
             "monitoring_category": ["脱贫不稳定户", "非监测对象"][i % 3 == 0],
             "members": [{"age": 40}] * (1 + i % 4)} for i in range(120)]
    frame = pd.DataFrame({"户编号": [r["id"] for r in recs], "乡（镇、街道）": [r["town"] for r in recs],
                          "A4": [r["alleviated"] for r in recs],
                          "A3": [r["monitoring_category"] for r in recs],
                          "家庭成员": [json.dumps(r["members"]) for r in recs]})
    ddf = dd.from_pandas(frame, npartitions=4)
    result = rk.run(ddf, str(d), tmp_path / "o", as_of=AS_OF, reports=["exit_audit"], scheduler="sync")
    expected = pack.report("exit_audit", recs, as_of=AS_OF).to_dict()
    assert result.reports["exit_audit"].to_dict() == expected
    # a run that stopped after some partitions: resume decides only the rest, same report
    (tmp_path / "o" / "_part.00002.tally").unlink()
    (tmp_path / "o" / "part.00002.parquet").unlink()
    again = rk.run(ddf, str(d), tmp_path / "o", as_of=AS_OF, reports=["exit_audit"], resume=True,
                   scheduler="sync")
    assert again.reports["exit_audit"].to_dict() == expected and again.rows == 120
    assert len(pd.read_parquet(tmp_path / "o")) == 120
    with pytest.raises(BatchError, match=r"\(as_of changed\)"):
        rk.run(ddf, str(d), tmp_path / "o", as_of="2022-01-01", reports=["exit_audit"], resume=True)


def test_dask_on_a_local_cluster_equals_the_local_run(tmp_path: pathlib.Path, records: list[dict]) -> None:
    """On a real (local) cluster, with worker processes that load the pack themselves and send
    their tallies back: the same output rows, statuses and report as one local process."""
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    import dask.dataframe as dd
    import pandas as pd

    from rulekit.batch import dask as rk
    d = tmp_path / "demo"
    d.mkdir()
    (d / "pack.yaml").write_text(textwrap.dedent(REPORT_PACK), encoding="utf-8")
    recs = [{"id": f"H{i}", "town": ["甲镇", "乙镇"][i % 2], "alleviated": i % 5 != 0,
             "monitoring_category": ["脱贫不稳定户", "非监测对象"][i % 3 == 0],
             "members": [{"age": 40}] * (1 + i % 4)} for i in range(90)]
    header = ["户编号", "乡（镇、街道）", "A4", "A3", "家庭成员"]
    rows = [[r["id"], r["town"], "是" if r["alleviated"] else "否", r["monitoring_category"],
             json.dumps(r["members"], ensure_ascii=False)] for r in recs]
    rows[5][2] = "也许"                                    # a bad cell: an error row everywhere
    write_csv(tmp_path / "h.csv", header, rows)
    local = run(Job(pack=str(d), input=tmp_path / "h.csv", output=tmp_path / "local.csv",
                    as_of=AS_OF, reports=("exit_audit",)), progress=False)
    ddf = dd.read_csv(tmp_path / "h.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig",
                      blocksize=1_500)
    assert ddf.npartitions > 2
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        result = rk.run(ddf, str(d), tmp_path / "o", as_of=AS_OF, reports=["exit_audit"])
    assert result.statuses == local.statuses and result.statuses["invalid"] == 1
    back = pd.read_parquet(tmp_path / "o").to_dict("records")
    assert without(back, "error") == without(read_rows(tmp_path / "local.csv"), "error")
    on_cluster = result.reports["exit_audit"].to_dict()
    one_process = json.loads(local.reports["exit_audit"][1].read_text(encoding="utf-8"))
    assert on_cluster["groups"] == one_process["groups"] and on_cluster["groups"]
    # invalid records keep their position; the error locates the row as each runner can
    assert [(i["position"], i["record_id"], i["error"]) for i in on_cluster["invalid"]] == [
        (5, "H5", "dask row 6 A4: must be 是 or 否 (or true/false) (got '也许'); an empty cell means unknown")]
    assert [(i["position"], i["record_id"], i["error"]) for i in one_process["invalid"]] == [
        (5, "H5", "h.csv:7 A4: must be 是 or 否 (or true/false) (got '也许'); an empty cell means unknown")]


# -- the rest of the contract -------------------------------------------------------------------------

def test_columns_command_and_documented_mapping(capsys) -> None:
    """docs/batch.md holds the mapping exactly as `rulekit columns` prints it (from the model)."""
    assert cli("columns", "--pack", "national") == 0
    table = capsys.readouterr().out
    assert "| income.wage_income | 数字 | 工资性收入（元）（A28） | wage_income · income.wage_income · " \
           "工资性收入（元） · 工资性收入 · A28 |" in table
    assert table in (ROOT / "docs" / "batch.md").read_text(encoding="utf-8")
    assert cli("columns", "--pack", "national", "--table", "家庭成员") == 0
    members = capsys.readouterr().out
    assert "| health | 取值表中的值：健康、长期慢性病、患有大病、残疾 | 健康状况（A13） |" in members
    assert members in (ROOT / "docs" / "batch.md").read_text(encoding="utf-8")


def test_missing_optional_reader_names_the_extra() -> None:
    with pytest.raises(BatchError) as e:
        need("no_such_module_xyz", "xlsx", pathlib.Path("户.xlsx"))
    assert e.value.text("en") == ("户.xlsx: reading this file needs no_such_module_xyz; install it "
                                  "with pip install 'rulekit[xlsx]'")


def test_selected_values_and_unknown_value(tmp_path: pathlib.Path, records: list[dict]) -> None:
    src = write_jsonl(tmp_path / "h.jsonl", records[:3])
    run(Job(pack="yuxi", input=src, output=tmp_path / "o.csv", values=("A", "monitoring_line")),
        progress=False)
    assert [c for c in read_rows(tmp_path / "o.csv")[0] if c.startswith("value.")] == \
        ["value.A", "value.monitoring_line"]
    with pytest.raises(BatchError, match=r"'monitoring_lin' is not a value of pack 'yuxi' "
                                         r"\(did you mean 'monitoring_line'\?\)"):
        run(Job(pack="yuxi", input=src, output=tmp_path / "o.csv", values=("monitoring_lin",),
                lang="en"), progress=False)


def test_rows_of_a_table_make_canonical_records(records: list[dict]) -> None:
    """A table's Chinese values (脱贫不稳定户, 户主, 因病...) become their codes as the row is read,
    so the record is canonical: normalise takes its quick way and returns the record as it is,
    equal to what the full normalisation makes of it."""
    from rulekit.record import schema
    pack = rulekit.load_pack("yuxi")
    h_head, h_rows, m_head, m_rows = tables(records)
    plan = C.plan_table(C.household_mapping(pack.spec), h_head, "h.csv", ())
    child = C.find_child("members")
    m_plan = C.plan_table(C.child_mapping(pack.spec, child), m_head, "m.csv", ())
    for rec, row in zip(records, h_rows):
        problems: list = []
        made = C.row_record(plan, "h.csv:2", tuple(row), problems)
        made["members"] = [{k: v for k, v in C.row_record(m_plan, "m.csv:2", tuple(m), problems).items()
                            if k != "#household"} for m in m_rows if m[0] == rec["id"]]
        assert not problems
        assert made.get("monitoring_category") in M.ENUMS["monitoring_category"]     # a code
        assert {m["relation"] for m in made["members"]} <= set(M.ENUMS["relation"])
        assert schema._already_canonical(made) == schema._normalise_full(copy.deepcopy(made))
