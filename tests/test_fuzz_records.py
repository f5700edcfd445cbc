"""Hostile and near-valid records: the evaluator returns a decision or a typed validation error,
never an unhandled exception, never a silently converted value. Plus the invariants a decision
must keep: independent of member order, key order and process."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rulekit
from rulekit.record import model as M
from rulekit.record.schema import normalise
from tests.strategies import yuxi_record

PACK = rulekit.load_pack("yuxi")
EXAMPLES = int(os.environ.get("RULEKIT_FUZZ_EXAMPLES", "400"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

HOSTILE = [-1, -0.01, 0, float("nan"), float("inf"), -float("inf"), 1e308, 10**30, True, False,
           "", "x" * 100_000, "__class__", "{0.__class__}", "2999-12-31", "1900-02-29", "12/31/2020",
           [], {}, [1, 2], {"__class__": 1}, None, "患有大病", "A13"]


def _paths(rec: dict) -> list[tuple]:
    out = [(k,) for k in rec if k != "members"]
    for section, cls in M.SECTIONS.items():
        out += [(section, f.name) for f in attrs.fields(cls)]
    for i in range(len(rec["members"])):
        out += [("members", i, f.name) for f in attrs.fields(M.Member)]
    return out


def _set(rec: dict, path: tuple, value: object) -> None:
    """Put `value` at `path`, unless an earlier mutation replaced a parent by a non-container
    (that record is already hostile enough)."""
    node = rec
    for p in path[:-1]:
        if isinstance(node, dict) and isinstance(p, str):
            node = node.setdefault(p, {})
        elif isinstance(node, list) and isinstance(p, int) and p < len(node):
            node = node[p]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value


@SETTINGS
@given(yuxi_record(), st.data())
def test_hostile_values_give_a_decision_or_a_typed_error(rec: dict, data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(rec)))
        _set(rec, path, copy.deepcopy(data.draw(st.sampled_from(HOSTILE))))
    given_rec = copy.deepcopy(rec)
    try:
        result = PACK.evaluate(rec)
    except rulekit.RecordError as e:
        assert e.problems and all(p.path for p in e.problems)
        return
    json.dumps(result.to_dict(), ensure_ascii=False)
    # accepted: every value reached the engine exactly as given (codes for Chinese values aside)
    canonical = normalise(given_rec)
    assert result.record == canonical


@SETTINGS
@given(yuxi_record(), st.randoms(use_true_random=False))
def test_member_order_does_not_change_decisions(rec: dict, rnd) -> None:
    try:
        a = PACK.evaluate(copy.deepcopy(rec))
    except rulekit.RecordError:
        return
    shuffled = copy.deepcopy(rec)
    rnd.shuffle(shuffled["members"])
    b = PACK.evaluate(shuffled)
    assert {n: (d.outcome, d.status, sorted(d.outcomes)) for n, d in a.decisions.items()} == \
        {n: (d.outcome, d.status, sorted(d.outcomes)) for n, d in b.decisions.items()}


@SETTINGS
@given(yuxi_record())
def test_key_order_does_not_change_the_result(rec: dict) -> None:
    def reverse(v):
        if isinstance(v, dict):
            return {k: reverse(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [reverse(x) for x in v]
        return v
    try:
        a = PACK.evaluate(copy.deepcopy(rec)).to_dict()
    except rulekit.RecordError:
        return
    assert PACK.evaluate(reverse(rec)).to_dict() == a


def test_same_result_in_another_process(example: dict) -> None:
    """Determinism across processes (hash seeds, import order): a fresh interpreter agrees."""
    here = json.dumps(PACK.evaluate(example).to_dict(), ensure_ascii=False, sort_keys=True)
    code = ("import json, sys, rulekit; rec = json.load(sys.stdin); "
            "print(json.dumps(rulekit.load_pack('yuxi').evaluate(rec).to_dict(), ensure_ascii=False, "
            "sort_keys=True))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run([sys.executable, "-c", code], input=json.dumps(example), text=True,
                           capture_output=True, check=True, env=env).stdout.strip()
    assert there == here


def test_born_after_the_reference_date_is_a_record_error(example: dict) -> None:
    example["members"][0]["出生日期"] = "2023-01-01"
    try:
        PACK.evaluate(example)
    except rulekit.RecordError as e:
        assert "members[0].birth_date: born 2023-01-01, after the reference date 2022-06-30" in str(e)
    else:
        raise AssertionError("a member born after the reference date was accepted")
