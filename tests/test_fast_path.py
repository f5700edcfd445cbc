"""The generated whole-pack function (fast path) gives exactly what the interpreter gives."""
from __future__ import annotations

import copy
import json

import attrs
from hypothesis import HealthCheck, given, settings

import rulekit
from rulekit.engine import evaluate as E
from rulekit.engine.pack import Pack
from rulekit.record import model as M
from tests.strategies import partial_object, yuxi_record

FAST = rulekit.load_pack("yuxi")
SLOW = Pack(attrs.evolve(FAST.compiled, fast=None), FAST.digest)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same(rec: dict, as_of: str | None = None) -> None:
    try:
        a = FAST.evaluate(copy.deepcopy(rec), as_of=as_of)
    except rulekit.RecordError:
        return
    b = SLOW.evaluate(copy.deepcopy(rec), as_of=as_of)
    assert a.to_dict() == b.to_dict()
    assert json.dumps([d.to_dict() for d in a.decisions.values()], ensure_ascii=False, default=str) == \
        json.dumps([d.to_dict() for d in b.decisions.values()], ensure_ascii=False, default=str)


def test_the_fast_path_exists_and_runs(example: dict, monkeypatch) -> None:
    """On a complete record the generated function decides, without the interpreter."""
    assert FAST.compiled.fast is not None
    calls = []
    original = E._NODE["rule"]
    monkeypatch.setitem(E._NODE, "rule", lambda *a: calls.append(1) or original(*a))
    assert FAST.evaluate(example).decision("monitoring").outcome == "unstable"
    assert calls == []


@SETTINGS
@given(yuxi_record())
def test_fast_equals_interpreter_on_complete_records(rec: dict) -> None:
    """A complete record is decided by the generated function itself (no fallback), and the
    answer equals the interpreter's."""
    _same(rec)
    canonical = rulekit.record.normalise(copy.deepcopy(rec))
    state = E._prepare(FAST.compiled, canonical, E.dt.date(2022, 6, 30), {})
    FAST.compiled.fast.on_env(state.env, state.members)     # raises if it would have fallen back


@SETTINGS
@given(partial_object(M.Household))
def test_fast_equals_interpreter_on_partial_records(rec: dict) -> None:
    """Missing facts send the household to the interpreter: the answer is the same either way."""
    _same(rec, as_of="2022-06-30")


def _all_cases() -> list:
    from rulekit.pack.spec import bundled_packs, policies_root
    from rulekit.testing import iter_pack_cases
    return [(p, c) for p in bundled_packs() for c in iter_pack_cases(policies_root() / p)]


_PAIRS: dict[str, tuple[Pack, Pack]] = {}


def test_fast_equals_interpreter_on_every_pack_case() -> None:
    """Every YAML case of every bundled pack gives the same full result through the generated
    function and through the interpreter (packs use constructs the property tests may not)."""
    checked = 0
    for pack_id, case in _all_cases():
        if pack_id not in _PAIRS:
            fast = rulekit.load_pack(pack_id)
            _PAIRS[pack_id] = (fast, Pack(attrs.evolve(fast.compiled, fast=None), fast.digest))
        fast, slow = _PAIRS[pack_id]
        args = {"as_of": case.data.get("as_of"), "parameters": case.data.get("parameters")}
        try:
            a = fast.evaluate(copy.deepcopy(case.record), **args)
        except (rulekit.RecordError, ValueError):
            continue
        b = slow.evaluate(copy.deepcopy(case.record), **args)
        assert a.to_dict() == b.to_dict(), f"{pack_id}:{case.id}"
        checked += 1
    assert checked > 300
