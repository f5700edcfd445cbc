"""Evaluate a compiled pack for one household: facts -> parameters in force -> nodes in dependency
order -> decisions. A pure function of (compiled pack, record, as_of, parameter values); the trace is
read afterwards from the state this returns and never influences the outcome.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rulekit.engine.compile import CompiledPack, Node
from rulekit.errors import EvaluationError, Problem, RecordError
from rulekit.expr.compiler import ITEM_PATH
from rulekit.expr.functions import age_on
from rulekit.expr.values import Unknown, merge
from rulekit.pack.spec import ParamValue
from rulekit.record import model as M
from rulekit.record.flat import apply_local_facts

STATUSES = ("decided", "needs_review", "undetermined")


@attrs.define
class RuleState:
    raw: Any                                  # what the condition gave
    effective: Any                            # after overrides (what other expressions see)
    overridden_by: tuple[str, ...] = ()
    members: tuple[tuple[str, Any], ...] = () # per-member rules: (member path, value)


@attrs.define
class DecisionState:
    name: str
    status: str
    outcome: str | None
    hits: tuple[str, ...]                     # collect: every outcome that holds
    missing: tuple[str, ...]                  # facts that would decide it
    blocked_by: str | None = None             # first: the outcome whose condition is unknown
    pending: tuple[str, ...] = ()             # collect: outcomes whose condition is unknown
    not_matched: tuple[str, ...] = ()         # first: outcomes tried before the one that matched


@attrs.define
class State:
    env: dict[str, Any]
    members: list[dict]
    params: dict[str, ParamValue | None]
    rules: dict[str, RuleState]
    overrides: dict[str, tuple[Any, Any]]     # id -> (condition value, applied)
    decisions: dict[str, DecisionState]
    reference_date: Any
    period: tuple[Any, Any]
    errors: list[dict] = attrs.field(factory=list)   # nodes that failed for this household
    ready: list[Any] = attrs.field(factory=list)     # parameters and dates the fast path needs


def flatten(canonical: dict) -> tuple[dict[str, Any], list[dict]]:
    """Household facts as one flat dict (sections lifted, unknown = absent) and member dicts."""
    env: dict[str, Any] = {}
    _put(M.Household, canonical, env, "")
    return env, env.get("members", [])


_SECTION, _DATE, _TUPLE, _ITEMS, _PLAIN = range(5)


@functools.cache
def _flat_fields(cls: type) -> tuple[tuple[str, int, Any], ...]:
    """(name, how flatten takes it, the section or item class) of each field of `cls`, read
    from the model once rather than from attrs metadata for every field of every household."""
    out = []
    for f in attrs.fields(cls):
        meta = f.metadata
        if "section" in meta:
            out.append((f.name, _SECTION, M.SECTIONS[f.name]))
        elif meta["kind"] == M.DATE:
            out.append((f.name, _DATE, None))
        elif meta["kind"] == "list":
            item = meta.get("item")
            out.append((f.name, _TUPLE if item is None else _ITEMS, item))
        else:
            out.append((f.name, _PLAIN, None))
    return tuple(out)


def _put(cls: type, data: dict, target: dict, path: str) -> None:
    for name, how, inner in _flat_fields(cls):
        value = data.get(name)
        if how == _SECTION:
            _put(inner, value or {}, target, name)
            continue
        if value is None:
            continue
        if how == _DATE:
            value = dt.date.fromisoformat(value)
        elif how == _TUPLE:
            value = tuple(value)
        elif how == _ITEMS:
            prefix = f"{path}.{name}" if path and name != "members" else name
            rows = []
            for i, row in enumerate(value):
                item = {ITEM_PATH: f"{prefix}[{i}]"}
                _put(inner, row, item, "")
                rows.append(item)
            value = rows
        target[name] = value


def _ages(members: list[dict], ref: Any, record_id: Any, fixed: bool) -> None:
    """Ages at the reference date. A member born after it: where the pack fixes the instant
    (Linzi's 2023-09-30 24:00) that member was not yet born then, so the age is unknown and says
    why; where the instant is the record's own collection date, the record is wrong."""
    problems = []
    for m in members:
        birth = m.get("birth_date")
        if birth is not None:
            if ref.__class__ is not Unknown and birth > ref and fixed:
                m["age"] = Unknown((f"{m[ITEM_PATH]} born {birth.isoformat()}, after the "
                                    f"reference date {ref.isoformat()}",))
                continue
            if ref.__class__ is not Unknown and birth > ref:
                problems.append(Problem(
                    f"born {birth.isoformat()}, after the reference date {ref.isoformat()}: a "
                    f"member cannot be born after the instant ages are taken at; correct the date",
                    path=f"{m[ITEM_PATH]}.birth_date"))
                continue
            m["age"] = ref if ref.__class__ is Unknown else age_on(birth, ref)
    if problems:
        raise RecordError(problems, subject=f"household {record_id!r}", record_id=record_id)


def reference_date(spec: Any, env: dict, as_of: dt.date) -> Any:
    """The instant ages and statuses are taken at: a fixed date of the pack, a fact of the
    record (unknown when the record lacks it), or as_of when the pack names none."""
    if spec is None:
        return as_of
    if isinstance(spec, dt.date):
        return spec
    return env.get(spec, Unknown((spec,)))


def _period(ref: Any, period: dict) -> tuple[Any, Any]:
    """The income period: fixed start and end, or `months` back from the reference date."""
    if "start" in period:
        return period["start"], period["end"]
    months = period.get("months")
    if months is None:
        return ref, ref
    if ref.__class__ is Unknown:
        return ref, ref
    from rulekit.expr.functions import _add_months
    return _add_months(ref, -months) + dt.timedelta(days=1), ref


def evaluate(pack: CompiledPack, canonical: dict, as_of: dt.date,
             arguments: dict[str, Any] | None = None) -> State:
    """Fast path first when the pack has one and every parameter and date is known; any
    surprise there (a missing fact, a division by zero) runs the interpreter instead."""
    fast = pack.fast
    if fast is not None:
        state = _prepare(pack, canonical, as_of, arguments)
        if not any(v.__class__ is Unknown for v in state.ready):
            try:
                vector = fast.on_env(state.env, state.members)
            except FALLBACK_ERRORS:
                pass
            else:
                fast.fill(state, vector)
                return state
    state = _prepare(pack, canonical, as_of, arguments)
    for node in pack.nodes:
        try:
            _NODE[node.kind](pack, node, state)
        except EvaluationError as e:
            _failed(pack, node, state, e)
    return state


FALLBACK_ERRORS = (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, LookupError,
                   RecursionError, EvaluationError)


def _prepare(pack: CompiledPack, canonical: dict, as_of: dt.date,
             arguments: dict[str, Any] | None) -> State:
    """The household's facts, dates and parameters in force, before any rule is evaluated."""
    spec = pack.spec
    if spec.facts:
        env, members = dict(canonical), []
    else:
        env, members = flatten(canonical)
        apply_local_facts(spec.local_facts, env, members, canonical.get("id"))
    ref = reference_date(spec.meta.get("reference_date"), env, as_of)
    _ages(members, ref, canonical.get("id"), isinstance(spec.meta.get("reference_date"), dt.date))
    period = _period(ref, spec.meta.get("income_period") or {})
    env.update(as_of=as_of, reference_date=ref, period_start=period[0], period_end=period[1])

    params, values = _parameters(pack, as_of, arguments)
    env.update(values)
    state = State(env, members, params, {}, {}, {}, ref, period)
    state.ready = [*values.values(), ref, period[0]]
    return state


def _parameters(pack: CompiledPack, as_of: dt.date, arguments: dict[str, Any] | None
                ) -> tuple[dict[str, ParamValue | None], dict[str, Any]]:
    """The parameter values in force on as_of (cached per date: a batch shares one date)."""
    if not arguments and as_of in pack.param_cache:
        return pack.param_cache[as_of]
    params: dict[str, ParamValue | None] = {}
    values: dict[str, Any] = {}
    for name, p in pack.spec.parameters.items():
        if arguments and name in arguments:
            pv = ParamValue(dt.date.min, arguments[name], "evaluate(parameters=...)", "", "argument")
        else:
            pv = p.value_on(as_of)
        params[name] = pv
        values[name] = pv.value if pv else Unknown((f"parameter {name} has no value in force on "
                                                    f"{as_of.isoformat()}",))
    if not arguments:
        if len(pack.param_cache) > 64:
            pack.param_cache.clear()
        pack.param_cache[as_of] = (params, values)
    return params, values


def _failed(pack: CompiledPack, node: Node, st: State, e: EvaluationError) -> None:
    """A node that cannot be evaluated for this household (e.g. a division by zero) becomes
    unknown, naming the error, so only what depends on it is undetermined; the error is kept."""
    label = _label(pack, node.name)
    message = f"{node.kind} {node.name} ({label}): {e.message}"
    st.errors.append({"node": node.name, "kind": node.kind, "message": message,
                      "expression": e.expression, "values": {k: v for k, v in e.values.items()}})
    value = Unknown((f"cannot compute {node.name}: {e.message}",))
    if node.kind == "computed" and node.per:
        for m in st.members:
            m[node.name] = value
    elif node.kind == "rule":
        st.rules[node.name] = RuleState(value, value)
    elif node.kind == "override":
        st.overrides[node.name] = (value, value)
    elif node.kind == "decision":
        st.decisions[node.name] = DecisionState(node.name, "undetermined", None, (),
                                                tuple(sorted(value.missing)))
    st.env[node.name] = value


def _label(pack: CompiledPack, name: str) -> str:
    s = pack.spec
    for table in (s.computed, s.rules, s.overrides, s.decisions, s.groups):
        if name in table:
            return table[name].label
    return name


def _computed(pack: CompiledPack, node: Node, st: State) -> None:
    if node.per:
        for m in st.members:
            m[node.name] = node.expr(st.env, m)
    else:
        st.env[node.name] = node.expr(st.env, None)


def _any3(values: list[Any]) -> Any:
    if any(v is True for v in values):
        return True
    unknown = [v for v in values if v.__class__ is Unknown]
    return merge(*unknown) if unknown else False


def _rule(pack: CompiledPack, node: Node, st: State) -> None:
    member_values: tuple = ()
    if node.per:
        member_values = tuple((m[ITEM_PATH], node.expr(st.env, m)) for m in st.members)
        raw = _any3([v for _, v in member_values])
    else:
        raw = node.expr(st.env, None)
    effective, by = raw, []
    if raw is True or raw.__class__ is Unknown:
        for oid in node.overrides:
            cond = st.overrides.get(oid, (None,))[0]
            if cond is None:
                cond = pack_override_when(pack, oid, st)
            if cond is True:
                by.append(oid)
            elif cond.__class__ is Unknown and effective is True:
                effective = cond           # might be cancelled: not known until that fact is
        if by:
            # an override that certainly applies cancels the rule whether or not it held
            effective = False
    st.rules[node.name] = RuleState(raw, effective, tuple(by), member_values)
    st.env[node.name] = effective


def pack_override_when(pack: CompiledPack, oid: str, st: State) -> Any:
    node = next(n for n in pack.nodes if n.name == oid)
    cond = node.expr(st.env, None)
    st.overrides[oid] = (cond, None)
    return cond


def _override(pack: CompiledPack, node: Node, st: State) -> None:
    cond = st.overrides.get(node.name, (None,))[0]
    if cond is None:
        cond = node.expr(st.env, None)
    raws = [st.rules[r].raw for r in node.cancels if r in st.rules]
    if cond is True:
        applied = _any3(raws)
    elif cond is False:
        applied = False
    else:
        applied = False if all(r is False for r in raws) else cond
    st.overrides[node.name] = (cond, applied)
    st.env[node.name] = applied


def _group(pack: CompiledPack, node: Node, st: State) -> None:
    st.env[node.name] = _any3([st.rules[r].effective for r in node.members if r in st.rules])


def _decision(pack: CompiledPack, node: Node, st: State) -> None:
    dspec = pack.spec.decisions[node.name]
    statuses = {o.id: o.status for o in dspec.outcomes}
    if dspec.hit == "first":
        tried = []
        for oid, expr in node.outcomes:
            v = True if expr is None else expr(st.env, None)
            if v is True:
                st.decisions[node.name] = DecisionState(node.name, statuses[oid], oid, (oid,), (),
                                                        not_matched=tuple(tried))
                st.env[node.name] = oid
                return
            if v.__class__ is Unknown:
                st.decisions[node.name] = DecisionState(
                    node.name, "undetermined", None, (), tuple(sorted(v.missing)), blocked_by=oid,
                    not_matched=tuple(tried))
                st.env[node.name] = Unknown(v.missing)
                return
            tried.append(oid)
        st.decisions[node.name] = DecisionState(node.name, "undetermined", None, (), (),
                                                not_matched=tuple(tried))
        st.env[node.name] = Unknown((f"no outcome of {node.name} applies",))
        return
    hits, pending, missing = [], [], set()
    for oid, expr in node.outcomes:
        v = expr(st.env, None)
        if v is True:
            hits.append(oid)
        elif v.__class__ is Unknown:
            pending.append(oid)
            missing |= v.missing
    status = collect_status(hits, statuses, pending)
    st.decisions[node.name] = DecisionState(node.name, status, None, tuple(hits),
                                            tuple(sorted(missing)), pending=tuple(pending))


def collect_status(hits: Iterable[str], statuses: Mapping[str, str], pending: Iterable[str] = ()) -> str:
    """A collect decision's status: undetermined when an outcome is open or one that holds says so,
    else needs_review when one that holds asks for review, else decided."""
    held = [statuses[h] for h in hits]
    if any(True for _ in pending) or "undetermined" in held:
        return "undetermined"
    return "needs_review" if "needs_review" in held else "decided"


_NODE = {"computed": _computed, "rule": _rule, "override": _override, "group": _group,
         "decision": _decision}
