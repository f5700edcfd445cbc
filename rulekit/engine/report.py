"""Population-level reports: per-household measures aggregated by group, then group rules.

A report reads each household's evaluated state (facts, computed values, rules, decisions), so it
can count "households proposed as 边缘易致贫户" or sum their members. Nothing is dropped silently:
a household whose group or measure is unknown is counted as unknown (counts keep their bounds),
and an invalid record is listed with its position and error.
"""
from __future__ import annotations

import csv
import datetime as dt
import graphlib
import io
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rulekit.errors import EvaluationError, ExpressionError, Problem, RecordError
from rulekit.expr.compiler import Compiled, Namespace, Ref, compile_expression, names_in
from rulekit.expr.values import Unknown
from rulekit.pack import spec as S
from rulekit.trace.messages import t
from rulekit.trace.result import Citation, Result, jsonable

TOTAL = "(合计)"


@attrs.frozen
class CompiledReport:
    spec: S.ReportSpec
    group_by: tuple[Compiled, ...]
    filter: Compiled | None
    measures: tuple[tuple[str, str, Compiled], ...]    # (name, count|sum, per-record expression)
    nodes: tuple[tuple[str, str, Compiled], ...]       # (name, computed|rule, group expression)


def compile_reports(spec: S.PackSpec, ns: Namespace, problems: list[Problem]) -> dict[str, CompiledReport]:
    out = {}
    for name, r in spec.reports.items():
        report = _compile_report(spec, r, ns, problems)
        if report is not None:
            out[name] = report
    return out


def _comp(src: str, ns: Namespace, where: S.Where, field: str, want: str | None,
          problems: list[Problem], rule_id: str) -> Compiled | None:
    try:
        return compile_expression(src, ns, want=want)
    except ExpressionError as e:
        problems.append(where.at(field).problem(e.message, rule_id=rule_id))
        return None


def _compile_report(spec: S.PackSpec, r: S.ReportSpec, ns: Namespace,
                    problems: list[Problem]) -> CompiledReport | None:
    before = len(problems)
    group_by = []
    for g in r.group_by:
        c = _comp(g, ns, r.where, "group_by", None, problems, r.name)
        if c is not None:
            group_by.append(c)
    filt = _comp(r.filter, ns, r.where, "where", "bool", problems, r.name) if r.filter else None
    measures = []
    for m in r.measures.values():
        c = _comp(m.expr, ns, m.where, m.kind, "bool" if m.kind == "count" else "num", problems,
                  f"{r.name}.{m.name}")
        if c is not None:
            measures.append((m.name, m.kind, c))
    group_ns = Namespace({n: ns.names[n] for n in spec.parameters if n in ns.names}, {}, ns.enums)
    for b in ("as_of",):
        group_ns.names[b] = Ref(b, "date", "builtin")
    for m in r.measures:
        group_ns.names[m] = Ref(m, "num", "measure")
    graph = {n: {x for x in names_in(c.formula) if x in r.computed or x in r.rules}
             for n, c in r.computed.items()}
    graph.update({n: {x for x in names_in(x_.when) if x in r.computed or x in r.rules}
                  for n, x_ in r.rules.items()})
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        problems.append(r.where.problem(f"report values depend on each other in a cycle: "
                                        f"{' -> '.join(e.args[1])}"))
        return None
    nodes = []
    for n in order:
        if n in r.computed:
            c = _comp(r.computed[n].formula, group_ns, r.computed[n].where, "formula", None,
                      problems, f"{r.name}.{n}")
            if c is not None:
                group_ns.names[n] = Ref(n, c.type, "computed")
                nodes.append((n, "computed", c))
        else:
            c = _comp(r.rules[n].when, group_ns, r.rules[n].where, "when", "bool", problems,
                      f"{r.name}.{n}")
            if c is not None:
                group_ns.names[n] = Ref(n, "bool", "rule")
                nodes.append((n, "rule", c))
    _check_table(r, problems)
    if len(problems) > before:
        return None
    return CompiledReport(r, tuple(group_by), filt, tuple(measures), tuple(nodes))


