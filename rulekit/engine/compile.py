"""Compile a pack spec: build the namespace (record facts, parameters, computed values, rules,
groups, overrides, decisions), order everything by its dependencies, compile each expression once,
and collect every problem with its file, line and key path before raising.
"""
from __future__ import annotations

import datetime as dt
import difflib
import graphlib
from typing import Any

import attrs

from rulekit.errors import ExpressionError, PackError, Problem
from rulekit.expr.compiler import Compiled, Namespace, Ref, compile_expression, names_in
from rulekit.pack import spec as S
from rulekit.record import model as M

BUILTINS = {
    "as_of": "the date the evaluation is made for (as_of)",
    "reference_date": "the date ages and statuses are taken at (the pack's reference_date fact, "
                      "else as_of)",
    "period_start": "the first day of the income period",
    "period_end": "the last day of the income period",
}


def _fact_type(meta: dict) -> str:
    kind = meta["kind"]
    if meta.get("enum") and kind != "list":
        return "enum:" + meta["enum"]
    return {M.MONEY: "num", M.NUMBER: "num", M.COUNT: "num", M.BOOL: "bool", M.DATE: "date",
            M.TEXT: "str"}.get(kind, "any")


def _item_refs(cls: type) -> dict[str, Ref]:
    return {f.name: Ref(f.name, _fact_type(f.metadata), "fact", "item") for f in attrs.fields(cls)}


def record_namespace() -> Namespace:
    """Names the record gives: household facts (sections lifted) and the fields of each list."""
    names: dict[str, Ref] = {}
    lists: dict[str, dict[str, Ref]] = {}

    def add(cls: type) -> None:
        for f in attrs.fields(cls):
            meta = f.metadata
            if "section" in meta:
                add(M.SECTIONS[f.name])
            elif meta["kind"] == "list":
                names[f.name] = Ref(f.name, "list:" + f.name, "fact")
                lists[f.name] = _item_refs(meta["item"]) if meta.get("item") else {}
                if meta.get("enum"):
                    names[f.name] = Ref(f.name, "list:enum:" + meta["enum"], "fact")
            else:
                names[f.name] = Ref(f.name, _fact_type(meta), "fact")
    add(M.Household)
    lists["members"]["age"] = Ref("age", "num", "fact", "item")
    for b in BUILTINS:
        names[b] = Ref(b, "date", "builtin")
    return Namespace(names, lists)


@attrs.frozen
class Node:
    """One named thing evaluated per record, in dependency order."""
    name: str
    kind: str                         # computed | rule | group | override | decision
    expr: Compiled | None = None      # formula / when
    per: str | None = None            # "members" for per-member computed values and rules
    overrides: tuple[str, ...] = ()   # for a rule: the overrides that can cancel it
    cancels: tuple[str, ...] = ()     # for an override: the rules it cancels
    members: tuple[str, ...] = ()     # for a group: its rules
    outcomes: tuple[tuple[str, Compiled | None], ...] = ()   # for a decision


@attrs.frozen
class CompiledPack:
    spec: S.PackSpec
    namespace: Namespace
    nodes: tuple[Node, ...]           # in evaluation order
    types: dict[str, str]
    reports: dict = attrs.field(factory=dict)   # name -> CompiledReport (engine/report.py)
    checks: tuple = ()                          # (check spec, compiled condition) on the input
    fast: Any = None                            # the generated whole-pack function (codegen.py)
    param_cache: dict = attrs.field(factory=dict, eq=False, repr=False)   # as_of -> parameters


def _param_type(p: S.ParamSpec) -> str:
    v = p.values[0].value
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    if isinstance(v, tuple):
        kinds = {"date" if isinstance(x, dt.date) else "str" if isinstance(x, str) else "num"
                 for x in v}
        return "list:" + (kinds.pop() if len(kinds) == 1 else "any")
    if isinstance(v, dt.date):
        return "date"
    if isinstance(v, str):
        return "str"
    return "any"


