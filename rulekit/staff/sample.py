"""A sample population for a pack: plausible, schema-valid household records that together reach
every outcome of the pack's decisions, seeded and reproducible.

Records are drawn from the household model's own metadata (kinds, enums, minimum and maximum) so
that every field of the national form is filled, with a household "story" on top that keeps
them plausible: members' ages fit their relation, schooling and labour; income lines add up to
the summary fields; procedure dates follow each other. Facts a pack declares itself (`local_facts`,
or flat `facts`) are drawn from their declarations.

Then a targeted search: while some outcome has not been reached, records are mutated in the facts
that outcome's condition reads (followed through computed values, rules and earlier outcomes),
and a record that reaches a new outcome replaces one whose outcomes the sample already has twice.
The search is bounded; outcomes it could not reach are reported, never hidden. One
`random.Random(seed)` drives everything, so the same (pack, n, seed) gives the same records.
"""
from __future__ import annotations

import ast
import datetime as dt
import math
import random
from collections import Counter
from typing import Any

import attrs

from rulekit.engine.compile import BUILTINS
from rulekit.engine.pack import Pack
from rulekit.errors import EvaluationError, ExpressionError, RecordError
from rulekit.expr.compiler import Compiled, compile_expression
from rulekit.record import model as M
from rulekit.staff.diff import FIRED, decision_states

SURNAMES = "李王张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗普白施鲁余"
GIVEN = "国华秀英明芳建军志强丽娟文红春梅海涛玉兰永福金凤德清小云"
CROPS = ("烤烟", "玉米", "水稻", "蔬菜", "柑橘", "核桃", "茶叶", "花卉")
LIVESTOCK = ("生猪", "肉牛", "山羊", "鸡", "鱼")
BUSINESS = ("小卖部", "农家乐", "运输服务", "农产品加工")
ASSETS = ("微耕机", "大棚", "圈舍", "烤房", "抽水机", "役畜")
ETHNIC = ("汉族", "汉族", "汉族", "彝族", "哈尼族", "傣族", "回族")
# fields never drawn at random: age comes from birth_date, identity numbers are not invented,
# and these only make sense when another fact says so (the story sets them)
SKIP = {"age", "id_number", "local", "disability_grade", "disaster_types", "elimination_method",
        "elimination_date"}
SUMMARY = ("wage_income", "production_income", "property_income", "transfer_income", "production_expense",
           "self_paid_expense")
LIKELY = {"basic_medical_insurance", "serious_illness_insurance", "pension_insurance",
          "shares_income_expenses", "has_legal_guardian", "has_legal_supporter", "has_industry_coverage",
          "publicity_offline", "publicity_online", "guarantees_consolidated", "usable"}


@attrs.frozen
class Sample:
    records: list[dict]
    reached: dict[str, dict[str, int]]          # decision -> outcome -> households reaching it
    unreached: tuple[tuple[str, str], ...]      # (decision, outcome) the search could not reach
    tries: int                                  # records evaluated by the targeted search
    invalid: tuple[str, ...] = ()               # ids of records the pack rejects (none, normally)
    as_of: dt.date | None = None                # flat records carry no date: evaluate them as of this


def sample(pack: Pack, n: int, seed: int = 0, *, collected_on: dt.date | None = None) -> list[dict]:
    """`n` plausible household records for `pack` reaching every outcome it can (see `generate`)."""
    return generate(pack, n, seed, collected_on=collected_on).records


