"""The targeted search of `rulekit sample`: it changes drawn records (`rulekit.staff.draw`) until
the sample reaches every outcome of the pack's decisions; the side of sampling that reads the
pack's logic.

While some outcome has not been reached, records are mutated in the facts that outcome's condition
reads (followed through computed values, rules and earlier outcomes), and a record that reaches a
new outcome replaces one whose outcomes the sample already has twice. Where a condition compares a
fact with something the record gives, the fact is sometimes set so that the comparison comes out
as wanted (`repair`); every record is kept within the pack's own input checks (`satisfy`). The
search stops at its caller's budget of evaluated records.
"""
from __future__ import annotations

import ast
import datetime as dt
import math
from collections import Counter
from typing import Any

import attrs

from rulekit.engine.compile import BUILTINS
from rulekit.errors import EvaluationError, ExpressionError, RecordError
from rulekit.expr.compiler import Compiled, compile_expression
from rulekit.record import model as M
from rulekit.staff.diff import FIRED, decision_states
from rulekit.staff.draw import _birth, _Drawer

_NEGATE = {ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In}
_FLIP = {ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Lt: ast.Gt, ast.LtE: ast.GtE}


def _not(tree: ast.AST) -> ast.AST:
    return ast.UnaryOp(ast.Not(), tree)


