"""The impact of a pack change on a population, before it is published.

Every record is decided twice, by the pack before and after the change (a second pack, or the same
pack with parameter values set for the run). The `Impact` holds, per decision, the transition
matrix of outcomes (from -> to, households and people), every household that moved with what made
the difference (the outcome condition that changed, the rules whose status changed, the values
that changed), and what changed between the two packs (parameters, formulas, conditions,
outcomes). A record that cannot be evaluated on either side is listed with its error and counted,
never dropped. People are the members listed in the record.
"""
from __future__ import annotations

import datetime as dt
import difflib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rulekit.engine.pack import Pack
from rulekit.errors import EvaluationError, RecordError
from rulekit.pack import spec as S
from rulekit.trace.messages import t
from rulekit.trace.result import Result, jsonable

FIRED, NOT_FIRED, UNKNOWN = "fired", "not_fired", "unknown"
FIELD_WORDS = {"values": "doc_value", "value": "doc_value", "when": "doc_condition", "formula": "doc_formula",
               "unit": "doc_unit", "cites": "doc_cites", "status": "doc_status", "hit": "doc_hit",
               "cancels": "doc_cancels", "review": "review", "label": "diff_label", "order": "diff_order",
               "per": "diff_per", "group": "doc_group", "type": "doc_type", "allowed": "doc_allowed",
               "minimum": "doc_minimum"}


