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
    report = _compiled(pack, name)
    tally = ReportTally()
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
                tally.add(("x", position, rid, str(e)))
                continue
        tally.add(_entry(report, result))
    if day is None:
        raise ValueError(f"report {name!r} over no household needs as_of")
    return tally.finish(pack, name, day, parameters)


def _compiled(pack: Any, name: str) -> CompiledReport:
    try:
        return pack.compiled.reports[name]
    except KeyError:
        raise KeyError(f"pack {pack.id!r} has no report {name!r}; it has "
                       f"{', '.join(pack.compiled.reports) or 'none'}") from None


def contribution(pack: Any, name: str, position: int, result: Result | None = None,
                 record_id: Any = None, error: str | None = None) -> tuple:
    """What one household adds to report `name` (small and picklable, so worker processes and
    cluster partitions send it, or their tally, to whoever adds up): its group, measures and ids;
    or why it is not counted: invalid ("x", with its error), outside the report ("o"), or
    unplaced ("u", its group or filter unknown)."""
    if result is None:
        return ("x", position, record_id if isinstance(record_id, str) else None, error)
    return _entry(_compiled(pack, name), result)


def _entry(report: CompiledReport, result: Result) -> tuple:
    env = result.values()
    day, rid = result.as_of, result.record_id
    if report.filter is not None:
        inside = report.filter(env)
        if inside.__class__ is Unknown:
            return ("u", day, rid)
        if not inside:
            return ("o", day)
    key_values = [g(env) for g in report.group_by]
    if any(v.__class__ is Unknown for v in key_values):
        return ("u", day, rid)
    measures = {m: expr(env) for m, _, expr in report.measures}
    return ("g", day, rid, tuple(zip(report.spec.group_by, key_values)), measures)


class ReportTally:
    """A population report being added up: feed contributions in input order (`add`), combine
    tallies of consecutive parts of the input (`merge`), then `finish` into a ReportResult. One
    pass (`Pack.report`), a batch run's worker processes and a cluster's partitions all add up
    here, so their reports are equal (counts exactly; a sum of non-integer values may differ in
    its last binary digit when the additions are grouped differently)."""

    def __init__(self) -> None:
        self.groups: dict[tuple, tuple[dict, dict[str, _Measure], list[int]]] = {}
        self.invalid: list[dict] = []
        self.unplaced: list[str] = []
        self.considered = 0
        self.day: dt.date | None = None

    def add(self, c: tuple) -> None:
        kind = c[0]
        if kind == "x":
            self.invalid.append({"position": c[1], "record_id": c[2], "error": c[3]})
            return
        self.day = self.day or c[1]
        self.considered += 1
        if kind == "u":
            self.unplaced.append(c[2])
        if kind != "g":
            return
        _, _, rid, key_items, measures = c
        key = tuple(_hashable(v) for _, v in key_items)
        entry = self.groups.get(key)
        if entry is None:
            entry = self.groups[key] = (dict(key_items), {m: _Measure() for m in measures}, [0])
        entry[2][0] += 1
        for m, v in measures.items():
            acc = entry[1][m]
            if v.__class__ is Unknown:
                acc.unknown += 1
                acc.unknown_ids.append(rid)
            elif v is True:            # a count that holds
                acc.total += 1
                acc.ids.append(rid)
            elif v is not False:       # a sum's value
                acc.total += v

    def merge(self, other: ReportTally) -> ReportTally:
        """This tally followed by `other` (the next part of the input)."""
        self.invalid += other.invalid
        self.unplaced += other.unplaced
        self.considered += other.considered
        self.day = self.day or other.day
        for key, (kd, measures, n) in other.groups.items():
            entry = self.groups.get(key)
            if entry is None:
                self.groups[key] = (kd, measures, n)
                continue
            entry[2][0] += n[0]
            for m, acc in measures.items():
                mine = entry[1][m]
                mine.total += acc.total
                mine.unknown += acc.unknown
                mine.ids += acc.ids
                mine.unknown_ids += acc.unknown_ids
        return self

    def finish(self, pack: Any, name: str, as_of: Any = None,
               parameters: Mapping[str, Any] | None = None) -> ReportResult:
        """The ReportResult, with the report's group rules evaluated on each group's measures."""
        report = _compiled(pack, name)
        day = self.day or as_of or dt.date.today()
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        params = _params(pack, day, parameters)
        out = []
        for key in sorted(self.groups, key=lambda k: tuple(str(x) for x in k)):
            gkey, measures, count = self.groups[key]
            values = {m: measures[m].value(kind) for m, kind, _ in report.measures}
            env = {**params, "as_of": day, **values}
            computed, rules = {}, {}
            for n, kind, expr in report.nodes:
                env[n] = v = expr(env)
                (computed if kind == "computed" else rules)[n] = v
            out.append(GroupResult(gkey, count[0], values,
                                   {m: tuple(measures[m].ids) for m, _, _ in report.measures},
                                   {m: tuple(measures[m].unknown_ids) for m, _, _ in report.measures},
                                   computed, rules))
        return ReportResult(pack, report, day, out, list(self.invalid), list(self.unplaced), params,
                            self.considered)


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