FLAT_TYPES = {"number": "num", "integer": "num", "bool": "bool", "text": "str", "date": "date"}


def flat_namespace(facts: dict[str, dict]) -> Namespace:
    """Names of a pack that declares its own flat input facts instead of the household record."""
    names = {n: Ref(n, FLAT_TYPES[f["type"]], "fact") for n, f in facts.items()}
    for b in BUILTINS:
        names[b] = Ref(b, "date", "builtin")
    return Namespace(names, {})


def compile_spec(spec: S.PackSpec) -> CompiledPack:
    problems: list[Problem] = []
    ns = flat_namespace(spec.facts) if spec.facts else record_namespace()
    ns.enums.update(outcome_enums(spec))
    _add_local_facts(spec, ns, problems)
    owners: dict[str, S.Where] = {}

    def claim(name: str, where: S.Where, what: str) -> bool:
        if name in ns.names or name in ns.lists.get("members", {}) and what == "member value":
            kind = ns.names[name].kind if name in ns.names else "member field"
            problems.append(where.problem(
                f"{what} {name!r} has the name of an existing {kind}; choose another name"))
            return False
        if name in owners:
            problems.append(where.problem(f"{what} {name!r} is defined twice (also at "
                                          f"{owners[name].file}:{owners[name].line})"))
            return False
        owners[name] = where
        return True

    _check_citations(spec, problems)
    for p in spec.parameters.values():
        if claim(p.name, p.where, "parameter"):
            ns.names[p.name] = Ref(p.name, _param_type(p), "parameter")
        _check_param_values(p, problems)
    for r in spec.rules.values():
        if claim(r.id, r.where, "rule"):
            ns.names[r.id] = Ref(r.id, "bool", "rule")
    for g in spec.groups.values():
        if claim(g.id, g.where, "rule group"):
            ns.names[g.id] = Ref(g.id, "bool", "group")
    for o in spec.overrides.values():
        if claim(o.id, o.where, "override"):
            ns.names[o.id] = Ref(o.id, "bool", "override")
        for rid in o.cancels:
            if rid not in spec.rules:
                close = difflib.get_close_matches(rid, list(spec.rules), n=1)
                problems.append(o.where.problem(
                    f"cancels rule {rid!r}, which the pack does not define"
                    + (f" (did you mean {close[0]!r}?)" if close else ""), rule_id=o.id))
    for d in spec.decisions.values():
        if claim(d.name, d.where, "decision") and d.hit == "first":
            ns.names[d.name] = Ref(d.name, "enum:decision." + d.name, "decision")
        _check_outcomes(d, problems)
    member_computed = {c.name for c in spec.computed.values() if c.per == "members"}
    for c in spec.computed.values():
        if c.per == "members":
            if c.name in ns.lists["members"] or c.name in owners:
                problems.append(c.where.problem(f"member value {c.name!r} clashes with an existing "
                                                f"name; choose another"))
            owners[c.name] = c.where
        elif claim(c.name, c.where, "computed value"):
            ns.names[c.name] = Ref(c.name, "any", "computed")

    order = _order(spec, member_computed, problems)
    if not order and problems:
        raise PackError(problems, subject=spec.files[-1])
    nodes, types = _compile_nodes(spec, ns, order, problems)
    from rulekit.engine.report import compile_reports
    reports = compile_reports(spec, ns, problems)
    checks = []
    for c in spec.checks.values():
        try:
            checks.append((c, compile_expression(c.when, ns, want="bool")))
        except ExpressionError as e:
            problems.append(c.where.at("must").problem(e.message, rule_id=c.id))
    if problems:
        raise PackError(problems, subject=spec.files[-1])
    compiled = CompiledPack(spec, ns, tuple(nodes), types, reports, checks=tuple(checks))
    from rulekit.engine.codegen import generate
    return attrs.evolve(compiled, fast=generate(compiled))


