"""`rulekit check`: everything wrong with a pack, without evaluating anything.

Loading already refuses what cannot run (YAML and schema errors, unknown names, type mismatches,
cycles, unknown citations); this module adds what needs a view of the whole pack: comparisons of
different units, parameters and computed values nothing uses, outcomes an earlier first-match
outcome always shadows, and parameter values written out of date order. Every finding has its
location and a sentence in Chinese and English.
"""
from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterable

import attrs

from rulekit.engine.pack import Pack, load_pack
from rulekit.errors import PackError, Problem
from rulekit.expr.compiler import names_in
from rulekit.pack import spec as S

_COMPARE_OR_ADD = (ast.Compare, ast.BinOp)


def check_pack(name_or_path: str | pathlib.Path,
               overrides: Iterable[str | pathlib.Path] = ()) -> list[Problem]:
    """Every problem of a pack (errors and warnings), sorted by file and line."""
    try:
        pack = load_pack(name_or_path, overrides=list(overrides))
    except PackError as e:
        return e.problems
    problems: list[Problem] = []
    problems += _unit_mismatches(pack)
    problems += _unused(pack)
    problems += _shadowed_outcomes(pack)
    problems += _unordered_values(pack)
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0))


def _warn(where: S.Where, en: str, zh: str, rule_id: str | None = None) -> Problem:
    return attrs.evolve(where.problem(en, rule_id=rule_id, severity="warning"), zh=zh)


# -- units ----------------------------------------------------------------------------------------

def _units(pack: Pack) -> dict[str, str]:
    s = pack.spec
    out = {n: p.unit for n, p in s.parameters.items() if p.unit}
    out.update({n: c.unit for n, c in s.computed.items() if c.unit})
    return {n: u.replace(" ", "") for n, u in out.items()}


def _expressions(pack: Pack) -> Iterable[tuple[S.Where, str, str, str]]:
    """(where, field, source, owner id) of every expression in the pack."""
    s = pack.spec
    for c in s.computed.values():
        yield c.where, "formula", c.formula, c.name
    for r in s.rules.values():
        yield r.where, "when", r.when, r.id
    for o in s.overrides.values():
        yield o.where, "when", o.when, o.id
    for d in s.decisions.values():
        for o in d.outcomes:
            if o.when:
                yield o.where, "when", o.when, f"{d.name}.{o.id}"
    for c in s.checks.values():
        yield c.where, "must", c.when, c.id
    for rep in s.reports.values():
        for m in rep.measures.values():
            yield m.where, m.kind, m.expr, f"{rep.name}.{m.name}"
        if rep.filter:
            yield rep.where, "where", rep.filter, rep.name
        for g in rep.group_by:
            yield rep.where, "group_by", g, rep.name
        for c in rep.computed.values():
            yield c.where, "formula", c.formula, f"{rep.name}.{c.name}"
        for r in rep.rules.values():
            yield r.where, "when", r.when, f"{rep.name}.{r.id}"


def _unit_mismatches(pack: Pack) -> list[Problem]:
    units = _units(pack)
    out = []
    for where, field, src, owner in _expressions(pack):
        try:
            tree = ast.parse(src.strip(), mode="eval")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                pairs = zip([node.left, *node.comparators], node.comparators)
            elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
                pairs = [(node.left, node.right)]
            else:
                continue
            for a, b in pairs:
                ua = units.get(a.id) if isinstance(a, ast.Name) else None
                ub = units.get(b.id) if isinstance(b, ast.Name) else None
                if ua and ub and ua != ub:
                    out.append(attrs.evolve(where.at(field).problem(
                        f"{a.id} ({ua}) is combined with {b.id} ({ub}): the units differ; convert "
                        f"one of them (e.g. a monthly figure x 12) or correct the declared unit",
                        rule_id=owner), zh=f"{a.id}（{ua}）与 {b.id}（{ub}）单位不同，不能直接比较或相加；"
                                           f"请换算其中一个（如月标准×12），或改正所写的单位"))
    return out


# -- unused ---------------------------------------------------------------------------------------

def _unused(pack: Pack) -> list[Problem]:
    used: set[str] = set()
    for _, _, src, _ in _expressions(pack):
        used |= set(names_in(src))
    s = pack.spec
    out = []
    for n, p in s.parameters.items():
        if n not in used and p.where.pack_id == s.id:
            out.append(_warn(p.where, f"parameter {n!r} is not used by any formula, rule or "
                                      f"outcome; use it or remove it",
                             f"参数 {n} 没有被任何公式、规则或结果使用；请使用或删除", n))
    for n, c in s.computed.items():
        if n not in used and c.where.pack_id == s.id:
            out.append(_warn(c.where, f"computed value {n!r} is not used by any rule or outcome "
                                      f"(it still appears in results); use it or remove it",
                             f"计算值 {n} 没有被任何规则或结果使用（仍会出现在结果中）；请使用或删除", n))
    return out


# -- shadowed outcomes ----------------------------------------------------------------------------

def _conjuncts(src: str) -> list[str]:
    try:
        body = ast.parse(src.strip(), mode="eval").body
    except SyntaxError:
        return []
    parts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    return [ast.dump(p) for p in parts]


def _shadowed_outcomes(pack: Pack) -> list[Problem]:
    """A first-match outcome whose condition is `X and ...` after an outcome whose condition is X
    can never be chosen: whenever it holds, the earlier one holds too."""
    out = []
    for d in pack.spec.decisions.values():
        if d.hit != "first":
            continue
        earlier: list[tuple[str, str]] = []
        for o in d.outcomes:
            if o.when is None:
                continue
            mine = set(_conjuncts(o.when))
            for eid, econd in earlier:
                if econd in mine or (len(mine) == 1 and econd == next(iter(mine))):
                    out.append(attrs.evolve(o.where.at("when").problem(
                        f"outcome {o.id!r} can never be chosen: whenever its condition holds, the "
                        f"earlier outcome {eid!r} holds too and is chosen first; reorder the "
                        f"outcomes or narrow the earlier condition", rule_id=f"{d.name}.{o.id}"),
                        zh=f"结果 {o.id} 永远不会被选中：它的条件成立时，排在前面的结果 {eid} "
                           f"也成立并先被选中；请调整顺序或收窄前面的条件"))
                    break
            if len(_conjuncts(o.when)) == 1:
                earlier.append((o.id, _conjuncts(o.when)[0]))
            else:
                earlier.append((o.id, ast.dump(ast.parse(o.when.strip(), mode="eval").body)))
    return out


def _unordered_values(pack: Pack) -> list[Problem]:
    """Values of a parameter written out of date order are sorted by the engine, but a reader of
    the file would be misled about which value is current."""
    out = []
    for p in pack.spec.parameters.values():
        if not p.written_in_order:
            out.append(_warn(p.where, f"the values of {p.name!r} are not written in date order; "
                                      f"write them from the earliest 'from' to the latest",
                             f"参数 {p.name} 的取值没有按生效日期先后书写；请按 from 从早到晚排列", p.name))
    return out