def generate(pack: Pack, n: int, seed: int = 0, *, collected_on: dt.date | None = None,
             max_tries: int | None = None) -> Sample:
    """The sample, which outcomes it reaches, and which it could not reach within `max_tries`
    mutated records (default 60 per outcome of the pack, at least 3000)."""
    if n < 1:
        raise ValueError(f"n must be at least 1 (got {n})")
    gen = _Generator(pack, random.Random(seed), collected_on)
    records = [gen.record(i) for i in range(n)]
    targets = [(d.name, o.id) for d in pack.spec.decisions.values() for o in d.outcomes]
    budget = max_tries if max_tries is not None else max(3000, 60 * len(targets))
    hits = [gen.hits(r) for r in records]
    tries = gen.search(records, hits, targets, budget)
    count: Counter[tuple[str, str]] = Counter(h for hs in hits for h in hs)
    reached = {d.name: {o.id: count[(d.name, o.id)] for o in d.outcomes}
               for d in pack.spec.decisions.values()}
    invalid = tuple(r["id"] for r in records if not gen.valid(r))
    return Sample(records, reached, tuple(t for t in targets if not count[t]), tries, invalid,
                  gen.day0 if pack.spec.facts else None)


def _constants(spec: Any) -> tuple[list[float], list[str], list[dt.date]]:
    """The numbers, texts and dates a pack uses (parameter values and literals in its
    expressions): values near them are where outcomes change."""
    numbers: set[float] = set()
    texts: set[str] = set()
    dates: set[dt.date] = set()
    for p in spec.parameters.values():
        for v in p.values:
            if isinstance(v.value, bool):
                continue
            if isinstance(v.value, (int, float)):
                numbers.add(float(v.value))
            elif isinstance(v.value, dt.date):
                dates.add(v.value)
    sources = [c.formula for c in spec.computed.values()] + [r.when for r in spec.rules.values()]
    sources += [o.when for o in spec.overrides.values()]
    sources += [o.when for d in spec.decisions.values() for o in d.outcomes if o.when]
    for src in sources:
        try:
            tree = ast.parse(src.strip(), mode="eval")
        except SyntaxError:
            continue
        for n in ast.walk(tree):
            if not isinstance(n, ast.Constant) or isinstance(n.value, bool):
                continue
            if isinstance(n.value, (int, float)):
                numbers.add(float(n.value))
            elif isinstance(n.value, str):
                try:
                    dates.add(dt.date.fromisoformat(n.value))
                except ValueError:
                    texts.add(n.value)
    return sorted(numbers), sorted(texts), sorted(dates)


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


def _birth(rng: random.Random, age: int, on: dt.date) -> str:
    """A birth date giving `age` whole years on `on`: within the year before its `age`th
    anniversary counted back from `on`."""
    last = dt.date(on.year - age, on.month, 28 if (on.month, on.day) == (2, 29) else on.day)
    return (last - dt.timedelta(days=rng.randint(0, 364))).isoformat()


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


