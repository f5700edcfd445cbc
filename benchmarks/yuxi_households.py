"""Seeded generator of plausible, schema-valid household records for the Yuxi pack.

`households(n, seed)` returns JSON-shaped dicts in the canonical form of the national household
record (rulekit/record/model.py: English field names, enum codes, dates as YYYY-MM-DD text):
members with birth dates, health, labour skill, student status, insurance and the public servant /
paid village cadre flags; income lines (crops, livestock, business, work); property and transfer
income; rigid expenses; productive fixed assets; vehicles; risks; three guarantees; conduct;
risk elimination; procedure dates.

The mix is tuned so that every outcome of the Yuxi `monitoring` decision occurs (excluded,
exclusion_review, unstable, edge, below_standard_review, sudden, not_monitored). A share of
records (`unknown_share`, default 2%) has one fact left out, as real exports do, so that the
"undetermined" paths are exercised too. Nothing is random at import time; the same (n, seed)
always gives the same records.

    python benchmarks/yuxi_households.py --n 3 --seed 1      # print three records as JSON
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from typing import Any

COUNTIES = {
    "红塔区": ["玉兴街道", "北城街道", "研和街道"],
    "江川区": ["大街街道", "前卫镇", "九溪镇"],
    "澄江市": ["凤麓街道", "右所镇", "海口镇"],
    "通海县": ["秀山街道", "杨广镇", "河西镇"],
    "华宁县": ["宁州街道", "盘溪镇", "青龙镇"],
    "易门县": ["龙泉街道", "六街街道", "铜厂乡"],
    "峨山彝族自治县": ["双江街道", "小街街道", "塔甸镇"],
    "新平彝族傣族自治县": ["桂山街道", "戛洒镇", "平甸乡"],
    "元江哈尼族彝族傣族自治县": ["澧江街道", "因远镇", "那诺乡"],
}
VILLAGES = ["大寨村", "小河村", "新村", "龙潭村", "中和村", "白邑村", "田房村", "石岩村", "松林村"]
SURNAMES = "李王张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗普白施"
GIVEN = "国华秀英明芳建军志强丽娟文红春梅海涛玉兰永福金凤德清"
CROPS = ["烤烟", "玉米", "水稻", "蔬菜", "柑橘", "核桃", "甘蔗", "茶叶", "花卉"]
LIVESTOCK = ["生猪", "肉牛", "山羊", "鸡", "鱼"]
BUSINESS = ["小卖部", "农家乐", "运输服务", "农产品加工", "电商代销"]
ASSETS = ["微耕机", "三轮车（农用）", "大棚", "圈舍", "烤房", "抽水机", "役畜"]
COLLECTED_FROM = dt.date(2022, 1, 1)
COLLECTED_DAYS = 540            # collected_on spans 2022-01-01 .. 2023-06-24 (holiday list covers it)


def _date(d: dt.date) -> str:
    return d.isoformat()


def _birth(rnd: random.Random, age: int, on: dt.date) -> str:
    """A birth date giving `age` whole years on `on`."""
    days_into_year = rnd.randint(1, 364)
    born = on - dt.timedelta(days=int(age * 365.25) + days_into_year)
    return _date(born)


def _name(rnd: random.Random, surname: str) -> str:
    return surname + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))


def _member(rnd: random.Random, relation: str, age: int, on: dt.date, surname: str,
            illness_bias: float) -> dict[str, Any]:
    m: dict[str, Any] = {
        "name": _name(rnd, surname if relation in ("head", "child", "grandchild", "sibling")
                      else rnd.choice(SURNAMES)),
        "sex": rnd.choice(("male", "female")),
        "relation": relation,
        "ethnicity": rnd.choice(("汉族", "彝族", "哈尼族", "傣族", "回族")),
        "birth_date": _birth(rnd, age, on),
    }
    # health: illness is more frequent with age and in "fragile" households
    r = rnd.random()
    old = age >= 60
    p_serious = 0.04 + 0.06 * old + illness_bias
    p_chronic = 0.08 + 0.15 * old + illness_bias
    p_disabled = 0.05 + 0.03 * old
    if r < p_serious:
        m["health"] = "serious_illness"
    elif r < p_serious + p_chronic:
        m["health"] = "chronic"
    elif r < p_serious + p_chronic + p_disabled:
        m["health"] = "disabled"
        m["disability_grade"] = rnd.choice((1, 2, 2, 3, 3, 4, 4))
    else:
        m["health"] = "healthy"
    # schooling
    if 3 <= age <= 5:
        m["student_status"] = "preschool" if rnd.random() < 0.8 else "not_student"
    elif 6 <= age <= 11:
        m["student_status"] = "primary"
    elif 12 <= age <= 14:
        m["student_status"] = "junior_secondary"
    elif 15 <= age <= 17:
        m["student_status"] = rnd.choice(("senior_secondary", "secondary_vocational",
                                          "senior_secondary", "not_student"))
    elif 18 <= age <= 23 and rnd.random() < 0.4:
        m["student_status"] = rnd.choice(("higher_vocational", "junior_college", "undergraduate",
                                          "undergraduate", "postgraduate"))
    else:
        m["student_status"] = "not_student"
    # labour skill
    student = m["student_status"] != "not_student"
    if age < 16 or student:
        skill = "none"
    elif m["health"] in ("serious_illness",) and rnd.random() < 0.5:
        skill = "lost"
    elif m["health"] == "disabled" and m.get("disability_grade", 4) <= 2:
        skill = rnd.choice(("lost", "none", "weak"))
    elif age >= 65:
        skill = rnd.choice(("weak", "weak", "lost", "none"))
    elif age >= 60:
        skill = rnd.choice(("ordinary", "weak", "weak", "lost"))
    else:
        skill = rnd.choices(("skilled", "ordinary", "weak", "lost"), (20, 62, 13, 5))[0]
    m["labour_skill"] = skill
    if skill in ("skilled", "ordinary", "weak"):
        months = 0 if rnd.random() < 0.45 else rnd.choice((2, 3, 4, 6, 8, 10, 12))
        m["work_months"] = months
        if months:
            m["work_area"] = rnd.choices(("in_county", "in_province", "out_of_province"),
                                         (45, 35, 20))[0]
    else:
        m["work_months"] = 0
    m["basic_medical_insurance"] = rnd.random() < 0.97
    m["serious_illness_insurance"] = m["basic_medical_insurance"] and rnd.random() < 0.9
    m["pension_insurance"] = age >= 16 and rnd.random() < 0.85
    m["dibao"] = False
    m["tekun"] = False
    m["relocated"] = rnd.random() < 0.05
    m["public_servant"] = age >= 20 and rnd.random() < 0.006
    m["village_cadre_paid"] = age >= 25 and rnd.random() < 0.012
    if age <= 16:
        m["has_legal_guardian"] = rnd.random() > 0.015
    if age >= 60:
        m["has_legal_supporter"] = rnd.random() > 0.03
        m["disabled_elderly"] = rnd.random() < 0.06
    if relation != "head" and rnd.random() < 0.03:
        m["status"] = rnd.choice(("deceased", "imprisoned", "missing"))
    else:
        m["status"] = "present"
    m["shares_income_expenses"] = relation == "head" or rnd.random() > 0.02
    if m["health"] in ("serious_illness", "chronic") and rnd.random() < 0.5:
        m["inpatient_self_pay"] = round(rnd.uniform(500, 30000), 2)
    return m


def _members(rnd: random.Random, on: dt.date, fragile: bool) -> list[dict]:
    surname = rnd.choice(SURNAMES)
    bias = 0.06 if fragile else 0.0
    head_age = rnd.randint(24, 82)
    out = [_member(rnd, "head", head_age, on, surname, bias)]
    if rnd.random() < 0.8:
        out.append(_member(rnd, "spouse", max(20, head_age + rnd.randint(-6, 4)), on, surname, bias))
    if head_age < 60:
        for _ in range(rnd.choice((0, 1, 1, 2, 2, 3))):
            out.append(_member(rnd, "child", rnd.randint(0, max(0, min(30, head_age - 20))), on,
                               surname, bias))
    else:
        if rnd.random() < 0.5:
            child_age = rnd.randint(25, head_age - 20)
            out.append(_member(rnd, "child", child_age, on, surname, bias))
            if rnd.random() < 0.5:
                out.append(_member(rnd, "child_in_law", child_age + rnd.randint(-3, 3), on, surname,
                                   bias))
            for _ in range(rnd.choice((0, 1, 2))):
                out.append(_member(rnd, "grandchild", rnd.randint(0, max(0, child_age - 20)), on,
                                   surname, bias))
    if head_age < 55 and rnd.random() < 0.3:
        out.append(_member(rnd, "parent", head_age + rnd.randint(22, 32), on, surname, bias))
    return out[:8]


def _income(rnd: random.Random, members: list[dict], scale: float, alleviated: bool,
            on: dt.date) -> tuple[dict, float]:
    inc: dict[str, Any] = {}
    net = 0.0
    crops = []
    for _ in range(rnd.choice((0, 1, 1, 2, 2, 3))):
        sales = round(rnd.uniform(0, 9000) * scale, 2)
        self_consumed = round(rnd.uniform(0, 2000), 2)
        cost = round(rnd.uniform(0.1, 0.5) * (sales + self_consumed), 2)
        crops.append({"name": rnd.choice(CROPS), "sales": sales, "self_consumed": self_consumed,
                      "cost": cost})
        net += sales + self_consumed - cost
    livestock = []
    for _ in range(rnd.choice((0, 0, 1, 1, 2))):
        sales = round(rnd.uniform(0, 8000) * scale, 2)
        self_consumed = round(rnd.uniform(0, 1500), 2)
        cost = round(rnd.uniform(0.2, 0.7) * (sales + self_consumed), 2)
        if rnd.random() < 0.05:                       # a loss-making line
            cost = round((sales + self_consumed) * rnd.uniform(1.1, 2.0) + 500, 2)
        livestock.append({"name": rnd.choice(LIVESTOCK), "sales": sales,
                          "self_consumed": self_consumed, "cost": cost})
        net += sales + self_consumed - cost
    business = []
    if rnd.random() < 0.18:
        sales = round(rnd.uniform(2000, 30000) * scale, 2)
        services = round(rnd.uniform(0, 5000), 2)
        cost = round(rnd.uniform(0.3, 0.9) * (sales + services), 2)
        business.append({"name": rnd.choice(BUSINESS), "sales": sales, "services": services,
                         "cost": cost})
        net += sales + services - cost
    work = []
    for m in members:
        months = m.get("work_months") or 0
        if not months or m.get("status") != "present":
            continue
        if m.get("work_area") == "in_county":
            days = min(366, int(months * 22))
            wage = round(rnd.uniform(60, 150) * min(scale, 1.5), 2)
            line = {"worker": m["name"], "local_days": days, "local_daily_wage": wage,
                    "outside_months": 0, "outside_monthly_wage": 0, "in_kind": 0}
            net += days * wage
        else:
            wage = round(rnd.uniform(1500, 4500) * min(scale, 1.5), 2)
            in_kind = rnd.choice((0, 0, 300, 600))
            line = {"worker": m["name"], "local_days": 0, "local_daily_wage": 0,
                    "outside_months": months, "outside_monthly_wage": wage, "in_kind": in_kind}
            net += months * wage + in_kind
        work.append(line)
    inc.update(crops=crops, livestock=livestock, business=business, work=work)
    inc["dividend"] = rnd.choice((0, 0, 300, 500, 800)) if alleviated else rnd.choice((0, 0, 0, 300))
    inc["land_rent"] = rnd.choice((0, 0, 0, 600, 1500))
    inc["house_rent"] = rnd.choice((0, 0, 0, 0, 2400))
    inc["other_property"] = round(rnd.uniform(0, 800), 2) if rnd.random() < 0.2 else 0
    inc["family_planning"] = rnd.choice((0, 0, 0, 960))
    dibao = any(m.get("dibao") for m in members)
    inc["dibao_income"] = round(rnd.uniform(2400, 9000), 2) if dibao else 0
    tekun = any(m.get("tekun") for m in members)
    inc["tekun_income"] = round(rnd.uniform(5000, 9000), 2) if tekun else 0
    elderly = sum(1 for m in members if _age(m, on) >= 60)
    inc["pension_income"] = round(elderly * rnd.uniform(1300, 2200), 2)
    inc["eco_compensation"] = rnd.choice((0, 120, 180, 600))
    inc["other_transfer"] = round(rnd.uniform(0, 1200), 2) if rnd.random() < 0.4 else 0
    inc["claims_income"] = rnd.choice((0, 0, 0, 0, 0, 2000, 5000, 12000))
    transfers = sum(inc[k] for k in ("dividend", "land_rent", "house_rent", "other_property",
                                     "family_planning", "dibao_income", "tekun_income",
                                     "pension_income", "eco_compensation", "other_transfer"))
    net += transfers
    # last year's net income: mostly similar, sometimes clearly higher (a sharp drop this year)
    factor = rnd.choices((rnd.uniform(0.8, 1.15), rnd.uniform(1.45, 2.5)), (85, 15))[0]
    inc["previous_net_income"] = round(max(0.0, net) * factor, 2)
    return inc, net


def _age(m: dict, on: dt.date) -> int:
    b = dt.date.fromisoformat(m["birth_date"])
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def household(rnd: random.Random, i: int, unknown_share: float = 0.02) -> dict[str, Any]:
    on = COLLECTED_FROM + dt.timedelta(days=rnd.randrange(COLLECTED_DAYS))
    fragile = rnd.random() < 0.3
    alleviated = rnd.random() < 0.5
    members = _members(rnd, on, fragile)
    if (alleviated or fragile) and rnd.random() < 0.15:
        for m in members:
            m["dibao"] = True
    if len(members) == 1 and _age(members[0], on) >= 65 and rnd.random() < 0.3:
        members[0]["tekun"] = True
    scale = rnd.choices((0.25, 0.5, 0.8, 1.0, 1.5, 2.5), (10, 18, 22, 22, 16, 12))[0]
    if fragile:
        scale *= 0.6
    income, net = _income(rnd, members, scale, alleviated, on)
    county = rnd.choice(list(COUNTIES))
    h: dict[str, Any] = {
        "id": f"YX-{i:08d}",
        "members": members,
        "county": county,
        "town": rnd.choice(COUNTIES[county]),
        "village": rnd.choice(VILLAGES),
        "collected_on": _date(on),
        "alleviated": alleviated,
        "relocation_site_large": rnd.random() < 0.05,
        "monitoring_category": rnd.choices(("none", "unstable", "edge", "sudden"), (80, 9, 8, 3))[0],
    }
    h["guarantees"] = {"housing_unsafe": rnd.random() < 0.03, "dropout": rnd.random() < 0.01,
                       "water_unsafe": rnd.random() < 0.02}
    sudden = rnd.random() < (0.15 if fragile else 0.05)
    risk_types = []
    if rnd.random() < (0.45 if fragile else 0.2):
        risk_types = rnd.sample(["illness", "schooling", "disability", "natural_disaster",
                                 "accident", "industry_failure", "unstable_work",
                                 "lack_of_labour", "other"], rnd.choice((1, 1, 2)))
    risks: dict[str, Any] = {
        "risk_types": risk_types,
        "sudden_event": sudden,
        "industry_failure": rnd.random() < (0.1 if fragile else 0.03),
        "major_family_change": rnd.random() < 0.12,
        "weak_economic_base": rnd.random() < (0.35 if fragile else 0.08),
        "income_declining": rnd.random() < (0.3 if fragile else 0.08),
        "only_house_earthen": rnd.random() < 0.1,
        "has_industry_coverage": rnd.random() < 0.65,
        "lacks_internal_drive": rnd.random() < 0.07,
    }
    if "natural_disaster" in risk_types:
        risks["disaster_types"] = [rnd.choice(["flood", "geological", "drought", "biological",
                                               "meteorological", "earthquake", "other"])]
    h["risks"] = risks
    h["income"] = income
    rigid = []
    ill = sum(1 for m in members if m.get("health") in ("serious_illness", "chronic"))
    for _ in range(ill):
        if rnd.random() < 0.6:
            rigid.append({"kind": "medical", "cause": "illness",
                          "amount": round(rnd.choice((rnd.uniform(1000, 8000),
                                                      rnd.uniform(8000, 60000))), 2)})
    students = sum(1 for m in members if m.get("student_status") not in
                   (None, "not_student", "primary", "junior_secondary"))
    for _ in range(students):
        if rnd.random() < 0.5:
            rigid.append({"kind": "education", "cause": "schooling",
                          "amount": round(rnd.uniform(1500, 15000), 2)})
    if sudden and rnd.random() < 0.6:
        rigid.append({"kind": "other", "cause": rnd.choice(("disaster", "accident")),
                      "amount": round(rnd.uniform(3000, 40000), 2)})
    for r in rigid:
        r["date"] = _date(on - dt.timedelta(days=rnd.randrange(1, 360)))
    h["expenses"] = {"rigid_expenses": rigid}
    fixed = [{"name": rnd.choice(ASSETS),
              "original_value": rnd.choice((600, 1500, 3000, 4500, 8000, 15000, 30000)),
              "usable": rnd.random() < 0.9} for _ in range(rnd.choice((0, 0, 1, 1, 2, 3)))]
    vehicles = []
    if rnd.random() < 0.15:
        use = rnd.choices(("consumer", "production", "transport"), (60, 25, 15))[0]
        vehicles.append({"price": rnd.choice((8000, 25000, 30000, 45000, 90000, 150000)),
                         "purchase_date": _date(on - dt.timedelta(days=rnd.randrange(10, 1100))),
                         "use": use})
    h["assets"] = {"fixed_assets": fixed, "vehicles": vehicles,
                   "urban_property": rnd.random() < 0.02,
                   "registered_company_operating": rnd.random() < 0.012,
                   "large_grower_or_employer": rnd.random() < 0.015}
    h["conduct"] = {"head_relatives_public_servant": rnd.random() < 0.012,
                    "deliberate_split_merge": rnd.random() < 0.004,
                    "empty_registered_household": rnd.random() < 0.004,
                    "misconduct": rnd.random() < 0.004}
    eliminated = rnd.random() < 0.4
    h["elimination"] = {"risk_stably_eliminated": eliminated,
                        "income_stable": eliminated and rnd.random() < 0.85,
                        "guarantees_consolidated": rnd.random() < 0.9,
                        "consents_elimination": rnd.random() < 0.8}
    if eliminated and h["monitoring_category"] != "none" and rnd.random() < 0.5:
        h["elimination"]["elimination_method"] = rnd.choice(("assisted", "natural"))
        h["elimination"]["elimination_date"] = _date(on - dt.timedelta(days=rnd.randrange(1, 200)))
    h["system_entry_date"] = _date(on + dt.timedelta(days=rnd.randint(5, 40)))
    village = on + dt.timedelta(days=rnd.randint(1, 6))
    start = village + dt.timedelta(days=rnd.randint(0, 3))
    end = start + dt.timedelta(days=rnd.choice((2, 4, 6, 7, 7, 8, 9)))
    town = end + dt.timedelta(days=rnd.randint(1, 6))
    county_d = town + dt.timedelta(days=rnd.randint(1, 6))
    if rnd.random() < 0.03:                      # steps recorded out of order
        town, county_d = county_d, town
    h["procedure"] = {"village_review_date": _date(village), "publicity_start": _date(start),
                      "publicity_end": _date(end), "publicity_offline": rnd.random() < 0.97,
                      "publicity_online": rnd.random() < 0.93, "objections": rnd.random() < 0.05,
                      "town_review_date": _date(town), "county_review_date": _date(county_d)}
    if rnd.random() < unknown_share:
        _drop_one_fact(rnd, h)
    return h


# facts a real export sometimes lacks; dropping one makes the affected decisions "undetermined"
_DROPPABLE = [
    ("risks", "has_industry_coverage"), ("risks", "sudden_event"), ("income", "previous_net_income"),
    ("income", "claims_income"), ("assets", "urban_property"), ("conduct", "misconduct"),
    ("guarantees", "housing_unsafe"), (None, "alleviated"), ("member", "health"),
    ("member", "labour_skill"), ("member", "basic_medical_insurance"),
]


def _drop_one_fact(rnd: random.Random, h: dict) -> None:
    section, key = rnd.choice(_DROPPABLE)
    if section is None:
        h.pop(key, None)
    elif section == "member":
        rnd.choice(h["members"]).pop(key, None)
    else:
        h[section].pop(key, None)


def households(n: int, seed: int = 7, unknown_share: float = 0.02) -> list[dict[str, Any]]:
    """`n` household records, the same for the same (n, seed, unknown_share)."""
    rnd = random.Random(seed)
    return [household(rnd, i, unknown_share) for i in range(n)]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="print generated Yuxi household records as JSON")
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(json.dumps(households(args.n, args.seed), ensure_ascii=False, indent=2))