def _check_table(r: S.ReportSpec, problems: list[Problem]) -> None:
    if not r.table:
        return
    columns = {c["id"] for c in r.table["columns"]}
    cells = set(r.measures) | set(r.computed)
    for i, row in enumerate(r.table["rows"]):
        for key, value in row.items():
            if key in ("label", "en"):
                continue
            if key not in columns:
                problems.append(r.where.at("table").problem(
                    f"row {i + 1} ({row.get('label')}) has column {key!r}, which the table does not "
                    f"declare (columns: {', '.join(sorted(columns))})"))
            elif value not in cells:
                problems.append(r.where.at("table").problem(
                    f"row {i + 1} ({row.get('label')}) cell {key}: {value!r} is not a measure or "
                    f"computed value of report {r.name!r}"))


# -- running a report ------------------------------------------------------------------------------

@attrs.define
class _Measure:
    total: float = 0
    unknown: int = 0
    ids: list[str] = attrs.field(factory=list)          # households counted (count measures)
    unknown_ids: list[str] = attrs.field(factory=list)
    missing: set[str] = attrs.field(factory=set)

    def value(self, kind: str) -> Any:
        if not self.unknown:
            return self.total
        why = {f"{self.unknown} household(s) with unknown facts: {', '.join(self.unknown_ids[:5])}"
               + ("…" if self.unknown > 5 else "")}
        return Unknown(why, (self.total, self.total + self.unknown)) if kind == "count" else Unknown(why)


@attrs.frozen
class GroupResult:
    key: dict[str, Any]
    households: int
    measures: dict[str, Any]
    measure_ids: dict[str, tuple[str, ...]]
    unknown_ids: dict[str, tuple[str, ...]]
    computed: dict[str, Any]
    rules: dict[str, Any]

    def to_dict(self) -> dict:
        return {"key": jsonable(self.key), "households": self.households,
                "measures": jsonable(self.measures),
                "households_counted": {k: list(v) for k, v in self.measure_ids.items()},
                "households_unknown": {k: list(v) for k, v in self.unknown_ids.items() if v},
                "computed": jsonable(self.computed),
                "rules": {k: {"value": jsonable(v), "status": _status(v)} for k, v in self.rules.items()}}


def _status(v: Any) -> str:
    return "fired" if v is True else ("unknown" if v.__class__ is Unknown else "not_fired")


