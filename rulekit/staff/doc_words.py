"""A pack's expressions in words, in Chinese or English, and what every name they use means: the
part of the policy book (`rulekit.staff.doc`) that reads expressions rather than the pack's layout.

`Names` resolves a name (with the list scopes of `count`, `any`, `all`...) to its meaning: a
parameter, computed value, rule, group, exception, decision, local or household fact, or a
builtin; the book turns those into the legend beside each expression. `Words` says an expression
the way a reviewer reads the policy, marking the identifiers it mentions (`Words.ident`) so that
the book shows them as code. What the words do not cover is shown as written, never dropped.
"""
from __future__ import annotations

import ast
import re
from typing import Any

import attrs

from rulekit.engine.compile import BUILTINS
from rulekit.engine.pack import Pack
from rulekit.pack import spec as S
from rulekit.record import model as M
from rulekit.trace.messages import t

# -- names and what they mean ------------------------------------------------------------------------

@attrs.frozen
class Meaning:
    """What a name used in an expression stands for, for the legend beside it."""
    name: str           # as shown, e.g. "monitoring_line" or "members.health"
    kind: str           # message key: parameter, computed, rule, group, override, decision, fact...
    label: str
    en: str = ""
    unit: str = ""
    type: str = ""
    anchor: str = ""    # the book section that defines it


def _model_tables() -> tuple[dict[str, dict], dict[str, dict[str, dict]]]:
    """Household facts (sections lifted) and the fields of each list, with their metadata."""
    facts: dict[str, dict] = {}
    lists: dict[str, dict[str, dict]] = {}

    def add(cls: type) -> None:
        for f in attrs.fields(cls):
            if "section" in f.metadata:
                add(M.SECTIONS[f.name])
                continue
            facts[f.name] = dict(f.metadata)
            item = f.metadata.get("item")
            if item is not None:
                lists[f.name] = {g.name: dict(g.metadata) for g in attrs.fields(item)}
    add(M.Household)
    return facts, lists


_FACTS, _LISTS = _model_tables()
_SHORT = re.compile(r"^(.+?)\s*[（(][^（）()]*[）)]$")


def short(label: str) -> str:
    """A label without its trailing parenthesis: 转移性收入占比上限（超过40%） -> 转移性收入占比上限."""
    m = _SHORT.match(label)
    while m:
        label = m.group(1)
        m = _SHORT.match(label)
    return label


def _fact_label(meta: dict) -> str:
    return meta["zh"] + (f"（{meta['code']}）" if meta.get("code") else "")


class Names:
    """Resolves the names of a pack's expressions to their meaning, with list scopes."""

    def __init__(self, pack: Pack, extra: dict[str, Meaning] | None = None) -> None:
        self.spec = pack.spec
        self.ns = pack.compiled.namespace
        self.types = pack.compiled.types
        self.extra = extra or {}

    def lists(self) -> dict[str, dict]:
        return self.ns.lists

    def resolve(self, name: str, scopes: tuple[str, ...] = ()) -> Meaning:
        s = self.spec
        for lst in reversed(scopes):
            fields = self.ns.lists.get(lst, {})
            if name in fields:
                return self._item(lst, name, fields[name].type)
        if name in self.extra:
            return self.extra[name]
        if name in s.parameters:
            p = s.parameters[name]
            return Meaning(name, "parameter", p.label, p.en, p.unit, self._type(name), f"parameter-{name}")
        if name in s.computed:
            c = s.computed[name]
            return Meaning(name, "computed", c.label, c.en, c.unit, self.types.get(name, ""),
                           f"computed-{name}")
        if name in s.rules:
            r = s.rules[name]
            return Meaning(name, "rule", r.label, r.en, type="bool", anchor=f"rule-{name}")
        if name in s.groups:
            g = s.groups[name]
            return Meaning(name, "group", g.label, g.en, type="bool", anchor=f"group-{name}")
        if name in s.overrides:
            o = s.overrides[name]
            return Meaning(name, "override", o.label, o.en, type="bool", anchor=f"override-{name}")
        if name in s.decisions:
            d = s.decisions[name]
            return Meaning(name, "decision", d.label, d.en, type="outcome", anchor=f"decision-{name}")
        if name in s.local_facts:
            f = s.local_facts[name]
            return Meaning(name, "fact", f["label"], f.get("en", ""), f.get("unit", ""),
                           self._type(name), f"local-{name}")
        if name in s.facts:
            f = s.facts[name]
            return Meaning(name, "fact", f["label"], f.get("en", ""), f.get("unit", ""),
                           self._type(name), f"fact-{name}")
        if name in BUILTINS:
            return Meaning(name, "builtin", t(name if name in ("as_of", "reference_date") else "period"),
                           BUILTINS[name], type="date")
        if name in _FACTS:
            meta = _FACTS[name]
            return Meaning(name, "fact", _fact_label(meta), meta.get("en", ""),
                           "元/年" if meta["kind"] == M.MONEY else "", self._type(name))
        return Meaning(name, "fact", name)

    def _type(self, name: str) -> str:
        ref = self.ns.names.get(name)
        return ref.type if ref else ""

    def _item(self, lst: str, field: str, typ: str) -> Meaning:
        shown = f"{lst}.{field}"
        if field in self.spec.computed and self.spec.computed[field].per == lst:
            c = self.spec.computed[field]
            return Meaning(shown, "computed", c.label, c.en, c.unit, typ, f"computed-{field}")
        if field in self.spec.local_facts and self.spec.local_facts[field].get("per") == lst:
            f = self.spec.local_facts[field]
            return Meaning(shown, "member_facts", f["label"], f.get("en", ""), f.get("unit", ""), typ,
                           f"local-{field}")
        if lst == "members" and field == "age":
            return Meaning(shown, "member_facts", t("w_age", "zh"), t("w_age", "en"), "周岁", "num")
        meta = _LISTS.get(lst, {}).get(field)
        if meta is None:
            return Meaning(shown, "member_facts", field, type=typ)
        unit = "元" if meta["kind"] == M.MONEY else ""
        return Meaning(shown, "member_facts", _fact_label(meta), meta.get("en", ""), unit, typ)