def _copy(x: Any) -> Any:
    """A copy of JSON-shaped data (dicts, lists, scalars), several times faster than deepcopy."""
    if isinstance(x, dict):
        return {k: _copy(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_copy(v) for v in x]
    return x


def _sections() -> dict[str, tuple[str, ...]]:
    """Where each fact of the household record lives: name -> path (section, name) or (name,)."""
    out: dict[str, tuple[str, ...]] = {}
    for f in attrs.fields(M.Household):
        if "section" in f.metadata:
            for g in attrs.fields(M.SECTIONS[f.name]):
                out[g.name] = (f.name, g.name)
        else:
            out[f.name] = (f.name,)
    return out


PATHS = _sections()
ITEMS = {name: f.metadata["item"] for cls in (M.Household, *M.SECTIONS.values()) for f in attrs.fields(cls)
         for name in (f.name,) if f.metadata.get("item") is not None}
META = {name: dict(f.metadata) for cls in (M.Household, *M.SECTIONS.values()) for f in attrs.fields(cls)
        for name in (f.name,) if "section" not in f.metadata}


class _Generator(_Drawer):
    """The drawer with the search: changing one fact, checking and scoring a record against an
    outcome, setting facts so that a condition comes out as wanted, and the climb itself."""

    # -- changing one fact ---------------------------------------------------------------------
    def mutate(self, rec: dict, facts: list[str], items: list[tuple[str, str]], drop: bool = False) -> None:
        """Change one fact the target depends on (or, when `drop`, leave it out: a condition
        may ask whether a fact is known)."""
        rng = self.rng
        day = dt.date.fromisoformat(rec.get("collected_on") or self.day0.isoformat())
        choices = [("fact", f) for f in facts] + [("item", i) for i in items]
        if not choices:
            return
        kind, what = rng.choice(choices)
        if self.spec.facts:
            rec[what] = None if drop else self.local_value(self.spec.facts[what], day, rec.get(what))
            return
        if kind == "fact":
            name = what
            if name in self.spec.local_facts:
                own = rec.setdefault("local", {})
                f = self.spec.local_facts[name]
                own[name] = None if drop else self.local_value(f, day, own.get(name))
                return
            if name in ITEMS:         # a list read as a whole (counted, summed): add or drop a row
                self.resize(rec, name, day)
                return
            path = PATHS.get(name)
            if path is None:
                return
            node = rec
            for step in path[:-1]:
                node = node.setdefault(step, {})
            node[path[-1]] = None if drop else self.new_value(name, META[name], node.get(path[-1]), day)
            return
        lst, field = what
        rows = self.rows(rec, lst)
        if rows is None:
            return
        if not rows or self.chance(0.15):
            self.resize(rec, lst, day)
            rows = self.rows(rec, lst) or []
            if not rows:
                return
        row = rng.choice(rows)
        if lst == "members" and field in self.spec.local_facts:
            own = row.setdefault("local", {})
            own[field] = None if drop else self.local_value(self.spec.local_facts[field], day, own.get(field))
            return
        if lst == "members" and field == "birth_date":
            ages = [int(x) + d for x in self.numbers if 0 <= x <= 100 for d in (-1, 0, 1)]
            age = rng.choice(ages) if ages and self.chance(0.7) else rng.randint(0, 95)
            row["birth_date"] = _birth(rng, age, self.ages_on or day)
            return
        meta = attrs.fields_dict(ITEMS[lst]).get(field)
        if meta is None:
            return
        row[field] = None if drop else self.new_value(field, dict(meta.metadata), row.get(field), day)
        if field == "health" and row[field] == "disabled":
            row.setdefault("disability_grade", rng.randint(1, 4))

    def new_value(self, name: str, meta: dict, old: Any, day: dt.date) -> Any:
        rng = self.rng
        if meta["kind"] == M.BOOL and isinstance(old, bool):
            return not old
        numeric = meta["kind"] in (M.MONEY, M.NUMBER, M.COUNT) and isinstance(old, (int, float))
        if numeric and self.chance(0.6):
            x = self.number(old, meta["kind"] == M.MONEY, meta["kind"] == M.COUNT, meta.get("min"),
                            meta.get("max"))
            return round(x, 1) if meta["kind"] == M.NUMBER else int(x)
        if meta["kind"] == M.DATE and isinstance(old, str) and self.chance(0.7):
            return (dt.date.fromisoformat(old) + dt.timedelta(days=rng.randint(-400, 400))).isoformat()
        return self.value(name, meta, day)

    def rows(self, rec: dict, lst: str) -> list | None:
        path = PATHS.get(lst)
        if path is None:
            return None
        node = rec
        for step in path[:-1]:
            node = node.setdefault(step, {})
        if not isinstance(node.get(path[-1]), list):
            node[path[-1]] = []
        return node[path[-1]]

    def resize(self, rec: dict, lst: str, day: dt.date) -> None:
        rows = self.rows(rec, lst)
        if rows is None:
            return
        if rows and self.chance(0.4) and (lst != "members" or len(rows) > 1):
            rows.pop(self.rng.randrange(1 if lst == "members" else 0, len(rows)))
        elif lst == "members":
            surname = (rows[0].get("name") or "李")[0] if rows else "李"
            rows.append(self.member(self.rng.choice(("child", "parent", "spouse")), self.rng.randint(0, 95),
                                    surname, day))
        elif lst in ITEMS:
            meta = META.get(lst, {})
            if meta.get("item") is not None:
                rows.append(self.fill(meta["item"], {}, day))

    def settable(self, name: str) -> bool:
        return name in self.spec.facts or name in self.spec.local_facts \
            or (not self.spec.facts and name in META and name not in ITEMS)

    def set_fact(self, rec: dict, name: str, value: Any) -> bool:
        """Put a value into the record where the fact lives, in the record's own form."""
        if name in self.spec.facts or name in self.spec.local_facts:
            f = (self.spec.facts or self.spec.local_facts)[name]
            kind = f["type"]
            ok = {"bool": isinstance(value, bool), "date": isinstance(value, dt.date),
                  "text": isinstance(value, str)}.get(kind, isinstance(value, (int, float))
                                                   and not isinstance(value, bool))
            if not ok or (f.get("values") and value not in f["values"]):
                return False
            if kind in ("number", "integer"):
                value = max(value, f.get("minimum", value))
                value = int(math.ceil(value)) if kind == "integer" else float(value)
            target = rec if self.spec.facts else rec.setdefault("local", {})
            target[name] = value.isoformat() if isinstance(value, dt.date) else value
            return True
        if not self.settable(name):
            return False
        meta = META[name]
        kind = meta["kind"]
        if meta.get("enum") and kind != "list":
            codes = M.ENUMS[meta["enum"]]
            value = next((c for c, zh in codes.items() if value in (c, zh)), None)
            if value is None:
                return False
        elif kind == M.BOOL:
            if not isinstance(value, bool):
                return False
        elif kind == M.DATE:
            if not isinstance(value, dt.date):
                return False
            value = value.isoformat()
        elif kind in (M.MONEY, M.COUNT, M.NUMBER):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            lo, hi = meta.get("min"), meta.get("max")
            value = max(lo, value) if lo is not None else value
            value = min(hi, value) if hi is not None else value
            value = int(math.ceil(value)) if kind == M.COUNT else round(value, 2)
            value = int(value) if float(value).is_integer() else value
        else:
            return False
        node = rec
        path = PATHS[name]
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = value
        return True

    # -- the targeted search -------------------------------------------------------------------
    def search(self, records: list[dict], hits: list[frozenset], targets: list[tuple[str, str]],
               budget: int) -> int:
        count: Counter[tuple[str, str]] = Counter(h for hs in hits for h in hs)
        elite: dict[tuple[str, str], tuple[float, dict]] = {}
        tries = 0
        while tries < budget:
            missing = [x for x in targets if not count[x]]
            if not missing:
                break
            target = missing[tries % len(missing)]
            everything = self.closure(target)
            # start from a record that already reaches another outcome of the same decision (it
            # often meets the conditions they share), else any record, sometimes a fresh one
            near = [i for i, hs in enumerate(hits) if any(d == target[0] for d, _ in hs)]
            if target in elite and self.chance(0.5):       # go on from the nearest record so far
                cand = _copy(elite[target][1])
            elif near and self.chance(0.6):
                cand = _copy(records[self.rng.choice(near)])
            elif self.chance(0.85):
                cand = _copy(self.rng.choice(records))
            else:
                cand = self.record(self.rng.randrange(len(records)))
            cand_env = self.evaluate(cand)[1]
            best, failing = self.score(target, cand_env)
            for _ in range(24):     # climb: keep a change unless it takes the record further away
                step = _copy(cand)
                # mostly change what a step still to take reads; where that step compares a fact
                # with something, sometimes set the fact so that the comparison comes out right
                part, want = self.rng.choice(failing) if failing and self.chance(0.8) else (None, True)
                repaired = part is not None and cand_env is not None and self.chance(0.5) \
                    and self.repair(step, ast.parse(part.source.strip(), mode="eval").body, want, cand_env, 0)
                if not repaired:
                    facts, items = self.closure_of([part]) if part is not None else everything
                    drop = part is not None and self.asks_known(part) and self.chance(0.3)
                    self.mutate(step, facts, items, drop)
                if not self.keep_summaries:
                    self.tidy(step)
                self.satisfy(step, 3)
                tries += 1
                got, env = self.evaluate(step)
                new = [h for h in got if not count[h]]
                score, now_failing = self.score(target, env)
                if score >= best:
                    cand, cand_env, best, failing = step, env, score, now_failing
                    if score >= elite.get(target, (-1.0,))[0]:
                        elite[target] = (score, step)
                if new:
                    cand = step
                    slot = self.replaceable(hits, count, got, len(new))
                    if slot is not None:
                        cand["id"] = records[slot]["id"]
                        count.subtract(hits[slot])
                        count.update(got)
                        records[slot], hits[slot] = cand, got
                    break
                if tries >= budget:
                    break
        return tries

    def replaceable(self, hits: list[frozenset], count: Counter, got: frozenset, gain: int) -> int | None:
        """The record to replace by one reaching `gain` new outcomes: one whose outcomes the sample
        keeps without it, else the one losing fewest (fewer than `gain`, so coverage grows)."""
        start = self.rng.randrange(len(hits))
        best, best_lost = None, gain
        for k in range(len(hits)):
            i = (start + k) % len(hits)
            lost = sum(1 for h in hits[i] if count[h] == 1 and h not in got)
            if lost == 0:
                return i
            if lost < best_lost:
                best, best_lost = i, lost
        return best

    def hits(self, record: dict) -> frozenset[tuple[str, str]]:
        return self.evaluate(record)[0]

    def evaluate(self, record: dict) -> tuple[frozenset[tuple[str, str]], dict | None]:
        """The outcomes a record reaches, and the values its evaluation computed (for scoring).
        A record that breaks one of the pack's input checks reaches nothing."""
        try:    # a record without a collection date (a flat pack's) is taken as of the sample's date
            result = self.unchecked.evaluate(record, as_of=None if record.get("collected_on") else self.day0)
        except (RecordError, EvaluationError, ValueError):
            return frozenset(), None
        env = result.values()
        if self.broken(env):
            return frozenset(), env
        out = set()
        for name, state in decision_states(result).items():
            if isinstance(state, dict):
                out |= {(name, o) for o, s in state.items() if s == FIRED}
            elif state is not None:
                out.add((name, state))
        return frozenset(out), env

    def valid(self, record: dict) -> bool:
        env = self.evaluate(record)[1]
        return env is not None and not self.broken(env)

    def broken(self, env: dict) -> list[Compiled]:
        """The pack's input checks (sub-items add up to their item...) this record breaks."""
        out = []
        for _, expr in self.checks:
            try:
                if expr(env) is False:
                    out.append(expr)
            except EvaluationError:
                out.append(expr)
        return out

    def satisfy(self, rec: dict, rounds: int = 12) -> dict:
        """Change the record until it meets the pack's input checks (bounded): a check that says
        two figures are equal is solved for one fact it reads, else facts it reads are redrawn."""
        for _ in range(rounds if self.checks else 0):
            env = self.evaluate(rec)[1]
            if env is None:
                return rec
            broken = self.broken(env)
            if not broken:
                return rec
            check = self.rng.choice(broken)
            if not self.solve(rec, check, env):
                facts, items = self.closure_of([check])
                self.mutate(rec, facts, items)
        return rec

    def solve(self, rec: dict, check: Compiled, env: dict) -> bool:
        """For `a == b` (or `round(a - b, n) == 0`): one secant step on a numeric fact it reads,
        exact when the figures are sums, as sub-item checks are."""
        tree = ast.parse(check.source.strip(), mode="eval").body
        if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq)):
            return False
        left, right = tree.left, tree.comparators[0]
        if isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "round" \
                and left.args:
            left = left.args[0]
        try:
            gap = compile_expression(f"({ast.unparse(left)}) - ({ast.unparse(right)})",
                                     self.pack.compiled.namespace)
        except ExpressionError:
            return False
        facts, _ = self.closure_of([check])
        numeric = [f for f in facts if self.settable(f) and (
            META.get(f, {}).get("kind") in (M.MONEY, M.NUMBER, M.COUNT)
            or (self.spec.local_facts or self.spec.facts).get(f, {}).get("type") in ("number", "integer"))]
        if not numeric:
            return False
        fact = self.rng.choice(numeric)
        old = env.get(fact)
        g0 = gap(env, None)
        if not isinstance(old, (int, float)) or isinstance(old, bool) or not isinstance(g0, (int, float)):
            return False
        trial = _copy(rec)
        if not self.set_fact(trial, fact, old + 100):
            return False
        env1 = self.evaluate(trial)[1]
        g1 = gap(env1, None) if env1 is not None else None
        if not isinstance(g1, (int, float)) or g1 == g0:
            return False
        value = round(old - g0 * 100 / (g1 - g0), 2)
        return value >= 0 and self.set_fact(rec, fact, value)

    def steps(self, target: tuple[str, str]) -> tuple[list[Compiled], list[Compiled]]:
        """What brings a record nearer an outcome: the outcomes tried before it (first-match) that
        must not hold, and the parts of its own condition joined by `and`, which must hold."""
        if target in self._steps:
            return self._steps[target]
        dec = self.spec.decisions[target[0]]
        node = next(n for n in self.pack.compiled.nodes if n.name == target[0])
        exprs = dict(node.outcomes)
        before = []
        if dec.hit == "first":
            for o in dec.outcomes:
                if o.id == target[1]:
                    break
                if exprs.get(o.id) is not None:
                    before.append(exprs[o.id])
        parts = []
        own = exprs.get(target[1])
        if own is not None:
            for piece in self.conjuncts(ast.parse(own.source.strip(), mode="eval").body, 0):
                try:
                    parts.append(compile_expression(ast.unparse(piece), self.pack.compiled.namespace))
                except ExpressionError:
                    parts = [own]
                    break
        self._steps[target] = (before, parts)
        return before, parts

    def conjuncts(self, tree: ast.AST, depth: int) -> list[ast.AST]:
        """The parts of a condition that must all hold, looking into the rules, yes/no computed
        values and first-match outcomes it names, and through `not` (so that each part can be
        worked on separately)."""
        if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And):
            return [p for v in tree.values for p in self.conjuncts(v, depth)]
        if depth >= 4:
            return [tree]
        negated = isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not)
        inner = tree.operand if negated else tree
        if negated and isinstance(inner, ast.BoolOp) and isinstance(inner.op, ast.Or):
            return [p for v in inner.values for p in self.conjuncts(_not(v), depth + 1)]
        if negated and isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.Not):
            return self.conjuncts(inner.operand, depth + 1)
        if isinstance(inner, ast.Name):
            source = self.definition(inner.id)
            if source:
                body = ast.parse(source.strip(), mode="eval").body
                return self.conjuncts(_not(body) if negated else body, depth + 1)
        if not negated and isinstance(tree, ast.Compare) and len(tree.ops) == 1 \
                and isinstance(tree.ops[0], ast.Eq) and isinstance(tree.left, ast.Name) \
                and isinstance(tree.comparators[0], ast.Constant):
            dec = self.spec.decisions.get(tree.left.id)
            if dec is not None and dec.hit == "first":   # decision == "outcome": reach that outcome
                parts: list[ast.AST] = []
                for o in dec.outcomes:
                    when = ast.parse(o.when.strip(), mode="eval").body if o.when else None
                    if o.id == tree.comparators[0].value:
                        return parts + (self.conjuncts(when, depth + 1) if when is not None else [])
                    if when is not None:
                        parts += self.conjuncts(_not(when), depth + 1)
        return [tree]

    def definition(self, name: str) -> str | None:
        """The condition behind a name that can be looked into: a rule no exception cancels, a
        yes/no computed value (household level), or a group (any of its rules)."""
        rule = self.spec.rules.get(name)
        if rule and not rule.per and not self.overridable(name):
            return rule.when
        computed = self.spec.computed.get(name)
        if computed and not computed.per and self.pack.compiled.types.get(name) == "bool":
            return computed.formula
        group = self.spec.groups.get(name)
        if group and group.rules:
            return " or ".join(group.rules)
        return None

    def overridable(self, rule: str) -> bool:
        return any(rule in o.cancels for o in self.spec.overrides.values())

    def score(self, target: tuple[str, str], env: dict | None) -> tuple[float, list[tuple[Compiled, bool]]]:
        """How many steps towards the outcome a record has taken, and the steps still to take
        (each a condition and whether it must hold)."""
        if env is None:
            return -1, []
        before, parts = self.steps(target)
        failing = []
        partial = 0.0
        for e, want in [(e, False) for e in before] + [(e, True) for e in parts]:
            try:
                ok = e(env) is want
            except EvaluationError:
                ok = False
            if not ok:
                failing.append((e, want))
                partial += self.share(e, want, env)
        return len(before) + len(parts) - len(failing) + partial, failing

    def share(self, e: Compiled, want: bool, env: dict) -> float:
        """Partial credit for `all(list, c)` that must hold (or `any(list, c)` that must not):
        the share of items already as wanted, so that the climb can fix one item at a time."""
        if e.source not in self._shares:
            tree = ast.parse(e.source.strip(), mode="eval").body
            counts = None
            if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) \
                    and tree.func.id in ("all", "any") and len(tree.args) == 2:
                lst, cond = (ast.unparse(x) for x in tree.args)
                try:
                    ns = self.pack.compiled.namespace
                    counts = (tree.func.id, compile_expression(f"count({lst}, {cond})", ns),
                              compile_expression(f"count({lst})", ns))
                except ExpressionError:
                    counts = None
            self._shares[e.source] = counts
        counts = self._shares[e.source]
        if counts is None or (counts[0] == "all") != want:
            return 0.0
        try:
            hit, total = counts[1](env), counts[2](env)
        except EvaluationError:
            return 0.0
        if not isinstance(hit, (int, float)) or not isinstance(total, (int, float)) or not total:
            return 0.0
        return 0.9 * (hit / total if want else 1 - hit / total)

    def closure(self, target: tuple[str, str]) -> tuple[list[str], list[tuple[str, str]]]:
        """The record facts an outcome depends on (household facts, and (list, field) item facts),
        through computed values, rules, exceptions, groups and, for a first-match decision, the
        outcomes tried before it."""
        before, parts = self.steps(target)
        return self.closure_of(before + parts)

    def closure_of(self, exprs: list[Compiled]) -> tuple[list[str], list[tuple[str, str]]]:
        key = tuple(e.source for e in exprs)
        if key in self._closures:
            return self._closures[key]
        cp = self.pack.compiled
        nodes = {n.name: n for n in cp.nodes}
        member_nodes = {n.name for n in cp.nodes if n.per}
        facts: set[str] = set()
        items: set[tuple[str, str]] = set()
        seen: set[str] = set()
        todo = list(exprs)
        asks_known = False
        while todo:
            e = todo.pop()
            asks_known = asks_known or "known(" in e.source
            names = set(e.reads)
            for lst, field in e.item_reads:
                if field in member_nodes or field in nodes:
                    names.add(field)
                elif field == "age":
                    items.add((lst, "birth_date"))
                else:
                    items.add((lst, field))
            for name in names:
                if name in seen:
                    continue
                seen.add(name)
                node = nodes.get(name)
                if node is not None:
                    if node.expr is not None:
                        todo.append(node.expr)
                    todo += [e for _, e in node.outcomes if e is not None]
                    todo += [nodes[o].expr for o in node.overrides if o in nodes and nodes[o].expr]
                    todo += [nodes[r].expr for r in node.members if r in nodes and nodes[r].expr]
                    todo += [nodes[r].expr for r in node.cancels if r in nodes and nodes[r].expr]
                elif name not in self.spec.parameters and name not in BUILTINS:
                    facts.add(name)
        out = (sorted(facts), sorted(items))
        self._closures[key] = out
        self._asks_known[key] = asks_known
        return out

    def asks_known(self, e: Compiled) -> bool:
        """Whether an expression, or what it is computed from, asks if a fact is known."""
        self.closure_of([e])
        return self._asks_known[(e.source,)]

    # -- setting facts so that a condition comes out as wanted ---------------------------------
    def repair(self, rec: dict, tree: ast.AST, want: bool, env: dict, depth: int) -> bool:
        """Change one fact of `rec` so that `tree` gives `want`, where the condition says how:
        a yes/no fact, or a fact compared with something the record's values give. False when
        the condition offers no such handle."""
        if depth > 4:
            return False
        rng = self.rng
        if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not):
            return self.repair(rec, tree.operand, not want, env, depth + 1)
        if isinstance(tree, ast.BoolOp):
            every = isinstance(tree.op, ast.And) == want      # all parts must come out as wanted
            parts = list(tree.values)
            rng.shuffle(parts)
            if every:
                return any([self.repair(rec, p, want, env, depth + 1) for p in parts[:2]])
            return self.repair(rec, parts[0], want, env, depth + 1)
        if isinstance(tree, ast.Name):
            return self.set_fact(rec, tree.id, want)
        if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1):
            return False
        op, left, right = tree.ops[0], tree.left, tree.comparators[0]
        if not want:
            op = _NEGATE.get(type(op), None)
            if op is None:
                return False
            op = op()
        if isinstance(right, ast.Name) and self.settable(right.id) and \
                (not isinstance(left, ast.Name) or not self.settable(left.id) or self.chance(0.5)):
            left, right, op = right, left, _FLIP.get(type(op), type(op))()
        if isinstance(left, ast.Name) and left.id in self.spec.decisions:
            return self.steer(rec, left.id, op, right, env, depth)
        if not (isinstance(left, ast.Name) and self.settable(left.id)):
            return False
        if isinstance(op, (ast.In, ast.NotIn)):
            if isinstance(op, ast.In) and isinstance(right, (ast.List, ast.Tuple)) and right.elts \
                    and all(isinstance(e, ast.Constant) for e in right.elts):
                return self.set_fact(rec, left.id, rng.choice(right.elts).value)
            return False
        try:
            other = compile_expression(ast.unparse(right), self.pack.compiled.namespace)(env, None)
        except (ExpressionError, EvaluationError):
            return False
        if isinstance(other, bool) or not isinstance(other, (int, float, str, dt.date)):
            return False
        if isinstance(other, str):
            return isinstance(op, ast.Eq) and self.set_fact(rec, left.id, other)
        step: Any = dt.timedelta(days=rng.choice((1, 1, 2, 5))) if isinstance(other, dt.date) \
            else (1 if float(other).is_integer() else max(abs(other) * 0.01, 0.01))
        slack: Any = step * rng.choice((0, 0, 1, 3)) if isinstance(op, (ast.GtE, ast.LtE)) else step
        value = {ast.GtE: lambda: other + slack, ast.Gt: lambda: other + slack, ast.Eq: lambda: other,
                 ast.LtE: lambda: other - slack, ast.Lt: lambda: other - slack,
                 ast.NotEq: lambda: other + step}.get(type(op))
        return value is not None and self.set_fact(rec, left.id, value())

    def steer(self, rec: dict, name: str, op: ast.cmpop, right: ast.AST, env: dict, depth: int) -> bool:
        """Move a first-match decision towards an outcome the comparison accepts: make the outcome
        it has now fail when that comes first, else make the wanted outcome's condition hold."""
        dec = self.spec.decisions[name]
        if dec.hit != "first":
            return False
        ids = [o.id for o in dec.outcomes]
        if isinstance(right, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) for e in right.elts):
            listed = {e.value for e in right.elts}
        elif isinstance(right, ast.Constant):
            listed = {right.value}
        else:
            return False
        inside = isinstance(op, (ast.In, ast.Eq))
        allowed = [i for i in ids if (i in listed) == inside]
        now = env.get(name)
        if not allowed or now in allowed:
            return False
        goal = self.rng.choice(allowed)
        whens = {o.id: o.when for o in dec.outcomes}
        if now in ids and ids.index(now) < ids.index(goal) and whens[now]:
            return self.repair(rec, ast.parse(whens[now].strip(), mode="eval").body, False, env, depth + 1)
        if whens[goal]:
            return self.repair(rec, ast.parse(whens[goal].strip(), mode="eval").body, True, env, depth + 1)
        return False