class ReportResult:
    """The outcome of one report over a population, per group, with what it could not count."""

    def __init__(self, pack: Any, report: CompiledReport, as_of: dt.date,
                 groups: list[GroupResult], invalid: list[dict], unplaced: list[str],
                 params: dict[str, Any], considered: int) -> None:
        self.pack = pack
        self.report = report
        self.spec = report.spec
        self.as_of = as_of
        self.groups = groups
        self.invalid = invalid          # records that could not be evaluated: position, id, error
        self.unplaced = unplaced        # households whose group or 'where' is unknown
        self.params = params
        self.considered = considered

    def group(self, **key: Any) -> GroupResult:
        for g in self.groups:
            if all(g.key.get(k) == v for k, v in key.items()):
                return g
        raise KeyError(f"report {self.spec.name!r} has no group {key}")

    def to_dict(self) -> dict:
        cat = S.pack_catalogue(self.pack.spec)
        return {
            "report": self.spec.name, "label": self.spec.label, "as_of": self.as_of.isoformat(),
            "pack": self.pack.info(),
            "cites": [Citation(c, cat[c]["quote"], cat[c]["where"]).to_dict()
                      for c in self.spec.cites if c in cat],
            "parameters": jsonable(self.params),
            "households_considered": self.considered,
            "invalid": self.invalid, "unplaced": self.unplaced,
            "groups": [g.to_dict() for g in self.groups],
        }

    # -- renderings --------------------------------------------------------------------------
    def to_csv(self) -> str:
        """One row per group (group keys, measures, computed values, rule results), or, for a
        report with a table layout, the table itself (one block per group)."""
        buf = io.StringIO()
        w = csv.writer(buf)
        if self.spec.table:
            for g in self.groups:
                for row in self.table_rows(g):
                    w.writerow(row)
                for rid, v in g.rules.items():
                    w.writerow([self.spec.rules[rid].label, _status(v)])
            return buf.getvalue()
        keys = list(self.spec.group_by)
        cols = list(self.spec.measures) + list(self.spec.computed) + list(self.spec.rules)
        w.writerow(keys + cols)
        for g in self.groups:
            values = {**g.measures, **g.computed, **g.rules}
            w.writerow([_cell(g.key.get(k)) for k in keys] + [_cell(values[c]) for c in cols])
        return buf.getvalue()

    def table_rows(self, g: GroupResult, lang: str = "zh") -> list[list[str]]:
        table = self.spec.table or {}
        cols = table["columns"]
        head = [table.get("title") or self.spec.label]
        if g.key:
            head[0] += " · " + self.key_text(g)
        rows = [head, [""] + [(c.get("en") if lang == "en" and c.get("en") else c["label"]) for c in cols]]
        values = {**g.measures, **g.computed}
        for row in table["rows"]:
            label = row.get("en") if lang == "en" and row.get("en") else row["label"]
            rows.append([label] + [_cell(values.get(row.get(c["id"]), "")) if row.get(c["id"]) else ""
                                   for c in cols])
        return rows

    def key_text(self, g: GroupResult) -> str:
        """The group's key with the labels of its facts (乡（镇、街道）=甲镇)."""
        from rulekit.trace.result import _fact_label
        def label(k: str) -> str:
            declared = self.pack.spec.local_facts.get(k) or self.pack.spec.facts.get(k)
            return declared["label"] if declared else _fact_label(None, k)
        return "、".join(f"{label(k)}={_cell(v)}" for k, v in g.key.items())

    def explain(self, lang: str = "zh") -> str:
        lines = [f"【{self.spec.en if lang == 'en' and self.spec.en else self.spec.label}】"
                 f" {t('as_of', lang)} {self.as_of.isoformat()} · {self.considered} "
                 f"{'户' if lang == 'zh' else 'households'}"]
        cat = S.pack_catalogue(self.pack.spec)
        for c in self.spec.cites:
            if c in cat:
                lines.append(f"  [{c} {cat[c]['where']}] “{cat[c]['quote']}”")
        used = sorted({n for r in self.spec.rules.values() for n in names_in(r.when)}
                      | {n for c in self.spec.computed.values() for n in names_in(c.formula)})
        for n in used:
            if n in self.pack.spec.parameters:
                p = self.pack.spec.parameters[n]
                pv = p.value_on(self.as_of)
                since = f" {t('in_force_from', lang, date=pv.start.isoformat())}" if pv else ""
                lines.append(f"  {t('parameter', lang)} {n}「{p.label}」 = {_cell(self.params[n])} "
                             f"{p.unit}{since}; {t('origin', lang)} {pv.origin if pv else '-'}")
        for g in self.groups:
            lines.append("")
            if self.spec.table:
                rows = self.table_rows(g, lang)
                width = max(_width(r[0]) for r in rows)
                for r in rows:
                    cells = "  ".join(" " * max(0, 8 - _width(x)) + x for x in r[1:])
                    lines.append("  " + r[0] + " " * (width - _width(r[0])) + "  " + cells)
            else:
                key = self.key_text(g) or t("household", lang)
                lines.append(f"- {key}: " + "; ".join(
                    f"{self.spec.measures[m].label}={_cell(v)}" for m, v in g.measures.items()))
                for n, v in g.computed.items():
                    label = self.spec.computed[n].label
                    lines.append(f"    {t('computed', lang)} {n}「{label}」 = {_cell(v)}")
            for rid, v in g.rules.items():
                r = self.spec.rules[rid]
                lines.append(f"    {t('rule', lang)} {rid}「{r.label}」: {t(_status(v), lang)}")
                lines.append(f"        {t('condition', lang)}: {r.when}")
                for c in r.cites:
                    if c in cat:
                        lines.append(f"        [{c}] “{cat[c]['quote']}”")
        if self.unplaced:
            lines.append(f"\n{t('unplaced', lang)}: {', '.join(self.unplaced)}")
        if self.invalid:
            lines.append(f"\n{t('invalid', lang)}: " + "; ".join(
                f"#{i['position']} {i.get('record_id') or ''} {i['error'].splitlines()[0]}"
                for i in self.invalid))
        return "\n".join(lines) + "\n"