# -- expressions in words --------------------------------------------------------------------------

_CMP = {ast.Gt: "w_gt", ast.GtE: "w_ge", ast.Lt: "w_lt", ast.LtE: "w_le", ast.Eq: "w_eq",
        ast.NotEq: "w_ne", ast.In: "w_in", ast.NotIn: "w_not_in"}
_BIN = {ast.Add: ("+", 1), ast.Sub: ("−", 1), ast.Mult: ("×", 2), ast.Div: ("÷", 2),
        ast.FloorDiv: ("//", 2), ast.Mod: ("%", 2), ast.Pow: ("^", 3)}


class Words:
    """An expression of the pack said in words, in Chinese or English, collecting the names it
    uses. What the words do not cover is shown as written, never dropped."""

    def __init__(self, names: Names, lang: str) -> None:
        self.names = names
        self.lang = lang
        self.used: dict[str, Meaning] = {}

    def say(self, source: str, scopes: tuple[str, ...] = (), want_bool: bool = True) -> str:
        self.used = {}
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError:
            return source
        return self.node(tree.body, scopes, want_bool)

    @staticmethod
    def ident(name: str) -> str:
        return f"\x00{name}\x01"

    # the label a reader sees for a name
    def show(self, m: Meaning) -> str:
        if m.kind in ("rule", "group", "override", "decision"):
            return self.ident(m.name)
        if self.lang == "en":
            return m.en or self.ident(m.name)
        return f"「{short(m.label)}」"

    def name(self, n: ast.Name, scopes: tuple[str, ...], want_bool: bool, positive: bool = True) -> str:
        m = self.names.resolve(n.id, scopes)
        self.used.setdefault(m.name, m)
        if not want_bool or m.type != "bool":
            text = self.show(m) if m.kind != "decision" else t("w_decision", self.lang, a=self.show(m))
            return text if positive else t("w_not", self.lang, a=text)
        key = {"rule": "w_rule", "group": "w_group", "override": "w_override"}.get(m.kind, "w_yes")
        if not positive:
            key = key + "_not" if key != "w_yes" else "w_no"
        return t(key, self.lang, a=self.show(m))

    def node(self, n: ast.AST, scopes: tuple[str, ...], want_bool: bool = False) -> str:
        lang = self.lang
        if isinstance(n, ast.Name):
            return self.name(n, scopes, want_bool)
        if isinstance(n, ast.Constant):
            return self.constant(n.value)
        if isinstance(n, ast.BoolOp):
            key = ("w_and" if isinstance(n.op, ast.And) else "w_or")
            nested = any(isinstance(v, ast.BoolOp) for v in n.values)
            sep = t(key if nested or len(n.values) > 2 else key + "_short", lang)
            parts = []
            for v in n.values:
                text = self.node(v, scopes, True)
                parts.append(self.paren(text) if isinstance(v, ast.BoolOp) else text)
            return sep.join(parts)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            if isinstance(n.operand, ast.Name):
                return self.name(n.operand, scopes, True, positive=False)
            return t("w_not", lang, a=self.paren(self.node(n.operand, scopes, True)))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return "−" + self.node(n.operand, scopes)
        if isinstance(n, ast.BinOp) and type(n.op) in _BIN:
            sym, prec = _BIN[type(n.op)]
            left = self.node(n.left, scopes)
            right = self.node(n.right, scopes)
            if isinstance(n.left, ast.BinOp) and _BIN.get(type(n.left.op), ("", 9))[1] < prec:
                left = self.paren(left)
            if isinstance(n.right, ast.BinOp) and _BIN.get(type(n.right.op), ("", 9))[1] <= prec \
                    and not (prec == 1 and isinstance(n.op, ast.Add) and isinstance(n.right.op, ast.Add)):
                right = self.paren(right)
            return f"{left} {sym} {right}"
        if isinstance(n, ast.Compare):
            return self.compare(n, scopes)
        if isinstance(n, ast.IfExp):
            return t("w_if", lang, c=self.node(n.test, scopes, True), a=self.node(n.body, scopes, want_bool),
                     b=self.node(n.orelse, scopes, want_bool))
        if isinstance(n, (ast.List, ast.Tuple)):
            return t("w_list_sep", lang).join(self.node(e, scopes) for e in n.elts)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            return self.call(n, scopes)
        return ast.unparse(n)

    def paren(self, text: str) -> str:
        return f"（{text}）" if self.lang == "zh" else f"({text})"

    def constant(self, v: Any) -> str:
        if isinstance(v, bool):
            return t("yes" if v else "no", self.lang)
        if isinstance(v, str):
            return f"“{v}”" if self.lang == "zh" else f'"{v}"'
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    def compare(self, n: ast.Compare, scopes: tuple[str, ...]) -> str:
        parts = []
        left_node = n.left
        for op, right_node in zip(n.ops, n.comparators):
            left = self.node(left_node, scopes)
            outcomes = self.decision_outcomes(left_node, scopes)
            if outcomes and isinstance(right_node, (ast.List, ast.Tuple)):
                right = t("w_list_sep", self.lang).join(self.outcome(e, outcomes) for e in right_node.elts)
            elif outcomes:
                right = self.outcome(right_node, outcomes)
            else:
                right = self.node(right_node, scopes)
            key = _CMP.get(type(op), "")
            textual = isinstance(right_node, ast.Constant) and isinstance(right_node.value, str) \
                or outcomes
            if key == "w_eq" and textual:
                key = "w_is"
            elif key == "w_ne" and textual:
                key = "w_is_not"
            parts.append(t(key, self.lang, a=left, b=right) if key else ast.unparse(n))
            left_node = right_node
        return t("w_and_short", self.lang).join(parts)

    def decision_outcomes(self, n: ast.AST, scopes: tuple[str, ...]) -> dict[str, S.OutcomeSpec]:
        if isinstance(n, ast.Name) and not scopes and n.id in self.names.spec.decisions:
            return {o.id: o for o in self.names.spec.decisions[n.id].outcomes}
        return {}

    def outcome(self, n: ast.AST, outcomes: dict[str, S.OutcomeSpec]) -> str:
        if isinstance(n, ast.Constant) and n.value in outcomes:
            o = outcomes[n.value]
            label = (o.en or o.label) if self.lang == "en" else o.label
            return self.ident(n.value) + (f"（{label}）" if self.lang == "zh" else f" ({label})")
        return self.node(n, ())

    def call(self, n: ast.Call, scopes: tuple[str, ...]) -> str:
        f, args, lang = n.func.id, n.args, self.lang
        lists = self.names.lists()
        if f in ("count", "any", "all", "sum", "min", "max") and args \
                and isinstance(args[0], ast.Name) and args[0].id in lists:
            lst = self.name(args[0], scopes, False)
            if f == "count" and len(args) == 1:
                return t("w_count", lang, l=lst)
            inner = scopes + (args[0].id,)
            if len(args) == 2:
                body = self.node(args[1], inner, f in ("count", "any", "all"))
                key = {"count": "w_count_if", "any": "w_any", "all": "w_all", "sum": "w_sum",
                       "min": "w_min_of", "max": "w_max_of"}[f]
                return t(key, lang, l=lst, c=body, e=body)
        a = [self.node(x, scopes) for x in args]
        if f in ("min", "max") and a:
            return t("w_" + f, lang, a=t("w_list_sep", lang).join(a))
        if f == "count" and len(a) == 1:
            return t("w_count", lang, l=a[0])
        if f == "safe_div" and len(a) == 3:
            return t("w_safe_div", lang, a=a[0], b=a[1], z=a[2])
        if f == "abs" and len(a) == 1:
            return t("w_abs", lang, a=a[0])
        if f == "round" and a:
            return t("w_round", lang, a=a[0], n=a[1] if len(a) > 1 else "0")
        if f == "date" and len(args) == 1 and isinstance(args[0], ast.Constant):
            return str(args[0].value)
        if f in ("add_months", "add_years") and len(args) == 2:
            unit = "months" if f == "add_months" else "years"
            back = isinstance(args[1], ast.UnaryOp) and isinstance(args[1].op, ast.USub)
            amount = self.node(args[1].operand, scopes) if back else a[1]
            return t(("w_sub_" if back else "w_add_") + unit, lang, d=a[0], n=amount)
        if f == "next_month_start" and len(a) == 1:
            return t("w_next_month", lang, d=a[0])
        if f == "days_between" and len(a) == 2:
            return t("w_days", lang, a=a[0], b=a[1])
        if f == "working_days" and len(a) >= 4:
            return t("w_working_days", lang, a=a[0], b=a[1], h=a[2], w=a[3])
        if f == "known" and len(a) == 1:
            return t("w_known", lang, a=a[0])
        if f == "age_on" and len(a) == 1:
            self.used.setdefault("members.age", self.names.resolve("age", ("members",)))
            return t("w_age_on", lang, d=a[0])
        return ast.unparse(n)
