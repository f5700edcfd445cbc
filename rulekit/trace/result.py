"""Results and their reason chains, as typed, immutable data with a stable `to_dict()` shape.

The chain is rebuilt from the pack's static structure (what each rule reads) plus the values the
evaluation produced, so keeping a result costs only the state; rendering is in `explain.py`.
"""
from __future__ import annotations

import datetime as dt
import functools
import types
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rulekit.engine.compile import CompiledPack
from rulekit.engine.evaluate import State
from rulekit.expr.compiler import ITEM_PATH, Compiled
from rulekit.expr.values import Unknown
from rulekit.pack import spec as S

RESULT_SCHEMA_VERSION = "1"


def jsonable(v: Any) -> Any:
    """Plain JSON data: dates as text, Unknown as {"unknown": [facts]}, tuples as lists."""
    if v.__class__ is Unknown:
        return {"unknown": sorted(v.missing)}
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items() if not k.startswith("#")}
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return v
    return v


@attrs.frozen
class Citation:
    id: str
    quote: str
    where: str

    def to_dict(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen
class Reason:
    """One link of a reason chain: a rule, override, group, computed value, parameter or fact."""
    kind: str
    name: str
    label: str
    value: Any
    status: str | None = None
    expression: str | None = None
    cites: tuple[Citation, ...] = ()
    parameter: dict | None = None       # value, from, origin, source (parameters only)
    overridden_by: tuple[str, ...] = ()
    members: tuple[str, ...] = ()       # per-member rules: which members it holds for
    local_choice: str = ""
    inputs: tuple[Reason, ...] = ()
    repeated: bool = False              # already expanded higher up in the same chain
    value_label: Any = None             # the value in words (Chinese labels of codes, outcomes)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "label": self.label,
                               "value": jsonable(self.value)}
        for key in ("status", "expression", "parameter", "local_choice"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.cites:
            out["cites"] = [c.to_dict() for c in self.cites]
        if self.overridden_by:
            out["overridden_by"] = list(self.overridden_by)
        if self.members:
            out["members"] = list(self.members)
        if self.repeated:
            out["repeated"] = True
        if self.value_label is not None:
            out["value_label"] = jsonable(self.value_label)
        if self.inputs:
            out["inputs"] = [r.to_dict() for r in self.inputs]
        return out

    def walk(self) -> Iterable[Reason]:
        yield self
        for r in self.inputs:
            yield from r.walk()


@attrs.frozen
class Decision:
    """The answer to one question of the pack, with its status and reasons."""
    name: str
    question: str
    hit: str
    status: str
    outcome: str | None
    label: str | None
    outcomes: tuple[tuple[str, str], ...]       # (id, label) of every outcome that holds
    reasons: tuple[Reason, ...]
    missing_facts: tuple[str, ...] = ()
    review: tuple[str, ...] = ()                # what a person must look at (needs_review)
    not_matched: tuple[tuple[str, str], ...] = ()
    pending: tuple[tuple[str, str], ...] = ()
    cites: tuple[Citation, ...] = ()
    english: dict[str, str] = attrs.field(factory=dict)   # question and outcome id -> English label

    def text(self, key: str, zh: str | None, lang: str) -> str | None:
        """The pack's English label for `key` when lang is "en" and the pack gives one."""
        return self.english.get(key) or zh if lang == "en" else zh

    def to_dict(self) -> dict:
        return {
            "name": self.name, "question": self.question, "hit": self.hit,
            "question_en": self.english.get("question"),
            "status": self.status, "outcome": self.outcome, "label": self.label,
            "outcomes": [{"id": i, "label": lab, "label_en": self.english.get(i)}
                         for i, lab in self.outcomes],
            "missing_facts": list(self.missing_facts), "review": list(self.review),
            "not_matched": [{"id": i, "label": lab, "label_en": self.english.get(i)}
                            for i, lab in self.not_matched],
            "pending": [{"id": i, "label": lab, "label_en": self.english.get(i)} for i, lab in self.pending],
            "cites": [c.to_dict() for c in self.cites],
            "reasons": [r.to_dict() for r in self.reasons],
        }


@attrs.frozen
class DecisionSummary:
    """A decision's answer without its reasons: status, outcome (first-hit), the outcomes that
    hold, the facts that would decide it, what a reviewer must look at, outcomes still open."""
    name: str
    status: str
    outcome: str | None
    hits: tuple[str, ...]
    missing_facts: tuple[str, ...]
    review: tuple[str, ...]
    pending: tuple[str, ...]


class Result:
    """What a pack says about one household, and why.

    A result decided by the generated fast path holds only the vector of computed values (one
    tuple); the State the reason chain is built from is rebuilt from it on first use. Outcomes and
    fired rules are read from the vector directly."""

    __slots__ = ("_pack", "_cp", "_st", "_vector", "record_id", "as_of", "_record", "_decisions")

    def __init__(self, pack: Any, state: State | None, record_id: str, as_of: dt.date,
                 record: dict | None, vector: tuple | None = None) -> None:
        self._pack = pack
        self._cp: CompiledPack = pack.compiled
        self._st = state
        self._vector = vector
        self.record_id = record_id
        self.as_of = as_of
        self._record = record
        self._decisions: dict[str, Decision] | None = None

    @property
    def _state(self) -> State:
        st = self._st
        if st is None:
            st = self._st = self._pack.state_of(self._vector, self.record_id, self.as_of)
        return st

    @property
    def pack(self) -> Any:
        """The Pack that decided this household."""
        return self._pack

    @property
    def record(self) -> dict:
        """The checked record the decision was made on (canonical form)."""
        if self._record is None:
            self._record = self._pack.record_of(self._vector, self.record_id)
        return self._record

    # -- the public surface ------------------------------------------------------------------
    @property
    def decisions(self) -> dict[str, Decision]:
        """Every decision of the pack, in pack order (reason chains are built on first use)."""
        return {name: self.decision(name) for name in self._cp.spec.decisions}

    def summary(self, name: str) -> DecisionSummary:
        """A decision's answer without its reason chain (building the chain costs several times
        the evaluation): for batch outputs, impact tables and anything that counts outcomes."""
        if name not in self._cp.spec.decisions:
            raise KeyError(f"pack {self._cp.spec.id!r} has no decision {name!r}; it has "
                           f"{', '.join(self._cp.spec.decisions)}")
        outs = {o.id: o for o in self._cp.spec.decisions[name].outcomes}
        if self._st is None:      # decided by the fast path: nothing is missing or pending
            status, outcome, hits = self._cp.fast.decided(self._vector, name)
            review = tuple(outs[h].review for h in hits if outs[h].status == "needs_review")
            return DecisionSummary(name, status, outcome, hits, (), review, ())
        ds = self._state.decisions[name]
        review = tuple(outs[h].review for h in ds.hits if outs[h].status == "needs_review")
        return DecisionSummary(name, ds.status, ds.outcome, tuple(ds.hits), tuple(ds.missing),
                               review, tuple(ds.pending) + ((ds.blocked_by,) if ds.blocked_by else ()))

    def outcome(self, name: str) -> str | None:
        """The outcome id of a first-hit decision, without building its reason chain."""
        if self._st is None and name in self._cp.fast.decisions:
            return self._cp.fast.decided(self._vector, name)[1]
        return self._state.decisions[name].outcome

    def decision(self, name: str) -> Decision:
        if self._decisions is None:
            self._decisions = {}
        if name not in self._decisions:
            if name not in self._cp.spec.decisions:
                raise KeyError(f"pack {self._cp.spec.id!r} has no decision {name!r}; it has "
                               f"{', '.join(self._cp.spec.decisions)}")
            self._decisions[name] = self._decision(name)
        return self._decisions[name]

    def value(self, name: str) -> Any:
        """The value of a fact, parameter, computed value, rule or decision for this household."""
        if self._st is None and name in self._cp.fast.values:
            return self._vector[self._cp.fast.values[name]]
        return self._state.env.get(name, Unknown((name,)))

    def values(self) -> Mapping[str, Any]:
        """Every name's value for this household (facts, parameters, dates, computed values,
        rules after overrides, first-hit outcomes), read-only: what expressions over this result
        (reports, test diagnostics, impact tools) read. A missing name is an unknown fact."""
        return types.MappingProxyType(self._state.env)

    def rule(self, rule_id: str) -> Reason:
        """Why a rule held or not ("why was F4 not hit?"), fired or not."""
        return self._reason(rule_id, set())

    @property
    def errors(self) -> list[dict]:
        """What could not be computed for this household (node, message, expression, values);
        the decisions that depend on it are undetermined and name the error."""
        return list(self._state.errors)

    @property
    def fired(self) -> tuple[str, ...]:
        """Rule ids that hold after overrides, in the order the pack writes them."""
        if self._st is None:
            return self._cp.fast.fired(self._vector)
        rules = self._state.rules
        return tuple(r for r in self._cp.spec.rules if r in rules and rules[r].effective is True)

    def to_dict(self) -> dict:
        spec = self._cp.spec
        st = self._state
        from rulekit import __version__
        return {
            "schema_version": RESULT_SCHEMA_VERSION,
            "record_id": self.record_id,
            "as_of": self.as_of.isoformat(),
            "reference_date": jsonable(st.reference_date),
            "period": {"start": jsonable(st.period[0]), "end": jsonable(st.period[1])},
            "pack": self._pack.info(),
            "engine_version": __version__,
            "parameters": {n: self._param_dict(n) for n in spec.parameters},
            "decisions": {n: d.to_dict() for n, d in self.decisions.items()},
            "rules": {rid: self._rule_summary(rid) for rid in spec.rules},
            "overrides": {oid: {"label": o.label, "condition": jsonable(st.overrides[oid][0]),
                                "applied": jsonable(st.overrides[oid][1]),
                                "cancels": list(o.cancels)}
                          for oid, o in spec.overrides.items() if oid in st.overrides},
            "computed": {n: jsonable(st.env.get(n)) for n, c in spec.computed.items()
                         if not c.per},
            "errors": jsonable(st.errors),
        }

    def explain(self, lang: str = "zh") -> str:
        from rulekit.trace.render import to_text
        return to_text(self, lang)

    # -- building reasons ----------------------------------------------------------------------
    def _label_of(self, name: str, lst: str | None) -> str:
        """A fact's label: the pack's own declaration (facts:, local_facts:) first, then the
        household record's."""
        spec = self._cp.spec
        declared = spec.facts.get(name) or spec.local_facts.get(name)
        if declared:
            return declared["label"]
        return _fact_label(lst, name)

    def _cites(self, ids: Iterable[str]) -> tuple[Citation, ...]:
        key = ("cites", tuple(ids))
        cache = self._pack.trace_cache
        found = cache.get(key)
        if found is None:
            cat = S.pack_catalogue(self._cp.spec)
            found = cache[key] = tuple(Citation(i, cat[i]["quote"], cat[i]["where"])
                                       for i in key[1] if i in cat)
        return found

    def _param_dict(self, name: str) -> dict:
        pv = self._state.params.get(name)
        p = self._cp.spec.parameters[name]
        if pv is None:
            return {"value": None, "from": None, "origin": None, "unit": p.unit}
        return {"value": jsonable(pv.value),
                "from": None if pv.start == dt.date.min else pv.start.isoformat(),
                "origin": pv.origin, "source": pv.source, "unit": p.unit}

    def _rule_summary(self, rid: str) -> dict:
        rs = self._state.rules.get(rid)
        r = self._cp.spec.rules[rid]
        return {"label": r.label, "group": r.group, "status": self._rule_status(rid),
                "value": jsonable(rs.effective) if rs else None, "cites": list(r.cites)}

    def _rule_status(self, rid: str) -> str:
        rs = self._state.rules.get(rid)
        if rs is not None and rs.overridden_by:
            return "overridden"
        if rs is None or rs.raw.__class__ is Unknown or rs.effective.__class__ is Unknown:
            return "unknown"
        return "fired" if rs.effective is True else "not_fired"

    def _node(self, name: str) -> Any:
        """The compiled node of a name (None for facts and parameters), from the pack's table."""
        nodes = self._pack.trace_cache.get("nodes")
        if nodes is None:
            nodes = self._pack.trace_cache["nodes"] = {n.name: n for n in self._cp.nodes}
        return nodes.get(name)

    def _expr(self, name: str) -> Compiled | None:
        node = self._node(name)
        return node.expr if node is not None else None

    def _inputs(self, expr: Compiled | None, seen: set[str]) -> tuple[Reason, ...]:
        if expr is None:
            return ()
        cache = self._pack.trace_cache
        key = ("reads", id(expr))
        order = cache.get(key)
        if order is None:         # in the order the expression reads them
            src = expr.source
            order = cache[key] = (expr, sorted(expr.reads, key=lambda n: (src.find(n), n)),
                                  sorted(expr.item_reads, key=lambda x: (src.find(x[1]), x)))
        _, names, item_reads = order
        env, params = self._state.env, self._cp.spec.parameters
        # a list read by an aggregate is shown through the item fields read, not as a whole
        out = [self._reason(n, seen) for n in names
               if not isinstance(env.get(n), (list, tuple)) or n in params]
        for lst, field in item_reads:
            out.append(self._member_reason(lst, field, seen))
        return tuple(out)

    def _member_reason(self, lst: str, field: str, seen: set[str]) -> Reason:
        st = self._state
        items = st.env.get(lst) if lst != "members" else st.members
        values = [it.get(field, Unknown((f"{it[ITEM_PATH]}.{field}",)))
                  for it in (items if isinstance(items, list) else [])]
        spec = self._cp.spec
        if field in spec.computed:
            c = spec.computed[field]
            key = f"{lst}.{field}"
            if key in seen:
                return Reason("computed", key, c.label, values, repeated=True)
            seen.add(key)
            return Reason("computed", key, c.label, values, expression=c.formula,
                          cites=self._cites(c.cites), local_choice=c.local_choice,
                          inputs=self._inputs(self._expr(field), seen))
        enum = _enum_of(lst, field)
        return Reason("member_facts", f"{lst}.{field}", self._label_of(field, lst), values,
                      value_label=_enum_labels(values, enum) if enum else None)

    def _reason(self, name: str, seen: set[str]) -> Reason:
        spec, st = self._cp.spec, self._state
        value = st.env.get(name, Unknown((name,)))
        repeated = name in seen
        seen.add(name)
        if name in spec.parameters:
            p = spec.parameters[name]
            return Reason("parameter", name, p.label, value, cites=self._cites(p.cites),
                          parameter=self._param_dict(name), local_choice=p.local_choice)
        if name in spec.computed:
            c = spec.computed[name]
            return Reason("computed", name, c.label, value, expression=c.formula,
                          cites=self._cites(c.cites), local_choice=c.local_choice,
                          repeated=repeated,
                          inputs=() if repeated else self._inputs(self._expr(name), seen))
        if name in spec.rules:
            r = spec.rules[name]
            rs = st.rules.get(name)
            inputs: tuple[Reason, ...] = ()
            if not repeated:
                inputs = self._inputs(self._expr(name), seen)
                if rs and rs.overridden_by:
                    inputs += tuple(self._reason(o, seen) for o in rs.overridden_by)
            members = tuple(p for p, v in (rs.members if rs else ()) if v is True)
            return Reason("rule", name, r.label, value, self._rule_status(name), r.when,
                          self._cites(r.cites), overridden_by=rs.overridden_by if rs else (),
                          members=members, local_choice=r.local_choice, inputs=inputs,
                          repeated=repeated)
        if name in spec.overrides:
            o = spec.overrides[name]
            cond, applied = st.overrides.get(name, (None, None))
            status = "applied" if applied is True else ("unknown" if applied.__class__ is Unknown
                                                        else "not_applied")
            inputs: tuple[Reason, ...] = ()
            if not repeated:
                inputs = self._inputs(self._expr(name), seen)
                # the rules it cancelled, so a decision reading the override shows them
                inputs += tuple(self._reason(r, seen) for r in o.cancels
                                if name in getattr(st.rules.get(r), "overridden_by", ()))
            return Reason("override", name, o.label, applied, status, o.when,
                          self._cites(o.cites), inputs=inputs, repeated=repeated)
        if name in spec.groups:
            g = spec.groups[name]
            inputs = ()
            if not repeated:
                inputs = tuple(self._reason(r, seen) for r in g.rules
                               if self._rule_status(r) != "not_fired")
            status = "fired" if value is True else ("unknown" if value.__class__ is Unknown
                                                    else "not_fired")
            return Reason("group", name, g.label, value, status, cites=self._cites(g.cites),
                          inputs=inputs, repeated=repeated)
        if name in spec.decisions:
            d = spec.decisions[name]
            shown = next((o.label for o in d.outcomes if o.id == value), None)
            return Reason("decision", name, d.label, value, cites=self._cites(d.cites),
                          value_label=f"{shown}（{value}）" if shown else None)
        from rulekit.engine.compile import BUILTINS
        if name in BUILTINS:
            from rulekit.trace.messages import t
            return Reason("builtin", name, t(f"builtin_{name}", "zh"), value)
        enum = _enum_of(None, name)
        return Reason("fact", name, self._label_of(name, None), value,
                      value_label=_enum_labels(value, enum) if enum else None)

    def _decision(self, name: str) -> Decision:
        spec, st = self._cp.spec, self._state
        dspec = spec.decisions[name]
        ds = st.decisions[name]
        outs = {o.id: o for o in dspec.outcomes}
        exprs = dict(self._node(name).outcomes)
        seen: set[str] = set()
        reasons: list[Reason] = []
        for oid in (ds.hits or ((ds.blocked_by,) if ds.blocked_by else ())) + ds.pending:
            o = outs[oid]
            reasons.append(Reason("outcome", oid, o.label, oid in ds.hits,
                                  "fired" if oid in ds.hits else "unknown",
                                  o.when, self._cites(o.cites),
                                  inputs=self._inputs(exprs.get(oid), seen)))
        label = outs[ds.outcome].label if ds.outcome else None
        review = tuple(outs[h].review for h in ds.hits if outs[h].status == "needs_review")
        return Decision(
            name, dspec.label, dspec.hit, ds.status, ds.outcome, label,
            tuple((h, outs[h].label) for h in ds.hits), tuple(reasons), ds.missing, review,
            tuple((i, outs[i].label) for i in ds.not_matched),
            tuple((i, outs[i].label) for i in ((ds.blocked_by,) if ds.blocked_by else ())
                  + ds.pending), self._cites(dspec.cites),
            {"question": dspec.en, **{o.id: o.en for o in dspec.outcomes if o.en}})


def _enum_labels(value: Any, enum: str) -> Any:
    """Codes replaced by their Chinese labels (lists element by element)."""
    from rulekit.record.model import ENUMS
    labels = ENUMS.get(enum, {})
    if isinstance(value, (list, tuple)):
        return [_enum_labels(v, enum) for v in value]
    return labels.get(value, value) if isinstance(value, str) else value


@functools.cache
def _enum_of(lst: str | None, field: str) -> str | None:
    """The controlled-value list of a record field, if it has one."""
    import attrs as _attrs

    from rulekit.record import model as M
    classes = [M.Household, M.Member, *M.SECTIONS.values(), M.CropLine, M.BusinessLine,
               M.WorkLine, M.FixedAsset, M.Vehicle, M.RigidExpense, M.SeparatedChild]
    if lst == "members":
        classes = [M.Member]
    for cls in classes:
        f = _attrs.fields_dict(cls).get(field)
        if f is not None and f.metadata.get("enum"):
            return f.metadata["enum"]
    return None


@functools.cache
def _fact_label(lst: str | None, field: str) -> str:
    import attrs as _attrs

    from rulekit.record import model as M

    def find(cls: type) -> str | None:
        for f in _attrs.fields(cls):
            if "section" in f.metadata:
                got = find(M.SECTIONS[f.name])
                if got:
                    return got
            elif f.name == (lst or field):
                if lst:
                    item = f.metadata.get("item")
                    if item is not None and field in _attrs.fields_dict(item):
                        m = _attrs.fields_dict(item)[field].metadata
                        return m["zh"] + (f"（{m['code']}）" if m.get("code") else "")
                    return "年龄（周岁，按参照时点）" if field == "age" else field
                m = f.metadata
                return m["zh"] + (f"（{m['code']}）" if m.get("code") else "")
        return None
    return find(M.Household) or field
