"""Drawing plausible records for `rulekit sample`: the household side of sampling, kept apart from
the search that steers records towards the pack's outcomes (`rulekit.staff.search`).

Records are drawn from the household model's own metadata (kinds, enums, minimum and maximum) so
that every field of the national form is filled, with a household "story" on top that keeps
them plausible: members' ages fit their relation, schooling and labour; income lines add up to
the summary fields; procedure dates follow each other. Facts a pack declares itself (`local_facts`,
or flat `facts`) are drawn from their declarations, near the numbers, texts and dates the pack uses.
"""
from __future__ import annotations

import ast
import datetime as dt
import math
import random
from typing import Any

import attrs

from rulekit.engine.pack import Pack
from rulekit.expr.compiler import Compiled
from rulekit.record import model as M

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


def _birth(rng: random.Random, age: int, on: dt.date) -> str:
    """A birth date giving `age` whole years on `on`: within the year before its `age`th
    anniversary counted back from `on`."""
    last = dt.date(on.year - age, on.month, 28 if (on.month, on.day) == (2, 29) else on.day)
    return (last - dt.timedelta(days=rng.randint(0, 364))).isoformat()


class _Drawer:
    """The generator's state (the pack, the one random source, the collection dates, the values
    the pack uses, the search's caches) and the drawing of records. `record` keeps a new record
    within the pack's input checks through `satisfy`, which the search (`search._Generator`)
    adds."""

    def satisfy(self, rec: dict, rounds: int = 12) -> dict:
        """`rec` changed until the pack's input checks hold (search._Generator does it)."""
        raise NotImplementedError

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