def _width(text: str) -> int:
    """Display width: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(v: Any) -> str:
    if v.__class__ is Unknown:
        if v.bounds:
            return f"{_cell(v.bounds[0])}–{_cell(v.bounds[1])}?"
        return "?"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    if isinstance(v, dt.date):
        return v.isoformat()
    return "" if v is None else str(v)


def run_report(pack: Any, name: str, items: Iterable[Result | Mapping[str, Any]], *,
               as_of: Any = None, parameters: Mapping[str, Any] | None = None) -> ReportResult:
    try:
        report = pack.compiled.reports[name]
    except KeyError:
        raise KeyError(f"pack {pack.id!r} has no report {name!r}; it has "
                       f"{', '.join(pack.compiled.reports) or 'none'}") from None
    groups: dict[tuple, tuple[dict, dict[str, _Measure], list[int]]] = {}
    invalid: list[dict] = []
    unplaced: list[str] = []
    considered = 0
    day: dt.date | None = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    for position, item in enumerate(items):
        if isinstance(item, Result):
            result = item
            if day is None:
                day = result.as_of
            elif result.as_of != day:
                raise ValueError(f"report {name!r}: household {result.record_id!r} was evaluated "
                                 f"as of {result.as_of}, others as of {day}; a report needs one "
                                 f"date: give as_of")
        elif day is None:
            raise ValueError(f"report {name!r} needs as_of: the date whose parameters and period "
                             f"apply to every household (each record's own date would mix them)")
        else:
            try:
                result = pack.evaluate(item, as_of=as_of, parameters=parameters)
            except (RecordError, EvaluationError) as e:
                rid = item.get("id") if isinstance(item, Mapping) else None
                invalid.append({"position": position, "record_id": rid, "error": str(e)})
                continue
        env = result._state.env
        considered += 1
        rid = result.record_id
        if report.filter is not None:
            inside = report.filter(env)
            if inside.__class__ is Unknown:
                unplaced.append(rid)
                continue
            if not inside:
                continue
        key_values = [g(env) for g in report.group_by]
        if any(v.__class__ is Unknown for v in key_values):
            unplaced.append(rid)
            continue
        key = tuple(_hashable(v) for v in key_values)
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = (dict(zip(report.spec.group_by, key_values)),
                                   {m: _Measure() for m, _, _ in report.measures}, [0])
        entry[2][0] += 1
        for m, kind, expr in report.measures:
            acc = entry[1][m]
            v = expr(env)
            if v.__class__ is Unknown:
                acc.unknown += 1
                acc.unknown_ids.append(rid)
                acc.missing |= v.missing
            elif kind == "count":
                if v:
                    acc.total += 1
                    acc.ids.append(rid)
            else:
                acc.total += v
    if day is None:
        raise ValueError(f"report {name!r} over no household needs as_of")
    params = _params(pack, day, parameters)
    out = []
    for key in sorted(groups, key=lambda k: tuple(str(x) for x in k)):
        gkey, measures, count = groups[key]
        env = {**params, "as_of": day}
        values = {m: measures[m].value(kind) for m, kind, _ in report.measures}
        env.update(values)
        computed, rules = {}, {}
        for n, kind, expr in report.nodes:
            env[n] = v = expr(env)
            (computed if kind == "computed" else rules)[n] = v
        out.append(GroupResult(gkey, count[0], values,
                               {m: tuple(a.ids) for m, a in measures.items()},
                               {m: tuple(a.unknown_ids) for m, a in measures.items()}, computed, rules))
    return ReportResult(pack, report, day, out, invalid, unplaced, params, considered)


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _params(pack: Any, day: dt.date, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    out = {}
    for name, p in pack.spec.parameters.items():
        if arguments and name in arguments:
            out[name] = arguments[name]
        else:
            pv = p.value_on(day)
            out[name] = pv.value if pv else Unknown((f"parameter {name} has no value in force on {day}",))
    return out