def _add_local_facts(spec: S.PackSpec, ns: Namespace, problems: list[Problem]) -> None:
    """Facts the pack declares for records to give under local: (household or member level)."""
    for name, f in spec.local_facts.items():
        typ = FLAT_TYPES[f["type"]]
        if f.get("values"):
            ns.enums["local." + name] = {v: v for v in f["values"]}
            typ = "enum:local." + name
        scope = ns.lists["members"] if f.get("per") == "members" else ns.names
        if name in ns.names or name in ns.lists.get("members", {}):
            problems.append(f["where"].problem(f"local fact {name!r} has the name of a fact of the "
                                               f"household record; use that fact instead"))
            continue
        scope[name] = Ref(name, typ, "fact", "item" if f.get("per") == "members" else "env")


def _check_citations(spec: S.PackSpec, problems: list[Problem]) -> None:
    known = S.pack_catalogue(spec)
    entries: list[tuple[S.Where, tuple[str, ...], str | None]] = []
    entries += [(p.where, p.cites, p.name) for p in spec.parameters.values()]
    entries += [(c.where, c.cites, c.name) for c in spec.computed.values()]
    entries += [(r.where, r.cites, r.id) for r in spec.rules.values()]
    entries += [(g.where, g.cites, g.id) for g in spec.groups.values()]
    entries += [(o.where, o.cites, o.id) for o in spec.overrides.values()]
    for d in spec.decisions.values():
        entries.append((d.where, d.cites, d.name))
        entries += [(o.where, o.cites, f"{d.name}.{o.id}") for o in d.outcomes]
    for where, cites, rid in entries:
        for cid in cites:
            if cid not in known:
                close = difflib.get_close_matches(cid, list(known), n=1)
                problems.append(where.problem(
                    f"cites {cid!r}, which is not in the requirements catalogue"
                    + (f" (did you mean {close[0]!r}?)" if close else ""), rule_id=rid))


def _check_param_values(p: S.ParamSpec, problems: list[Problem]) -> None:
    starts = [v.start for v in p.values]
    if len(set(starts)) != len(starts):
        problems.append(p.where.problem(f"parameter {p.name!r} has two values from the same date; "
                                        f"keep one value per effective date"))
    types = {_param_type(attrs.evolve(p, values=(v,))) for v in p.values}
    if len(types) > 1:
        problems.append(p.where.problem(f"parameter {p.name!r} mixes kinds of values over time "
                                        f"({', '.join(sorted(types))}); keep one kind"))


def _check_outcomes(d: S.DecisionSpec, problems: list[Problem]) -> None:
    seen: set[str] = set()
    for i, o in enumerate(d.outcomes):
        if o.id in seen:
            problems.append(o.where.problem(f"outcome id {o.id!r} is used twice in decision "
                                            f"{d.name!r}"))
        seen.add(o.id)
        if o.when is None and d.hit == "first" and i != len(d.outcomes) - 1:
            problems.append(o.where.problem(
                f"outcome {o.id!r} has no 'when', so it always matches and the outcomes after it "
                f"can never be reached; give it a 'when' or move it last"))
        if o.when is None and d.hit == "collect":
            problems.append(o.where.problem(f"outcome {o.id!r} of a collect decision needs a 'when'"))
        if o.status == "needs_review" and not o.review:
            problems.append(o.where.problem(
                f"outcome {o.id!r} needs review: say what a person must look at in 'review:'"))


def _deps_of(source: str, graph_names: set[str]) -> set[str]:
    return {n for n in names_in(source) if n in graph_names}


