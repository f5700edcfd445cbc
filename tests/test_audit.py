"""Auditing: the decision record and its shipped schema, verify (reproduces or says what differs),
the append-only decision log under concurrent appends, its queries, and the auditor commands."""
from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import pathlib
import sqlite3
from importlib import resources

import jsonschema
import pytest
import referencing

import rulekit
from rulekit.audit.record import check_record, input_digest, make_record, read_records, record_schema
from rulekit.audit.store import Query, open_store
from rulekit.audit.verify import Difference, verify
from rulekit.cli import audit as cli
from rulekit.errors import AuditError
from rulekit.pack.spec import bundled_packs, policies_root
from rulekit.trace.messages import t
from rulekit.trace.render import render
from tests.test_render import demo_household, demo_pack, golden_record

LINE_6500 = """\
overrides_for: {pack}
parameters:
  {name}:
    values:
      - {{from: {start}, value: {value}, source: 2023年监测底线通知}}
"""


def override_file(tmp_path: pathlib.Path, pack: str, name: str, value: float, start: str = "2022-01-01",
                  file: str = "line.yaml") -> pathlib.Path:
    path = tmp_path / file
    path.write_text(LINE_6500.format(pack=pack, name=name, value=value, start=start), encoding="utf-8")
    return path


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run an auditor command through a parser built here (the module's own `register`)."""
    p = argparse.ArgumentParser(prog="rulekit")
    cli.register(p.add_subparsers(dest="command", required=True))
    args = p.parse_args([str(a) for a in argv])
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


# -- the decision record --------------------------------------------------------------------------------

def test_record_matches_the_shipped_schema(yuxi: rulekit.Pack, example: dict) -> None:
    """The record validates against decision_record.schema.json (with the result schema it refers to)."""
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    result_schema = json.loads(resources.files("rulekit.trace").joinpath("result.schema.json").read_text("utf-8"))
    registry = referencing.Registry().with_resource(result_schema["$id"],
                                                    referencing.Resource.from_contents(result_schema))
    record = make_record(yuxi.evaluate(example, parameters={"monitoring_line": 6500}))
    jsonschema.Draft202012Validator(schema, registry=registry).validate(record)
    assert record["kind"] == "rulekit-decision-record" and record["schema_version"] == "1"
    assert record["household_id"] == "YX-530421-0001"
    assert record["pack"]["id"] == "yuxi" and len(record["pack"]["sha256"]) == 64
    assert record["arguments"] == {"monitoring_line": 6500}
    assert record["decisions"]["monitoring"]["status"] == "decided"
    assert set(record["rule_chains"]) == set(yuxi.spec.rules)
    assert record["input_sha256"] == input_digest(record["input"])
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record


def test_record_keeps_override_file_parameters(tmp_path: pathlib.Path, example: dict) -> None:
    over = override_file(tmp_path, "yuxi", "monitoring_line", 6500)
    record = make_record(rulekit.load_pack("yuxi", overrides=[over]).evaluate(example))
    [(name, p)] = record["parameter_overrides"].items()
    assert name == "monitoring_line" and p["value"] == 6500 and p["from"] == "2022-01-01"
    assert p["origin"].startswith("override:") and p["origin"].endswith("line.yaml")
    assert record["pack"]["files"][-1].endswith("line.yaml")


def test_invalid_record_lists_every_problem(yuxi: rulekit.Pack, example: dict) -> None:
    record = make_record(yuxi.evaluate(example))
    del record["fired"]
    record["pack"]["sha256"] = "abc"
    with pytest.raises(AuditError) as e:
        check_record(record)
    assert str(e.value) == e.value.message
    assert [str(p) for p in e.value.problems] == [
        "(record): 'fired' is a required property",
        "pack.sha256: 'abc' does not match '^[0-9a-f]{64}$'"]
    with pytest.raises(AuditError, match=r"kind: a decision record must have kind "
                                         r"'rulekit-decision-record' \(got None\)"):
        check_record(example)


def test_read_records_names_the_file_and_position(tmp_path: pathlib.Path, yuxi: rulekit.Pack,
                                                  example: dict) -> None:
    good = make_record(yuxi.evaluate(example))
    path = tmp_path / "d.json"
    path.write_text(json.dumps([good, {"kind": "x"}], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(AuditError) as e:
        read_records(path)
    assert [str(p) for p in e.value.problems] == [
        f"{path} [1] kind: a decision record must have kind 'rulekit-decision-record' (got 'x')"]


# -- verify ---------------------------------------------------------------------------------------------

def test_verify_reproduces_with_the_same_pack(yuxi: rulekit.Pack, example: dict) -> None:
    record = json.loads(json.dumps(make_record(yuxi.evaluate(example, parameters={"monitoring_line": 6500}))))
    v = verify(record, yuxi)
    assert v.reproduces and v.identical and v.input_intact and v.differences == ()
    assert t("audit_identical", "en") in v.text("en")


def test_verify_detects_a_changed_parameter(tmp_path: pathlib.Path, yuxi: rulekit.Pack, example: dict) -> None:
    """Verifying with an override file that moves the monitoring line names the parameter with its
    old and new value and origin, the pack hash, and the decision that changed."""
    record = make_record(yuxi.evaluate(example))
    pack = rulekit.load_pack("yuxi", overrides=[override_file(tmp_path, "yuxi", "monitoring_line", 4400)])
    v = verify(record, pack)
    assert not v.reproduces and not v.identical and v.input_intact
    kinds = {d.kind: d for d in v.differences}
    assert kinds["decision"] == Difference(
        "decision", "monitoring",
        {"outcomes": ["unstable"], "status": "decided", "missing_facts": [], "review": []},
        {"outcomes": ["sudden"], "status": "needs_review", "missing_facts": [],
         "review": [pack.evaluate(example).decision("monitoring").review[0]]})
    [param] = [d for d in v.differences if d.kind == "parameter"]
    assert param.name == "monitoring_line"
    assert param.old == {"value": 6000, "from": "2020-01-01", "origin": "pack:yuxi"}
    assert param.new["value"] == 4400 and param.new["from"] == "2022-01-01"
    assert [d.name for d in v.differences if d.kind == "pack"] == ["sha256", "files"]
    assert v.text("zh").splitlines()[1] == f"  {t('audit_not_reproduced')}"
    assert "  - 参数 monitoring_line：原为 6000 (pack:yuxi, 自2020-01-01起施行)，现为 4400 (override:" \
        in v.text("zh")


def test_verify_a_parameter_change_that_does_not_change_the_outcome(tmp_path: pathlib.Path,
                                                                    yuxi: rulekit.Pack, example: dict) -> None:
    """The decisions reproduce but the record is not identical: the difference is still named."""
    record = make_record(yuxi.evaluate(example))
    pack = rulekit.load_pack("yuxi", overrides=[override_file(tmp_path, "yuxi", "monitoring_line", 6100)])
    v = verify(record, pack)
    assert v.reproduces and not v.identical
    assert t("audit_reproduces", "en") in v.text("en")
    assert "parameter monitoring_line: was 6000 (pack:yuxi, in force from 2020-01-01), is now 6100" \
        in v.text("en")


def test_verify_detects_a_changed_pack(tmp_path: pathlib.Path) -> None:
    """The pack file itself was edited (the line lowered): its hash, the parameter and the outcome."""
    old = demo_pack(tmp_path / "a")
    record = make_record(old.evaluate(demo_household(wage=5000), as_of="2022-06-30"))
    from tests.test_render import DEMO
    new = demo_pack(tmp_path / "b", DEMO.replace("value: 6000", "value: 4000"))
    v = verify(record, new)
    assert not v.reproduces
    assert [(d.kind, d.name) for d in v.differences] == [
        ("decision", "monitoring"), ("pack", "sha256"), ("pack", "files"), ("parameter", "line"),
        ("rule", "LOW")]
    assert v.differences[0].old["outcomes"] == ["monitored"]
    assert v.differences[0].new["outcomes"] == ["not_monitored"]
    assert v.differences[3].old["value"] == 6000 and v.differences[3].new["value"] == 4000
    assert v.differences[4] == Difference("rule", "LOW", "fired", "not_fired")


def test_verify_detects_an_altered_input(yuxi: rulekit.Pack, example: dict) -> None:
    record = json.loads(json.dumps(make_record(yuxi.evaluate(example))))
    record["input"]["income"]["dividend"] = 99999
    v = verify(record, yuxi)
    assert not v.input_intact and not v.reproduces
    assert v.differences[0].kind == "input"
    assert v.text("en").splitlines()[2] == f"  - {t('audit_input_altered', 'en')}"


def test_verify_command_exit_status(tmp_path: pathlib.Path, capsys, example: dict) -> None:
    yuxi = rulekit.load_pack("yuxi")
    path = tmp_path / "d.json"
    path.write_text(json.dumps(make_record(yuxi.evaluate(example)), ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(["verify", path, "--pack", "yuxi", "--lang", "en"], capsys)
    assert code == 0 and t("audit_identical", "en") in out
    over = override_file(tmp_path, "yuxi", "monitoring_line", 4400)
    code, out, _ = run(["verify", path, "--pack", "yuxi", "--overrides", over, "--format", "json"], capsys)
    [v] = json.loads(out)
    assert code == 1 and v["reproduces"] is False
    assert any(d["kind"] == "parameter" and d["name"] == "monitoring_line" for d in v["differences"])


# -- the decision log ---------------------------------------------------------------------------------------

def test_log_is_append_only(tmp_path: pathlib.Path, yuxi: rulekit.Pack, example: dict) -> None:
    db = tmp_path / "log.sqlite"
    with open_store(db) as store:
        store.append(make_record(yuxi.evaluate(example), record_id="R1"))
        with pytest.raises(AuditError, match="is already in the log"):
            store.append(make_record(yuxi.evaluate(example), record_id="R1"))
        assert store.count() == 1
    raw = sqlite3.connect(db)
    for sql in ("UPDATE decisions SET as_of = '2000-01-01'", "DELETE FROM decisions",
                "UPDATE outcomes SET outcome = 'x'", "DELETE FROM rules"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute(sql)
    raw.close()


def test_a_file_that_is_not_a_log_is_refused(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "not.sqlite"
    bad.write_text("hello, this is not a database at all" * 100)
    with pytest.raises(AuditError, match="is not a rulekit decision log"):
        open_store(bad)


def _append_worker(db: str, records: list[dict], barrier, errors) -> None:
    barrier.wait()                   # both processes open the (new) log and append at the same time
    try:
        with open_store(db) as store:
            for r in records:
                store.append(r)      # one transaction each, so the two processes interleave
    except Exception as e:           # reported by the test, then the process fails
        errors.put(repr(e))
        raise


def test_concurrent_appends_from_two_processes(tmp_path: pathlib.Path) -> None:
    """Two processes append 60 records each to a new log: 120 rows, none lost or duplicated, the
    file is intact, and every household's chain of previous rows is unbroken."""
    pack = demo_pack(tmp_path)
    base = make_record(pack.evaluate(demo_household(), as_of="2022-06-30"))
    batches = [[dict(base, record_id=f"{tag}-{i}", household_id=f"H{i % 7}") for i in range(60)]
               for tag in ("a", "b")]
    db = tmp_path / "log.sqlite"
    # fork where there is one: the children need nothing re-imported (the parent opened no connection)
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier, errors = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_append_worker, args=(str(db), batch, barrier, errors)) for batch in batches]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0], [errors.get() for _ in range(errors.qsize())]
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert raw.execute("SELECT count(*), count(DISTINCT record_id) FROM decisions").fetchone() == (120, 120)
    assert raw.execute("SELECT count(*) FROM rules").fetchone() == (120 * 2,)
    rows = raw.execute("SELECT seq, household_id, previous_seq, record_id FROM decisions ORDER BY seq").fetchall()
    raw.close()
    assert {r[3] for r in rows} == {r["record_id"] for b in batches for r in b}
    last: dict[str, int] = {}
    for seq, household, previous, _ in rows:
        assert previous == last.get(household), (seq, household)
        last[household] = seq
    with open_store(db) as store:
        assert [len(store.history(f"H{i}")) for i in range(7)] == [18, 18, 18, 18, 16, 16, 16]


@pytest.fixture(scope="module")
def filled_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, dict]:
    """A log of yuxi decisions: the example twice (the second a year on under a new line), an
    exception sent to review, an exclusion by X3, an undetermined household, and one demo pack row.
    Read-only for the tests that use it."""
    tmp_path = tmp_path_factory.mktemp("log")
    yuxi = rulekit.load_pack("yuxi")
    later = rulekit.load_pack("yuxi", overrides=[override_file(tmp_path, "yuxi", "monitoring_line", 6500,
                                                               start="2023-01-01")])
    example = golden_record("example")
    next_year = json.loads(json.dumps(example))
    next_year["collected_on"] = "2023-06-30"
    next_year["income"]["dividend"] = 9000
    made = [
        make_record(yuxi.evaluate(example), decided_at="2022-07-05T09:00:00+08:00"),
        make_record(yuxi.evaluate(golden_record("XO-X3")), decided_at="2022-07-05T09:01:00+08:00"),
        make_record(yuxi.evaluate(golden_record("X3-price-at-bound")), decided_at="2022-07-06T10:00:00+08:00"),
        make_record(yuxi.evaluate(golden_record("MISS-dividend")), decided_at="2022-07-06T10:05:00+08:00"),
        make_record(later.evaluate(next_year), decided_at="2023-07-02T08:00:00+08:00"),
        make_record(demo_pack(tmp_path).evaluate(demo_household("YX-530421-0001"), as_of="2023-06-30"),
                    decided_at="2023-07-03T08:00:00+08:00"),
    ]
    db = tmp_path / "log.sqlite"
    with open_store(db) as store:
        store.append_many(made[:4])
        for r in made[4:]:
            store.append(r)
    return db, {i + 1: r for i, r in enumerate(made)}


def seqs(db: pathlib.Path, **kw) -> list[int]:
    with open_store(db) as store:
        return [e.seq for e in store.query(Query(**kw))]


def test_queries_return_exactly_the_expected_rows(filled_log) -> None:
    import datetime as dt
    db, _ = filled_log
    assert seqs(db) == [1, 2, 3, 4, 5, 6]
    assert seqs(db, household="YX-530421-0001") == [1, 5, 6]
    assert seqs(db, household="nobody") == []
    assert seqs(db, rules=(("X3", "fired"),)) == [3]
    assert seqs(db, rules=(("YX-X3", "fired"),)) == [3]               # by catalogue id
    assert seqs(db, rules=(("X3", "overridden"),)) == [2]
    assert seqs(db, rules=(("F4", "fired"), ("X3", "not_fired"))) == [1, 5]
    assert seqs(db, outcomes=(("monitoring", "excluded"),)) == [3]
    assert seqs(db, outcomes=(("monitoring", "excluded"),), rules=(("X3", "fired"),),
                date_from=dt.date(2022, 1, 1), date_to=dt.date(2022, 12, 31)) == [3]
    assert seqs(db, outcomes=(("focus_categories", "F2"),)) == [1, 5]
    assert seqs(db, statuses=((None, "undetermined"),)) == [4]
    assert seqs(db, statuses=(("monitoring", "needs_review"),)) == [2, 5]
    assert seqs(db, pack_id="demo") == [6]
    assert seqs(db, pack_id="yuxi", pack_version="1.0.0") == [1, 2, 3, 4, 5]
    assert seqs(db, pack_version="9") == []
    assert seqs(db, date_from=dt.date(2023, 1, 1)) == [5, 6]
    assert seqs(db, date_to=dt.date(2022, 6, 30)) == [1, 2, 3, 4]
    assert seqs(db, dates="decided_at", date_from=dt.date(2022, 7, 6), date_to=dt.date(2022, 7, 6)) == [3, 4]


def test_history_links_each_decision_to_the_previous_one(filled_log) -> None:
    """A re-decision is a new row pointing at the household's previous row under the same pack."""
    db, made = filled_log
    with open_store(db) as store:
        history = store.history("YX-530421-0001")
        assert [(e.seq, e.previous_seq, e.pack_id) for e in history] == [(1, None, "yuxi"), (5, 1, "yuxi"),
                                                                         (6, None, "demo")]
        assert history[1].decisions["monitoring"] == (("sudden",), "needs_review")
        assert store.get(5) == made[5]


def test_audit_command_history_says_when_and_why_the_outcome_changed(filled_log, capsys) -> None:
    db, _ = filled_log
    code, out, _ = run(["audit", db, "--household", "YX-530421-0001", "--format", "csv", "--lang", "en"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["seq"] for r in rows] == ["1", "5", "6"]
    assert rows[0]["changes"] == "first decision"
    changes = rows[1]["changes"].split("; ")
    assert changes[:3] == ["decision monitoring: unstable (decided) → sudden (needs review)",
                           "fact collected_on: 2022-06-30 → 2023-06-30",
                           "fact income.dividend: 300 → 9000"]
    assert any(c.startswith("parameter monitoring_line: 6000 (pack:yuxi, in force from 2020-01-01) → "
                            "6500 (override:") for c in changes)
    assert rows[1]["monitoring"] == "sudden" and rows[1]["monitoring.status"] == "needs_review"


def test_audit_command_table_and_json(filled_log, capsys) -> None:
    db, made = filled_log
    code, out, _ = run(["audit", db, "--rule", "YX-X3", "--outcome", "monitoring=excluded", "--from",
                        "2022-01-01", "--to", "2022-12-31", "--show", "monitoring"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[-1] == t("audit_rows", n="1")
    assert lines[0].split() == ["行号", "决定时间", "户编号", "评估日期", "政策包", "monitoring", "成立的规则", "上一次"]
    assert lines[2].split()[:6] == ["3", "2022-07-06T10:00:00+08:00", "YX-X3-price-at-bound", "2022-06-30",
                                    "yuxi", "1.0.0"]
    code, out, _ = run(["audit", db, "--status", "undetermined", "--format", "json"], capsys)
    assert json.loads(out) == [made[4]]


def test_audit_command_refuses_bad_criteria(tmp_path: pathlib.Path, capsys) -> None:
    with pytest.raises(SystemExit):
        run(["audit", tmp_path / "x.sqlite", "--outcome", "excluded"], capsys)
    assert "argument --outcome: must be written DECISION=OUTCOME (got 'excluded')" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["audit", tmp_path / "x.sqlite", "--rule", "X3=maybe"], capsys)
    assert "with STATUS one of fired, not_fired, unknown, overridden (got 'X3=maybe')" in capsys.readouterr().err
    code, _, err = run(["audit", tmp_path / "x.sqlite"], capsys)
    assert code == 1 and "no such decision log" in err and not (tmp_path / "x.sqlite").exists()


def test_log_command_appends_and_reports_bad_records(tmp_path: pathlib.Path, capsys) -> None:
    records = tmp_path / "households.json"
    records.write_text(json.dumps([golden_record("example"), {"id": "bad", "members": "none"},
                                   golden_record("XO-X3")], ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "log.sqlite"
    code, out, err = run(["log", "--pack", "yuxi", records, "--db", db, "--lang", "en"], capsys)
    assert code == 1
    assert out == f"appended 2 decisions to {db} (row 1–2)\n"
    assert f"{records} [record 1]: " in err and t("audit_not_logged", "en", n="1") in err
    with open_store(db) as store:
        assert [e.household_id for e in store.history("YX-XO-X3")] == ["YX-XO-X3"]


def test_explain_command_formats(tmp_path: pathlib.Path, capsys) -> None:
    """Households need --pack; decision records render alone; -o writes the file."""
    households = tmp_path / "h.json"
    households.write_text(json.dumps(golden_record("example"), ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(["explain", households, "--pack", "yuxi", "--lang", "en"], capsys)
    yuxi = rulekit.load_pack("yuxi")
    assert code == 0 and out == yuxi.evaluate(golden_record("example")).explain("en")
    code, _, err = run(["explain", households], capsys)
    assert code == 1 and "a household record needs --pack" in err
    decisions = tmp_path / "d.json"
    decisions.write_text(json.dumps([make_record(yuxi.evaluate(golden_record("XO-X3")), record_id="R-9")],
                                    ensure_ascii=False), encoding="utf-8")
    html = tmp_path / "out.html"
    code, out, _ = run(["explain", decisions, "--format", "html", "-o", html], capsys)
    assert code == 0 and out == ""
    text = html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "R-9" in text and 'data-status="needs_review"' in text
    code, out, _ = run(["explain", decisions, "--format", "md"], capsys)
    assert code == 0 and out.startswith("# 户 YX-XO-X3\n")


@pytest.mark.parametrize("pack_id", [p for p in bundled_packs() if (policies_root() / p / "examples" /
                                                                     "household.json").is_file()])
def test_every_bundled_example_makes_a_record_that_verifies_and_renders(pack_id: str) -> None:
    """Whatever the pack's input (the national form or its own flat facts): the record is valid, it
    reproduces identically, and its stored form renders the engine's own text and a page."""
    pack = rulekit.load_pack(pack_id)
    example = json.loads((policies_root() / pack_id / "examples" / "household.json").read_text("utf-8"))
    result = pack.evaluate(example, as_of=None if example.get("collected_on") else "2023-06-30")
    record = json.loads(json.dumps(make_record(result)))
    assert check_record(record) == record
    assert verify(record, pack).identical
    for lang in ("zh", "en"):
        assert render(record, "text", lang) == result.explain(lang)
    assert render(record, "html", "zh").count('<section class="decision"') == len(result.decisions)