class _Generator:
    def __init__(self, pack: Pack, rng: random.Random, collected_on: dt.date | None) -> None:
        self.pack = pack
        self.spec = pack.spec
        self.rng = rng
        starts = [v.start for p in self.spec.parameters.values() for v in p.values if v.start.year > 1900]
        self.day0 = collected_on or (max(starts) if starts else dt.date(2022, 6, 30))
        self.spread = 0 if collected_on else 90
        ref = self.spec.meta.get("reference_date")
        # ages are taken at the pack's fixed reference date when it has one, else at collection
        self.ages_on = ref if isinstance(ref, dt.date) else None
        # the pack's own conditions on the input are met by the records, not left to chance:
        # the search evaluates without them (to see every value) and checks them itself
        self.checks = tuple(getattr(pack.compiled, "checks", ()))
        self.unchecked = Pack(attrs.evolve(pack.compiled, checks=()), pack.digest) if self.checks else pack
        self.numbers, self.texts, self.dates = _constants(self.spec)
        reads = {n for node in pack.compiled.nodes for e in [node.expr, *(x for _, x in node.outcomes)]
                 if e is not None for n in e.reads}
        # a pack that reads the form's summary income fields takes them as given: the search may
        # change them without recomputing them from the detail lines
        self.keep_summaries = bool(reads & set(SUMMARY))
        self._closures: dict[tuple[str, ...], tuple[list[str], list[tuple[str, str]]]] = {}
        self._asks_known: dict[tuple[str, ...], bool] = {}
        self._shares: dict[str, Any] = {}
        self._steps: dict[tuple[str, str], tuple[list[Compiled], list[Compiled]]] = {}

    def money(self, lo: float = 100, hi: float = 20000) -> int:
        return int(round(math.exp(self.rng.uniform(math.log(lo), math.log(hi))), -1))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- drawing values from the model's metadata and the pack's declarations ------------------
    def value(self, name: str, meta: dict, day: dt.date) -> Any:
        kind, enum, rng = meta["kind"], meta.get("enum"), self.rng
        if kind == "list" and enum:
            return rng.sample(list(M.ENUMS[enum]), rng.choice((0, 0, 1, 1, 2)))
        if enum:
            return rng.choice(list(M.ENUMS[enum]))
        if kind == M.MONEY:
            return 0 if self.chance(0.4) else self.money()
        if kind in (M.COUNT, M.NUMBER):
            lo, hi = meta.get("min") or 0, meta.get("max") if meta.get("max") is not None else 10
            return rng.randint(int(lo), int(hi)) if kind == M.COUNT else round(rng.uniform(lo, hi), 1)
        if kind == M.BOOL:
            return self.chance(0.9 if name in LIKELY else 0.04)
        if kind == M.DATE:
            return (day - dt.timedelta(days=rng.randint(0, 720))).isoformat()
        if kind == M.TEXT:
            return rng.choice(GIVEN) + rng.choice(GIVEN)
        return None

    def fill(self, cls: type, obj: dict, day: dt.date, skip: tuple[str, ...] = ()) -> dict:
        """Every field of `cls` the story left out, drawn from its metadata."""
        for f in attrs.fields(cls):
            if f.name in obj or f.name in SKIP or f.name in skip:
                continue
            if "section" in f.metadata:
                obj[f.name] = self.fill(M.SECTIONS[f.name], {}, day)
            elif f.metadata.get("item") is not None:
                obj[f.name] = [self.fill(f.metadata["item"], {}, day)
                               for _ in range(self.rng.choice((0, 0, 1, 2)))]
            else:
                obj[f.name] = self.value(f.name, f.metadata, day)
        return obj

    def local(self, facts: dict[str, dict], day: dt.date) -> dict:
        return {name: self.local_value(f, day) for name, f in facts.items()}

    def local_value(self, f: dict, day: dt.date, old: Any = None) -> Any:
        """A value for a fact the pack declares (local or flat), from its declaration."""
        rng, kind = self.rng, f["type"]
        if f.get("values"):
            return rng.choice(f["values"])
        if kind == "bool":
            return (not old) if isinstance(old, bool) else self.chance(0.3)
        if kind in ("number", "integer"):
            x = self.number(old, "元" in f.get("unit", ""), kind == "integer", f.get("minimum", 0), None)
            return int(x) if kind == "integer" else float(x)
        if kind == "date":
            if self.dates and self.chance(0.3):
                base = rng.choice(self.dates)
            elif isinstance(old, str) and self.chance(0.5):
                base = dt.date.fromisoformat(old)
            else:
                base = day
            return (base + dt.timedelta(days=rng.randint(-400, 120))).isoformat()
        return rng.choice(self.texts + ["", "样本"])

    def number(self, old: Any, money: bool, integer: bool, lo: float | None, hi: float | None) -> float:
        """A new number: near a number the pack uses, a multiple of the old one, or a fresh draw."""
        rng = self.rng
        r = rng.random()
        if self.numbers and r < 0.35:
            x = rng.choice(self.numbers)
            x = x + rng.choice((-1, 0, 1)) if integer else x * rng.choice((0.5, 0.99, 1, 1.01, 2))
        elif isinstance(old, (int, float)) and not isinstance(old, bool) and old and r < 0.7:
            x = old * rng.choice((0, 0.1, 0.3, 0.6, 1.5, 3, 10))
        else:
            x = self.money(100, 100000) if money else rng.choice((0, 1, 2, 3, 5, 8, 10, 20))
        x = max(lo, x) if lo is not None else x
        x = min(hi, x) if hi is not None else x
        return int(round(x)) if integer or money else round(x, 2)

    # -- one plausible record ------------------------------------------------------------------
    def record(self, i: int) -> dict:
        rid = f"{self.spec.id.upper()}-S{i + 1:05d}"
        day = self.day0 + dt.timedelta(days=self.rng.randint(0, self.spread))
        if self.spec.facts:
            return self.satisfy({"id": rid, **self.local(self.spec.facts, day)})
        return self.satisfy(self.household(rid, day))

    def household(self, rid: str, day: dt.date) -> dict:
        rng, chance = self.rng, self.chance
        size = rng.choices((1, 2, 3, 4, 5, 6), (8, 20, 25, 25, 13, 9))[0]
        surname = rng.choice(SURNAMES)
        head = rng.randint(25, 82)
        people = [("head", head)]
        if size > 1 and chance(0.85):
            people.append(("spouse", max(20, head + rng.randint(-6, 4))))
        while len(people) < size:
            if head < 58 and chance(0.25) and not any(r == "parent" for r, _ in people):
                people.append(("parent", min(96, head + rng.randint(20, 32))))
            elif head >= 55 and chance(0.3):
                people.append(("grandchild", rng.randint(0, 15)))
            else:
                people.append(("child", max(0, head - rng.randint(20, 36))))
        members = [self.member(rel, age, surname, day) for rel, age in people]
        if len(members) > 1 and members[1]["relation"] == "spouse":
            members[1]["sex"] = "female" if members[0]["sex"] == "male" else "male"
        monitored = rng.choices(("none", "unstable", "edge", "sudden"), (75, 10, 10, 5))[0]
        h: dict[str, Any] = {
            "id": rid, "county": self.spec.meta.get("locality", "") + "（样本）",
            "town": f"样本镇{rng.randint(1, 5)}", "village": f"样本村{rng.randint(1, 12)}",
            "collected_on": day.isoformat(), "alleviated": chance(0.45),
            "relocation_site_large": chance(0.05), "monitoring_category": monitored,
            "system_entry_date": (day + dt.timedelta(days=rng.randint(10, 40))).isoformat(),
            "members": members,
            "guarantees": {"housing_unsafe": chance(0.04), "dropout": chance(0.02),
                           "water_unsafe": chance(0.03)},
            "risks": self.risks(), "assets": self.assets(day),
            "conduct": {"head_relatives_public_servant": chance(0.01),
                        "deliberate_split_merge": chance(0.005),
                        "empty_registered_household": chance(0.005), "misconduct": chance(0.005)},
            "elimination": self.elimination(monitored, day), "procedure": self.procedure(day),
        }
        h["separated_children"] = [] if not chance(0.2) else [
            {"name": surname + rng.choice(GIVEN), "public_funded_or_soe_manager": chance(0.05),
             "company_with_employees": chance(0.05), "company_income": 0 if chance(0.9) else self.money(),
             "strong_support_capacity": chance(0.1), "good_living_conditions": chance(0.1)}]
        h["expenses"] = {"rigid_expenses": self.rigid(members, day)}
        h["income"] = self.income(members, len(members), day)
        self.tidy(h)
        if self.spec.local_facts:
            own = {n: f for n, f in self.spec.local_facts.items() if f.get("per") != "members"}
            per = {n: f for n, f in self.spec.local_facts.items() if f.get("per") == "members"}
            if own:
                h["local"] = self.local(own, day)
            if per:
                for m in members:
                    m["local"] = self.local(per, day)
        return self.fill(M.Household, h, day)

    def member(self, relation: str, age: int, surname: str, day: dt.date) -> dict:
        rng, chance = self.rng, self.chance
        own_name = relation in ("head", "child", "grandchild", "sibling")
        health = rng.choices(("healthy", "chronic", "serious_illness", "disabled"),
                             (80, 8 + (15 if age >= 55 else 0), 4 + (4 if age >= 55 else 0), 4))[0]
        m: dict[str, Any] = {
            "name": (surname if own_name else rng.choice(SURNAMES)) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "sex": "male" if relation == "head" and chance(0.8) else rng.choice(("male", "female")),
            "relation": relation, "ethnicity": rng.choice(ETHNIC), "political_status": "群众",
            "birth_date": _birth(rng, age, self.ages_on or day), "health": health,
            "status": rng.choices(("present", "deceased", "imprisoned", "missing"), (97, 1, 1, 1))[0]
            if relation != "head" else "present",
            "shares_income_expenses": relation == "head" or chance(0.96),
        }
        if health == "disabled":
            m["disability_grade"] = rng.randint(1, 4)
        if 3 <= age <= 5:
            school = "preschool" if chance(0.8) else "not_student"
        elif 6 <= age <= 11:
            school = "primary"
        elif 12 <= age <= 14:
            school = "junior_secondary"
        elif 15 <= age <= 17:
            school = rng.choice(("senior_secondary", "secondary_vocational", "not_student"))
        elif 18 <= age <= 23 and chance(0.5):
            school = rng.choice(("higher_vocational", "junior_college", "undergraduate"))
        else:
            school = "not_student"
        m["student_status"] = school
        m["education_level"] = "学龄前" if age < 6 else rng.choice(("小学", "初中", "高中", "大专及以上"))
        if age < 16 or school != "not_student":
            skill = "none"
        elif age >= 75:
            skill = rng.choice(("none", "lost", "weak"))
        elif health in ("serious_illness", "disabled"):
            skill = rng.choice(("weak", "lost", "lost", "none"))
        elif age >= 60:
            skill = rng.choice(("weak", "ordinary", "none"))
        else:
            skill = rng.choices(("skilled", "ordinary", "weak"), (30, 60, 10))[0]
        m["labour_skill"] = skill
        if skill in ("skilled", "ordinary", "weak") and age < 65 and chance(0.65):
            m["work_area"] = rng.choice(list(M.WORK_AREA))
            m["work_months"] = rng.randint(1, 12)
        else:
            m["work_months"] = 0
        adult = age >= 18
        m.update(basic_medical_insurance=chance(0.96), serious_illness_insurance=chance(0.9),
                 pension_insurance=adult and chance(0.85), dibao=chance(0.06),
                 tekun=age >= 60 and chance(0.02), relocated=chance(0.03),
                 public_servant=adult and chance(0.004), village_cadre_paid=adult and chance(0.006),
                 disabled_elderly=age >= 60 and chance(0.1),
                 inpatient_self_pay=self.money(200, 30000) if health in ("chronic", "serious_illness")
                 and chance(0.6) else 0)
        if age < 18:
            m["has_legal_guardian"] = chance(0.95)
        m["has_legal_supporter"] = chance(0.9) if age >= 60 else True
        return self.fill(M.Member, m, day, skip=("work_area", "has_legal_guardian"))

    def risks(self) -> dict:
        rng, chance = self.rng, self.chance
        types = [] if chance(0.5) else rng.sample(list(M.RISK_TYPE), rng.choice((1, 1, 2)))
        out: dict[str, Any] = {"risk_types": types}
        if "natural_disaster" in types:
            out["disaster_types"] = rng.sample(list(M.DISASTER_TYPE), 1)
        out.update(sudden_event=chance(0.08), industry_failure=chance(0.05), major_family_change=chance(0.06),
                   weak_economic_base=chance(0.12), income_declining=chance(0.1),
                   only_house_earthen=chance(0.08), has_industry_coverage=chance(0.7),
                   lacks_internal_drive=chance(0.08))
        return out

    def assets(self, day: dt.date) -> dict:
        rng, chance = self.rng, self.chance
        vehicles = [] if not chance(0.15) else [{
            "price": self.money(5000, 150000), "use": rng.choices(list(M.VEHICLE_USE), (5, 3, 2))[0],
            "purchase_date": (day - dt.timedelta(days=rng.randint(0, 900))).isoformat()}]
        return {"fixed_assets": [{"name": rng.choice(ASSETS), "original_value": self.money(300, 30000),
                                  "usable": chance(0.9)} for _ in range(rng.choice((0, 1, 1, 2)))],
                "vehicles": vehicles, "urban_property": chance(0.015),
                "registered_company_operating": chance(0.01), "large_grower_or_employer": chance(0.015)}

    def elimination(self, monitored: str, day: dt.date) -> dict:
        chance = self.chance
        if monitored == "none":
            return {"risk_stably_eliminated": False, "income_stable": chance(0.7),
                    "guarantees_consolidated": True, "consents_elimination": False}
        out: dict[str, Any] = {"risk_stably_eliminated": chance(0.4), "income_stable": chance(0.6),
                               "guarantees_consolidated": chance(0.85), "consents_elimination": chance(0.7)}
        if out["risk_stably_eliminated"] and out["consents_elimination"]:
            out["elimination_method"] = self.rng.choice(list(M.ELIMINATION_METHOD))
            out["elimination_date"] = (day - dt.timedelta(days=self.rng.randint(0, 100))).isoformat()
        return out

    def procedure(self, day: dt.date) -> dict:
        rng, chance = self.rng, self.chance
        review = day + dt.timedelta(days=rng.randint(1, 10))
        start = review + dt.timedelta(days=rng.randint(0, 3))
        end = start + dt.timedelta(days=rng.randint(1, 3) if chance(0.1) else rng.randint(6, 10))
        town = end + dt.timedelta(days=rng.randint(1, 6))
        county = town + dt.timedelta(days=rng.randint(1, 6))
        if chance(0.05):
            town, county = county, town
        return {"village_review_date": review.isoformat(), "publicity_start": start.isoformat(),
                "publicity_end": end.isoformat(), "publicity_offline": chance(0.95),
                "publicity_online": chance(0.9), "objections": chance(0.04),
                "town_review_date": town.isoformat(), "county_review_date": county.isoformat()}

    def rigid(self, members: list[dict], day: dt.date) -> list[dict]:
        rng = self.rng
        out = []
        ill = any(m["health"] in ("chronic", "serious_illness") for m in members)
        studying = any(m["student_status"] not in ("not_student", "primary", "junior_secondary")
                       for m in members)
        for kind, cause, p in (("medical", "illness", 0.6 if ill else 0.1),
                               ("education", "schooling", 0.6 if studying else 0.02),
                               ("other", rng.choice(("disaster", "accident", "other")), 0.06)):
            if self.chance(p):
                out.append({"kind": kind, "amount": self.money(500, 40000), "cause": cause,
                            "date": (day - dt.timedelta(days=rng.randint(0, 360))).isoformat()})
        return out

    def income(self, members: list[dict], size: int, day: dt.date) -> dict:
        """Income lines around a per-person net income: most households around 12000 yuan a
        year, a vulnerable third spread between 1500 and 9000."""
        rng, chance = self.rng, self.chance
        level = math.exp(rng.uniform(math.log(1500), math.log(9000))) if chance(0.35) else \
            rng.lognormvariate(math.log(12000), 0.45)
        total = level * size
        workers = [m for m in members if m["work_months"] > 0]
        wage_share = rng.uniform(0.3, 0.8) if workers else 0.0
        transfer_share = rng.choice((0.02, 0.05, 0.1, 0.2, 0.35, 0.5))
        production = max(0.0, total * (1 - wage_share - transfer_share))
        work = []
        for m in workers:
            amount = total * wage_share / len(workers)
            months = m["work_months"]
            if m.get("work_area") == "in_county":
                days = max(1, months * 22)
                work.append({"worker": m["name"], "local_days": days, "local_daily_wage": int(amount / days),
                             "outside_months": 0, "outside_monthly_wage": 0, "in_kind": 0})
            else:
                work.append({"worker": m["name"], "local_days": 0, "local_daily_wage": 0,
                             "outside_months": months, "outside_monthly_wage": int(amount / months),
                             "in_kind": 0 if chance(0.8) else self.money(100, 2000)})

        def lines(names: tuple[str, ...], share: float) -> list[dict]:
            picks = rng.sample(names, rng.randint(1, 3))
            out = []
            for name in picks:
                revenue = production * share / len(picks) / 0.7
                own_use = revenue * rng.uniform(0, 0.4)
                out.append({"name": name, "sales": int(revenue - own_use), "self_consumed": int(own_use),
                            "cost": int(revenue * rng.uniform(0.2, 0.45))})
            return out
        crops = lines(CROPS, 0.7)
        livestock = lines(LIVESTOCK, 0.3) if chance(0.6) else []
        business = [] if not chance(0.12) else [{
            "name": rng.choice(BUSINESS), "sales": self.money(1000, 40000), "services": 0,
            "cost": self.money(500, 20000)}]
        transfers = total * transfer_share
        dibao = any(m["dibao"] for m in members)
        elders = sum(1 for m in members
                     if m["pension_insurance"] and int(m["birth_date"][:4]) <= day.year - 60)
        out = {"crops": crops, "livestock": livestock, "business": business, "work": work,
               "dividend": 0 if chance(0.7) else self.money(100, 1500),
               "land_rent": 0 if chance(0.8) else self.money(300, 5000),
               "house_rent": 0 if chance(0.95) else self.money(1000, 10000),
               "other_property": 0, "family_planning": 0 if chance(0.95) else 960,
               "dibao_income": int(transfers * 0.5) if dibao else 0,
               "tekun_income": 4000 if any(m["tekun"] for m in members) else 0,
               "pension_income": 1500 * elders,
               "eco_compensation": 0 if chance(0.5) else self.money(50, 800),
               "other_transfer": int(transfers * (0.5 if dibao else 1.0)),
               "claims_income": 0 if chance(0.85) else self.money(500, 10000)}
        net = total * rng.uniform(0.85, 1.0)
        drop = rng.uniform(0.3, 0.6) if chance(0.12) else -rng.uniform(0, 0.15)
        out["previous_net_income"] = int(net / (1 - drop))
        return out

    def tidy(self, h: dict) -> None:
        """Keep the form's summary fields equal to the detail lines after any change."""
        inc = h.get("income") or {}
        if "crops" not in inc:
            return
        members = {m.get("name"): m for m in h.get("members") or []}
        inc["wage_income"] = int(sum((w.get("local_days") or 0) * (w.get("local_daily_wage") or 0)
                                     + (w.get("outside_months") or 0) * (w.get("outside_monthly_wage") or 0)
                                     + (w.get("in_kind") or 0) for w in inc.get("work") or []
                                     if w.get("worker") in members or not members))
        inc["production_income"] = int(sum((x.get("sales") or 0) + (x.get("self_consumed") or 0)
                                           for x in (inc.get("crops") or []) + (inc.get("livestock") or []))
                                       + sum((x.get("sales") or 0) + (x.get("services") or 0)
                                             for x in inc.get("business") or []))
        inc["property_income"] = int(sum(inc.get(k) or 0 for k in ("dividend", "land_rent", "house_rent",
                                                                   "other_property")))
        inc["transfer_income"] = int(sum(inc.get(k) or 0 for k in (
            "family_planning", "dibao_income", "tekun_income", "pension_income", "eco_compensation",
            "other_transfer")))
        inc["production_expense"] = int(sum(x.get("cost") or 0 for k in ("crops", "livestock", "business")
                                            for x in inc.get(k) or []))
        rigid = (h.get("expenses") or {}).get("rigid_expenses") or []
        inc["self_paid_expense"] = int(sum(x.get("amount") or 0 for x in rigid))

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