@attrs.frozen
class Transition:
    """Households (and their people) whose outcome went from `before` to `after`.

    First-match decisions: `outcome` is None and before/after are outcome ids (None: undetermined).
    Collect decisions: `outcome` is one outcome id and before/after say whether it held
    ("fired", "not_fired", "unknown")."""
    decision: str
    outcome: str | None
    before: str | None
    after: str | None
    households: int
    people: int

    def to_dict(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen
class Difference:
    """One value that differs for a household, or one definition that differs between packs."""
    kind: str                 # parameter, computed, rule, override, outcome, decision, local_fact...
    name: str
    label: str
    before: Any
    after: Any
    field: str = ""           # which part of a definition changed (values, when, formula, label...)
    change: str = "changed"   # added | removed | changed

    def to_dict(self) -> dict:
        return {k: jsonable(v) for k, v in attrs.asdict(self).items()}


@attrs.frozen
class Condition:
    """An outcome condition that now holds or no longer holds for a household, with the values
    of what it reads (before and after), so staff see where the two evaluations part."""
    decision: str
    outcome: str
    label: str
    before: Any                                    # True / False, or fired / not_fired / unknown
    after: Any
    when: str | None
    values: tuple[tuple[str, Any, Any], ...] = ()  # (name, before, after)

    def to_dict(self) -> dict:
        return {"decision": self.decision, "outcome": self.outcome, "label": self.label,
                "before": self.before, "after": self.after, "when": self.when,
                "values": [{"name": n, "before": b, "after": a} for n, b, a in self.values]}


@attrs.frozen
class Moved:
    """A household whose answer changes, with what made the difference."""
    position: int
    record_id: str | None
    people: int
    decisions: tuple[tuple[str, Any, Any], ...]    # (decision, before, after)
    conditions: tuple[Condition, ...]              # outcome conditions that now hold / no longer hold
    rules: tuple[Difference, ...]                  # rules and exceptions whose status changed
    values: tuple[Difference, ...]                 # parameters and computed values that changed

    def to_dict(self) -> dict:
        return {"position": self.position, "record_id": self.record_id, "people": self.people,
                "decisions": [{"decision": d, "before": jsonable(b), "after": jsonable(a)}
                              for d, b, a in self.decisions],
                "conditions": [c.to_dict() for c in self.conditions],
                "rules": [r.to_dict() for r in self.rules],
                "values": [v.to_dict() for v in self.values]}


@attrs.frozen
class Invalid:
    position: int
    record_id: str | None
    before: str | None        # the error before the change (None: evaluated)
    after: str | None

    def to_dict(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen
class Impact:
    before: dict                                   # pack info (id, version, sha256...)
    after: dict
    settings: dict[str, Any]                       # parameter values set for the run (may be empty)
    as_of: dt.date | None
    records: int
    transitions: tuple[Transition, ...]
    moved: tuple[Moved, ...]
    invalid: tuple[Invalid, ...]
    changes: tuple[Difference, ...]
    decisions: dict[str, dict]                     # name -> label, en, hit, outcomes [(id, label, en)]

    def matrix(self, decision: str, outcome: str | None = None) -> dict[tuple[Any, Any], tuple[int, int]]:
        """(before, after) -> (households, people) for a decision (and, for a collect decision,
        one of its outcomes)."""
        return {(x.before, x.after): (x.households, x.people) for x in self.transitions
                if x.decision == decision and x.outcome == outcome}

    @property
    def evaluated(self) -> int:
        return self.records - len(self.invalid)

    def to_dict(self) -> dict:
        return {
            "before": self.before, "after": self.after, "settings": jsonable(self.settings),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "records": self.records, "evaluated": self.evaluated,
            "invalid": [i.to_dict() for i in self.invalid],
            "moved_households": len(self.moved), "moved_people": sum(m.people for m in self.moved),
            "changes": [c.to_dict() for c in self.changes],
            "decisions": {name: {**info, "outcomes": [{"id": i, "label": lab, "en": en}
                                                      for i, lab, en in info["outcomes"]],
                                 "transitions": [x.to_dict() for x in self.transitions if x.decision == name]}
                          for name, info in self.decisions.items()},
            "moved": [m.to_dict() for m in self.moved],
        }

    def explain(self, lang: str = "zh") -> str:
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en' (got {lang!r})")
        return _Text(self, lang).render()


# -- what a result says, cheaply ---------------------------------------------------------------------

def decision_states(result: Result) -> dict[str, Any]:
    """Per decision: the outcome id of a first-match decision (None when undetermined), or, for a
    collect decision, outcome id -> fired / not_fired / unknown. Reads the evaluation state
    directly, so no reason chain is built for the households that do not move."""
    out: dict[str, Any] = {}
    for name, d in result.pack.spec.decisions.items():
        state = result.summary(name)
        if d.hit == "first":
            out[name] = state.outcome
        else:
            out[name] = {o.id: FIRED if o.id in state.hits else UNKNOWN if o.id in state.pending
                         else NOT_FIRED for o in d.outcomes}
    return out


def _people(record: Mapping[str, Any]) -> int:
    members = record.get("members")
    return len(members) if isinstance(members, list) else 0


def _evaluate(pack: Pack, record: Any, as_of: Any, parameters: Mapping[str, Any] | None
              ) -> Result | str:
    try:
        return pack.evaluate(record, as_of=as_of, parameters=parameters)
    except (RecordError, EvaluationError, ValueError, TypeError) as e:
        return str(e)


def _record_id(record: Any) -> str | None:
    rid = record.get("id") if isinstance(record, Mapping) else None
    return rid if isinstance(rid, str) else None


# -- the two entry points ------------------------------------------------------------------------------

def impact(pack_a: Pack, pack_b: Pack, records: Iterable[Any], as_of: dt.date | str | None = None
           ) -> Impact:
    """What changes for `records` when `pack_a` is replaced by `pack_b`."""
    day = _day(as_of)
    return _impact(pack_a, pack_b, {}, records, day, _pack_changes(pack_a.spec, pack_b.spec, day))


def impact_of_setting(pack: Pack, settings: Mapping[str, Any], records: Iterable[Any],
                      as_of: dt.date | str | None = None) -> Impact:
    """What changes for `records` when the parameters in `settings` take the given values
    (for the whole run, whatever the date), e.g. {"monitoring_line": 6500}."""
    day = _day(as_of)
    settings = check_settings(pack, settings)
    changes = []
    for name, value in settings.items():
        p = pack.spec.parameters[name]
        before: Any = _schedule(p)
        if day is not None:
            pv = p.value_on(day)
            before = pv.value if pv else None
        changes.append(Difference("parameter", name, p.label, before, value,
                                  "value" if day is not None else "values"))
    return _impact(pack, pack, settings, records, day, tuple(changes))


def check_settings(pack: Pack, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values for a run, checked: the parameter exists and the value is of the kind
    the pack's own values are (a number for a number, a date for a date, a list of dates...)."""
    out = {}
    for name, value in settings.items():
        p = pack.spec.parameters.get(name)
        if p is None:
            close = difflib.get_close_matches(name, list(pack.spec.parameters), n=1)
            raise KeyError(f"pack {pack.id!r} has no parameter {name!r}"
                           + (f" (did you mean {close[0]!r}?)" if close else ""))
        if isinstance(value, list):
            value = tuple(value)
        want, got = _kind(p.values[0].value), _kind(value)
        if want != got:
            raise ValueError(f"parameter {name}: the value must be {want} like the pack's values "
                             f"(got {value!r})")
        out[name] = value
    return out


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "true or false"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, dt.date):
        return "a date written YYYY-MM-DD"
    if isinstance(v, tuple):
        return "a list of dates"
    return type(v).__name__


def _day(as_of: dt.date | str | None) -> dt.date | None:
    if as_of is None or isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError:
        raise ValueError(f"as_of must be a date written YYYY-MM-DD (got {as_of!r})") from None


def _decision_info(a: S.PackSpec, b: S.PackSpec) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for spec in (b, a):
        for name, d in spec.decisions.items():
            info = out.setdefault(name, {"label": d.label, "en": d.en, "hit": d.hit, "outcomes": []})
            known = {o[0] for o in info["outcomes"]}
            info["outcomes"] += [(o.id, o.label, o.en) for o in d.outcomes if o.id not in known]
    return out


def _impact(pack_a: Pack, pack_b: Pack, settings: dict[str, Any], records: Iterable[Any],
            day: dt.date | None, changes: tuple[Difference, ...]) -> Impact:
    counts: Counter[tuple] = Counter()
    people: Counter[tuple] = Counter()
    moved: list[Moved] = []
    invalid: list[Invalid] = []
    total = 0
    for position, record in enumerate(records):
        total += 1
        ra = _evaluate(pack_a, record, day, None)
        rb = _evaluate(pack_b, record, day, settings or None)
        if isinstance(ra, str) or isinstance(rb, str):
            invalid.append(Invalid(position, _record_id(record), ra if isinstance(ra, str) else None,
                                   rb if isinstance(rb, str) else None))
            continue
        sa, sb = decision_states(ra), decision_states(rb)
        n = _people(ra.record)
        changed = []
        for name in dict.fromkeys([*sa, *sb]):
            before, after = sa.get(name), sb.get(name)
            if isinstance(before, dict) or isinstance(after, dict):
                for oid in dict.fromkeys([*(before or {}), *(after or {})]):
                    key = (name, oid, (before or {}).get(oid), (after or {}).get(oid))
                    counts[key] += 1
                    people[key] += n
                    if key[2] != key[3]:
                        changed.append(name)
            else:
                key = (name, None, before, after)
                counts[key] += 1
                people[key] += n
                if before != after:
                    changed.append(name)
        if changed:
            moved.append(_moved(position, ra, rb, sa, sb, n))
    order = {name: i for i, name in enumerate(_decision_info(pack_a.spec, pack_b.spec))}
    transitions = tuple(Transition(d, o, b, a, counts[(d, o, b, a)], people[(d, o, b, a)])
                        for d, o, b, a in sorted(counts, key=lambda k: (order.get(k[0], 99), str(k[1:]))))
    return Impact(_info(pack_a), _info(pack_b), settings, day, total, transitions, tuple(moved),
                  tuple(invalid), changes, _decision_info(pack_a.spec, pack_b.spec))


def _info(pack: Pack) -> dict:
    i = pack.info()
    return {k: i[k] for k in ("id", "version", "sha256", "title", "files")}


# -- why one household moved -------------------------------------------------------------------------

def _moved(position: int, ra: Result, rb: Result, sa: dict, sb: dict, people: int) -> Moved:
    spec_a, spec_b = ra.pack.spec, rb.pack.spec
    decisions, conditions = [], []
    for name in dict.fromkeys([*spec_b.decisions, *spec_a.decisions]):
        before, after = sa.get(name), sb.get(name)
        if before == after:
            continue
        dspec = spec_b.decisions.get(name) or spec_a.decisions[name]
        if dspec.hit == "first":
            decisions.append((name, before, after))
            conditions += _first_condition(name, dspec, before, after)
        else:
            hits_a = sorted(o for o, s in (before or {}).items() if s == FIRED)
            hits_b = sorted(o for o, s in (after or {}).items() if s == FIRED)
            decisions.append((name, hits_a, hits_b))
            for o in dspec.outcomes:
                x, y = (before or {}).get(o.id), (after or {}).get(o.id)
                if x != y:
                    conditions.append((name, o.id, x, y))
    rules = []
    for rid in dict.fromkeys([*spec_b.rules, *spec_a.rules]):
        x = ra.rule(rid).status if rid in spec_a.rules else None
        y = rb.rule(rid).status if rid in spec_b.rules else None
        if x != y:
            r = spec_b.rules.get(rid) or spec_a.rules[rid]
            rules.append(Difference("rule", rid, r.label, x, y))
    for oid in dict.fromkeys([*spec_b.overrides, *spec_a.overrides]):
        x = _applied(ra, oid) if oid in spec_a.overrides else None
        y = _applied(rb, oid) if oid in spec_b.overrides else None
        if x != y:
            o = spec_b.overrides.get(oid) or spec_a.overrides[oid]
            rules.append(Difference("override", oid, o.label, x, y))
    values = []
    for kind, table_a, table_b in (("parameter", spec_a.parameters, spec_b.parameters),
                                   ("computed", spec_a.computed, spec_b.computed)):
        for name in dict.fromkeys([*table_b, *table_a]):
            entry = table_b.get(name) or table_a[name]
            if getattr(entry, "per", None):
                continue
            x = jsonable(ra.value(name)) if name in table_a else None
            y = jsonable(rb.value(name)) if name in table_b else None
            if x != y:
                values.append(Difference(kind, name, entry.label, x, y))
    return Moved(position, ra.record_id, people, tuple(decisions),
                 tuple(_condition(ra, rb, *c) for c in conditions), tuple(rules), tuple(values))


def _condition(ra: Result, rb: Result, decision: str, outcome: str, before: Any, after: Any) -> Condition:
    spec = rb.pack.spec if decision in rb.pack.spec.decisions else ra.pack.spec
    o = next(x for x in spec.decisions[decision].outcomes if x.id == outcome)
    reads: list[str] = []
    for r in (rb, ra):
        node = next((n for n in r.pack.compiled.nodes if n.name == decision), None)
        expr = dict(node.outcomes).get(outcome) if node else None
        if expr is not None:
            reads += sorted(expr.reads, key=lambda n: (expr.source.find(n), n))
    values = []
    for name in dict.fromkeys(reads):
        x, y = jsonable(ra.value(name)), jsonable(rb.value(name))
        if not isinstance(x, list) and not isinstance(y, list):
            values.append((name, x, y))
    return Condition(decision, outcome, o.label, before, after, o.when, tuple(values))


def _applied(result: Result, oid: str) -> str:
    v = result.value(oid)
    return "applied" if v is True else "not_applied" if v is False else UNKNOWN


def _first_condition(name: str, dspec: S.DecisionSpec, before: str | None, after: str | None
                     ) -> list[tuple[str, str, bool, bool]]:
    """For a first-match decision that went from X to Y: if Y comes before X, Y's condition now
    holds; otherwise X's condition no longer holds (an undetermined side says nothing more)."""
    if before is None or after is None:
        return []
    ids = [o.id for o in dspec.outcomes]
    if after in ids and (before not in ids or ids.index(after) < ids.index(before)):
        return [(name, after, False, True)]
    return [(name, before, True, False)]


# -- what changed between the two packs -----------------------------------------------------------

def _schedule(p: S.ParamSpec) -> list[dict]:
    return [{"from": v.start.isoformat(), "value": jsonable(v.value)} for v in p.values]


def _fields(entry: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(entry, n) for n in names}


def _compare(kind: str, a: Mapping[str, Any], b: Mapping[str, Any], fields: tuple[str, ...],
             main: str) -> list[Difference]:
    out = []
    for name in dict.fromkeys([*a, *b]):
        x, y = a.get(name), b.get(name)
        label = (y or x).label if hasattr(y or x, "label") else (y or x).get("label", "")
        if x is None or y is None:
            out.append(Difference(kind, name, label, None if x is None else _main(x, main),
                                  None if y is None else _main(y, main), main,
                                  "added" if x is None else "removed"))
            continue
        fx = _fields(x, fields) if not isinstance(x, dict) else {f: x.get(f) for f in fields}
        fy = _fields(y, fields) if not isinstance(y, dict) else {f: y.get(f) for f in fields}
        for f in fields:
            if fx[f] != fy[f]:
                out.append(Difference(kind, name, label, fx[f], fy[f], f))
    return out


def _main(entry: Any, main: str) -> Any:
    return entry.get(main) if isinstance(entry, dict) else getattr(entry, main)


def _pack_changes(a: S.PackSpec, b: S.PackSpec, day: dt.date | None) -> tuple[Difference, ...]:
    out: list[Difference] = []
    for name in dict.fromkeys([*a.parameters, *b.parameters]):
        x, y = a.parameters.get(name), b.parameters.get(name)
        if x is None or y is None:
            p = y or x
            out.append(Difference("parameter", name, p.label, None if x is None else _schedule(x),
                                  None if y is None else _schedule(y), "values",
                                  "added" if x is None else "removed"))
            continue
        if _schedule(x) != _schedule(y):
            if day is not None:
                vx, vy = x.value_on(day), y.value_on(day)
                out.append(Difference("parameter", name, y.label, vx.value if vx else None,
                                      vy.value if vy else None, "value"))
            else:
                out.append(Difference("parameter", name, y.label, _schedule(x), _schedule(y), "values"))
        for f in ("unit", "label"):
            if getattr(x, f) != getattr(y, f):
                out.append(Difference("parameter", name, y.label, getattr(x, f), getattr(y, f), f))
    out += _compare("computed", a.computed, b.computed, ("formula", "per", "unit", "label"), "formula")
    out += _compare("rule", a.rules, b.rules, ("when", "per", "group", "label", "cites"), "when")
    out += _compare("override", a.overrides, b.overrides, ("when", "cancels", "label"), "when")
    out += _compare("decision", a.decisions, b.decisions, ("hit", "label"), "hit")
    for name in a.decisions.keys() & b.decisions.keys():
        oa = {o.id: o for o in a.decisions[name].outcomes}
        ob = {o.id: o for o in b.decisions[name].outcomes}
        if [o for o in oa if o in ob] != [o for o in ob if o in oa]:
            out.append(Difference("decision", name, b.decisions[name].label, list(oa), list(ob), "order"))
        out += [attrs.evolve(d, name=f"{name}.{d.name}") for d in
                _compare("outcome", oa, ob, ("when", "status", "review", "label"), "when")]
    local = _compare("local_fact", a.local_facts, b.local_facts, ("type", "per", "values", "minimum"), "type")
    out += [attrs.evolve(d, field="allowed") if d.field == "values" else d for d in local]
    return tuple(out)


# -- text --------------------------------------------------------------------------------------------

class _Text:
    def __init__(self, impact: Impact, lang: str) -> None:
        self.i = impact
        self.lang = lang
        self.lines: list[str] = []

    def tr(self, key: str, **kw: str) -> str:
        return t(key, self.lang, **kw)

    def colon(self) -> str:
        return "：" if self.lang == "zh" else ": "

    def outcome(self, decision: str, oid: str | None) -> str:
        if oid is None:
            return t("undetermined", self.lang)
        info = self.i.decisions.get(decision, {"outcomes": []})
        for i, label, en in info["outcomes"]:
            if i == oid:
                return f"{(en or label) if self.lang == 'en' else label} ({oid})"
        return oid

    def state(self, s: str | None) -> str:
        return t(s, self.lang) if s else t("none", self.lang)

    def value(self, v: Any) -> str:
        if v is None:
            return t("none", self.lang)
        if isinstance(v, bool):
            return t("yes" if v else "no", self.lang)
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, float):
            return f"{v:.6g}"
        if isinstance(v, dict) and set(v) == {"unknown"}:
            return t("unknown", self.lang)
        if isinstance(v, list) and v and isinstance(v[0], dict) and "from" in v[0]:
            return ("；" if self.lang == "zh" else "; ").join(
                self.tr("diff_from", v=self.value(x["value"]), date=x["from"]) for x in v)
        if isinstance(v, (list, tuple)) and len(v) > 8:
            return t("doc_dates", self.lang, n=str(len(v)))
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(self.value(x) for x in v) + "]"
        if isinstance(v, dt.date):
            return v.isoformat()
        return " ".join(str(v).split())

    def hp(self, h: int, p: int) -> str:
        return self.tr("diff_hh_people", h=str(h), p=str(p))

    def render(self) -> str:
        i = self.i
        a = f"{i.before['id']} {i.before['version']} (sha256 {i.before['sha256'][:12]})"
        b = f"{i.after['id']} {i.after['version']} (sha256 {i.after['sha256'][:12]})"
        if i.settings:
            b += " + " + self.tr("diff_setting") + " " + ", ".join(
                f"{k}={self.value(jsonable(v))}" for k, v in i.settings.items())
        self.lines.append(self.tr("diff_title", a=a, b=b))
        if i.as_of:
            self.lines.append(f"{t('as_of', self.lang)} {i.as_of.isoformat()}")
        self.lines.append(self.tr("diff_records", n=str(i.records), ok=str(i.evaluated),
                                  bad=str(len(i.invalid)), moved=str(len(i.moved)),
                                  people=str(sum(m.people for m in i.moved))))
        self.changes()
        self.decisions()
        self.moved()
        if i.invalid:
            self.lines += ["", self.tr("diff_invalid") + self.colon().rstrip()]
            for x in i.invalid:
                for side, err in (("diff_before", x.before), ("diff_after", x.after)):
                    if err:
                        self.lines.append(f"  - [record {x.position}] {x.record_id or ''} "
                                          f"({self.tr(side)}): {' '.join(err.split())}")
        return "\n".join(self.lines).rstrip() + "\n"

    def changes(self) -> None:
        self.lines += ["", self.tr("diff_changes") + self.colon().rstrip()]
        if not self.i.changes:
            self.lines.append("  " + self.tr("diff_no_changes"))
        for c in self.i.changes:
            kind = t(c.kind, self.lang) if c.kind in ("parameter", "computed", "rule", "override",
                                                      "decision") else c.kind
            head = f"  - {self.tr('diff_' + c.change)} {kind} {c.name}「{' '.join(c.label.split())}」"
            what = f" {t(FIELD_WORDS[c.field], self.lang)}" if c.field in FIELD_WORDS else \
                (f" {c.field}" if c.field else "")
            when = self.tr("diff_in_force", date=self.i.as_of.isoformat()) \
                if c.field == "value" and self.i.as_of else ""
            if c.kind == "parameter" and c.name in self.i.settings:
                when += f"（{self.tr('diff_setting_all')}）" if self.lang == "zh" \
                    else f" ({self.tr('diff_setting_all')})"
            self.lines.append(f"{head}{what}{self.colon()}{self.value(c.before)} → "
                              f"{self.value(c.after)}{when}")

    def decisions(self) -> None:
        self.lines += ["", self.tr("diff_outcomes") + self.colon().rstrip()]
        for name, info in self.i.decisions.items():
            label = (info["en"] or info["label"]) if self.lang == "en" else info["label"]
            self.lines.append(f"【{label}】({name})")
            rows = [x for x in self.i.transitions if x.decision == name]
            if info["hit"] == "first":
                self.first(name, rows)
            else:
                self.collect(name, rows)

    def first(self, name: str, rows: list[Transition]) -> None:
        before: Counter[Any] = Counter()
        after: Counter[Any] = Counter()
        pb: Counter[Any] = Counter()
        pa: Counter[Any] = Counter()
        for x in rows:
            before[x.before] += x.households
            after[x.after] += x.households
            pb[x.before] += x.people
            pa[x.after] += x.people
        self.lines.append(f"  {self.tr('diff_totals')}{self.colon().rstrip()}")
        ids = [o[0] for o in self.i.decisions[name]["outcomes"]] + [None]
        for oid in ids:
            if before[oid] or after[oid]:
                delta = after[oid] - before[oid]
                sign = f"（{delta:+d}）" if self.lang == "zh" else f" ({delta:+d})"
                self.lines.append(f"    {self.outcome(name, oid)}{self.colon()}"
                                  f"{self.hp(before[oid], pb[oid])} → {self.hp(after[oid], pa[oid])}"
                                  f"{sign if delta else ''}")
        moves = [x for x in rows if x.before != x.after]
        if not moves:
            self.lines.append("  " + self.tr("diff_no_moves"))
            return
        self.lines.append(f"  {self.tr('diff_transitions')}{self.colon().rstrip()}")
        for x in sorted(moves, key=lambda x: -x.households):
            self.lines.append(f"    {self.outcome(name, x.before)} → {self.outcome(name, x.after)}"
                              f"{self.colon()}{self.hp(x.households, x.people)}")
        stay = sum(x.households for x in rows if x.before == x.after)
        self.lines.append(f"  {self.tr('diff_unchanged')}{self.colon()}"
                          f"{self.tr('diff_households', n=str(stay))}")

    def collect(self, name: str, rows: list[Transition]) -> None:
        any_move = False
        for oid, *_ in self.i.decisions[name]["outcomes"]:
            cells = [x for x in rows if x.outcome == oid]
            held_b = sum(x.households for x in cells if x.before == FIRED)
            held_a = sum(x.households for x in cells if x.after == FIRED)
            moves = [x for x in cells if x.before != x.after]
            if not moves and not held_b:
                continue
            line = f"    {self.outcome(name, oid)}{self.colon()}{t('fired', self.lang)} " \
                   f"{self.tr('diff_households', n=str(held_b))} → " \
                   f"{self.tr('diff_households', n=str(held_a))}"
            if moves:
                any_move = True
                line += "；" if self.lang == "zh" else "; "
                line += ("；" if self.lang == "zh" else "; ").join(
                    f"{self.state(x.before)} → {self.state(x.after)} {self.hp(x.households, x.people)}"
                    for x in moves)
            self.lines.append(line)
        if not any_move:
            self.lines.append("  " + self.tr("diff_no_moves"))

    def moved(self) -> None:
        self.lines += ["", self.tr("diff_moved") + self.colon().rstrip()]
        if not self.i.moved:
            self.lines.append("  " + self.tr("diff_no_moves"))
        for m in self.i.moved:
            self.lines.append(f"  - {m.record_id or '-'} [record {m.position}] "
                              f"{self.tr('diff_people', n=str(m.people))}")
            for name, before, after in m.decisions:
                if isinstance(before, list) or isinstance(after, list):
                    shown = f"{', '.join(before) or t('none', self.lang)} → " \
                            f"{', '.join(after) or t('none', self.lang)}"
                else:
                    shown = f"{self.outcome(name, before)} → {self.outcome(name, after)}"
                self.lines.append(f"      {name}{self.colon()}{shown}")
            for c in m.conditions:
                key = "diff_became_true" if c.after in (True, FIRED) else "diff_became_false"
                self.lines.append(f"      {self.tr('diff_decisive')}{self.colon()}"
                                  f"{self.tr(key, d=c.decision, o=self.outcome(c.decision, c.outcome))}")
                if c.when:
                    shown = ", ".join(f"{n}={self.value(b)}" if b == a else
                                      f"{n}={self.value(b)}→{self.value(a)}" for n, b, a in c.values)
                    when = " ".join(c.when.split())
                    self.lines.append(f"        {when}" + (f"  [{shown}]" if shown else ""))
            for r in m.rules:
                self.lines.append(f"      {self.tr('diff_rules')}{self.colon()}{r.name}「{r.label}」 "
                                  f"{self.state(r.before)} → {self.state(r.after)}")
            if m.values:
                self.lines.append(f"      {self.tr('diff_values')}{self.colon()}" + "；".join(
                    f"{v.name} {self.value(v.before)} → {self.value(v.after)}" for v in m.values))