def _order(spec: S.PackSpec, member_computed: set[str], problems: list[Problem]) -> list[str]:
    graph_names = set(spec.computed) | set(spec.rules) | set(spec.groups) | set(spec.overrides) \
        | set(spec.decisions)
    cancelling: dict[str, list[str]] = {}
    for o in spec.overrides.values():
        for rid in o.cancels:
            cancelling.setdefault(rid, []).append(o.id)
    graph: dict[str, set[str]] = {}
    for c in spec.computed.values():
        graph[c.name] = _deps_of(c.formula, graph_names)
    for r in spec.rules.values():
        deps = _deps_of(r.when, graph_names)
        for oid in cancelling.get(r.id, []):
            deps |= _deps_of(spec.overrides[oid].when, graph_names)
        graph[r.id] = deps
    for g in spec.groups.values():
        graph[g.id] = set(g.rules)
    for o in spec.overrides.values():
        graph[o.id] = _deps_of(o.when, graph_names) | set(o.cancels)
    for d in spec.decisions.values():
        graph[d.name] = set().union(*(_deps_of(o.when, graph_names) for o in d.outcomes if o.when))
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        cycle = e.args[1]
        first = cycle[0]
        where = (spec.computed.get(first) or spec.rules.get(first) or spec.overrides.get(first)
                 or spec.groups.get(first) or spec.decisions.get(first)).where
        problems.append(where.problem(f"these definitions depend on each other in a cycle: "
                                      f"{' -> '.join(cycle)}; break the cycle"))
        return []


def _compile_nodes(spec: S.PackSpec, ns: Namespace, order: list[str],
                   problems: list[Problem]) -> tuple[list[Node], dict[str, str]]:
    nodes: list[Node] = []
    types: dict[str, str] = {}
    cancelling: dict[str, list[str]] = {}
    for o in spec.overrides.values():
        for rid in o.cancels:
            cancelling.setdefault(rid, []).append(o.id)

    def comp(source: str, where: S.Where, field: str, rule_id: str, want: str | None,
             item: str | None = None) -> Compiled | None:
        try:
            if item:
                # a per-member expression: compile it as the body of an aggregate over members
                return _member_expression(source, ns, want)
            return compile_expression(source, ns, want=want)
        except ExpressionError as e:
            problems.append(where.at(field).problem(e.message, rule_id=rule_id))
            return None

    for name in order:
        if name in spec.computed:
            c = spec.computed[name]
            expr = comp(c.formula, c.where, "formula", name, None, c.per)
            if expr is None:
                continue
            types[name] = expr.type
            if c.per:
                ns.lists["members"][name] = Ref(name, expr.type, "computed", "item")
            else:
                ns.names[name] = Ref(name, expr.type, "computed")
            nodes.append(Node(name, "computed", expr, per=c.per))
        elif name in spec.rules:
            r = spec.rules[name]
            expr = comp(r.when, r.where, "when", name, "bool", r.per)
            if expr is not None:
                nodes.append(Node(name, "rule", expr, per=r.per,
                                  overrides=tuple(cancelling.get(name, ()))))
        elif name in spec.overrides:
            o = spec.overrides[name]
            expr = comp(o.when, o.where, "when", name, "bool")
            if expr is not None:
                nodes.append(Node(name, "override", expr, cancels=o.cancels))
        elif name in spec.groups:
            nodes.append(Node(name, "group", members=spec.groups[name].rules))
        elif name in spec.decisions:
            d = spec.decisions[name]
            outs = []
            for o in d.outcomes:
                e = comp(o.when, o.where, "when", f"{name}.{o.id}", "bool") if o.when else None
                outs.append((o.id, e))
            nodes.append(Node(name, "decision", outcomes=tuple(outs)))
    return nodes, types


def _member_expression(source: str, ns: Namespace, want: str | None) -> Compiled:
    """Compile `source` in the scope of one member (its fields first, then household names)."""
    from rulekit.expr.compiler import _Compiler
    comp = _Compiler(source, ns)
    tree = comp.parse()
    fn, typ = comp.node(tree.body, "members")
    if want and typ not in (want, "any"):
        raise ExpressionError(f"this expression must give a yes/no value but gives {typ}: "
                              f"{source!r}", source=source)
    return Compiled(comp.source, typ, frozenset(comp.reads), frozenset(comp.item_reads), fn)


def outcome_enums(spec: S.PackSpec) -> dict[str, dict[str, str]]:
    return {"decision." + d.name: {o.id: o.label for o in d.outcomes}
            for d in spec.decisions.values()}


