"""The household record, modelled on the national information collection form (NAT-FORM, A1-A55).

Every field carries its Chinese label and, where the form has one, its form code; both are accepted
as aliases on input so that an export from the national system maps without hand-editing. A field
left out (or given as null) is *unknown*: the engine never reads it as 0 or False. Lists mirror the
form's tables (crops, work, fixed assets...): an empty list means the table was filled with no rows.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

# -- controlled values: canonical code -> Chinese label as printed on the form -------------------

SEX = {"male": "男", "female": "女"}
RELATION = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母",
            "grandchild": "孙子女", "sibling": "兄弟姐妹", "child_in_law": "儿媳/女婿",
            "grandparent": "祖父母", "other": "其他"}
STUDENT_STATUS = {"not_student": "非在校生", "preschool": "学前教育", "primary": "小学",
                  "junior_secondary": "初中", "senior_secondary": "高中",
                  "secondary_vocational": "中职", "higher_vocational": "高职",
                  "junior_college": "大专", "undergraduate": "本科", "postgraduate": "研究生"}
HEALTH = {"healthy": "健康", "chronic": "长期慢性病", "serious_illness": "患有大病",
          "disabled": "残疾"}
LABOUR_SKILL = {"skilled": "技能劳动力", "ordinary": "普通劳动力", "weak": "弱劳动力或半劳动力",
                "lost": "丧失劳动力", "none": "无劳动力"}
WORK_AREA = {"in_county": "县内", "in_province": "省内县外", "out_of_province": "省外",
             "abroad": "境外"}
PERSON_STATUS = {"present": "在户", "deceased": "死亡", "imprisoned": "服刑", "missing": "失踪"}
MONITORING_CATEGORY = {"none": "非监测对象", "unstable": "脱贫不稳定户", "edge": "边缘易致贫户",
                       "sudden": "突发严重困难户"}
RISK_TYPE = {"illness": "因病", "schooling": "因学", "disability": "因残",
             "natural_disaster": "因自然灾害", "accident": "因意外事故",
             "industry_failure": "因产业项目失败", "unstable_work": "因务工就业不稳",
             "lack_of_labour": "缺劳动力", "other": "其他"}
DISASTER_TYPE = {"flood": "洪涝灾害", "geological": "地质灾害", "drought": "旱灾",
                 "biological": "生物灾害（虫灾）", "meteorological": "气象灾害",
                 "earthquake": "地震灾害", "other": "其他"}
RIGID_KIND = {"education": "教育", "medical": "医疗", "other": "其他"}
RIGID_CAUSE = {"illness": "因病", "schooling": "因学", "disaster": "因灾", "accident": "因意外事故",
               "other": "其他"}
VEHICLE_USE = {"consumer": "消费型", "production": "生产用", "transport": "运输用"}
ELIMINATION_METHOD = {"assisted": "帮扶消除", "natural": "自然消除"}

ENUMS: dict[str, dict[str, str]] = {
    "sex": SEX, "relation": RELATION, "student_status": STUDENT_STATUS, "health": HEALTH,
    "labour_skill": LABOUR_SKILL, "work_area": WORK_AREA, "person_status": PERSON_STATUS,
    "monitoring_category": MONITORING_CATEGORY, "risk_type": RISK_TYPE,
    "disaster_type": DISASTER_TYPE, "rigid_kind": RIGID_KIND, "rigid_cause": RIGID_CAUSE,
    "vehicle_use": VEHICLE_USE, "elimination_method": ELIMINATION_METHOD,
}

# kinds of facts (the record schema and the expression type checker both read these)
MONEY, COUNT, NUMBER, BOOL, DATE, TEXT = "money", "count", "number", "bool", "date", "text"


def fact(kind: str, zh: str, *, code: str | None = None, enum: str | None = None,
         item: type | None = None, minimum: float | None = None, maximum: float | None = None,
         en: str = "", required: bool = False, derived_from: str | None = None) -> Any:
    """An attrs field that is unknown (None) unless given, with what the schema needs to know."""
    meta = {"kind": kind, "zh": zh, "code": code, "enum": enum, "item": item, "min": minimum,
            "max": maximum, "en": en, "required": required, "derived_from": derived_from}
    if required:
        return attrs.field(metadata=meta)
    return attrs.field(default=None, metadata=meta)


def money(zh: str, code: str | None = None, en: str = "") -> Any:
    """Yuan per year (CN-4), never negative; expenses are separate fields, not negative income."""
    return fact(MONEY, zh, code=code, minimum=0, en=en)


def flag(zh: str, code: str | None = None, en: str = "") -> Any:
    return fact(BOOL, zh, code=code, en=en)


# -- rows of the form's tables ---------------------------------------------------------------------

@attrs.frozen
class CropLine:
    """附件2 一/二: one product of crops, forestry, fishery or livestock."""
    name: str | None = fact(TEXT, "品种名称")
    sales: float | None = money("出售金额（元）")
    self_consumed: float | None = money("自产自消折价金额（元）")
    cost: float | None = money("成本支出（元）")


@attrs.frozen
class BusinessLine:
    """附件2 三: one product or service of secondary/tertiary industry."""
    name: str | None = fact(TEXT, "品种名称")
    sales: float | None = money("出售产品收入（元）")
    services: float | None = money("提供服务收入（元）")
    cost: float | None = money("成本支出（元）")


@attrs.frozen
class WorkLine:
    """附件2 四: one worker's wage income for the year."""
    worker: str | None = fact(TEXT, "务工人员姓名")
    local_days: float | None = fact(NUMBER, "本地年平均务工天数（天）", minimum=0, maximum=366)
    local_daily_wage: float | None = money("本地平均每天工资（元/天）")
    outside_months: float | None = fact(NUMBER, "外出年平均务工月数（月）", minimum=0, maximum=12)
    outside_monthly_wage: float | None = money("外出平均每月工资（元/月）")
    in_kind: float | None = money("实物补助折价（元/年）")


@attrs.frozen
class FixedAsset:
    """附件2 七: a productive fixed asset (生产性用房、圈舍、大棚、农机、役畜...)."""
    name: str | None = fact(TEXT, "资产名称")
    original_value: float | None = money("购买时原值（元）")
    usable: bool | None = flag("目前能否正常使用")


@attrs.frozen
class Vehicle:
    """A motor vehicle of the household (exclusion clauses on vehicles)."""
    price: float | None = money("购买价格（元）")
    purchase_date: dt.date | None = fact(DATE, "购买日期")
    use: str | None = fact(TEXT, "用途", enum="vehicle_use")


@attrs.frozen
class RigidExpense:
    """A large rigid expense actually paid by the household (刚性支出)."""
    kind: str | None = fact(TEXT, "支出类别", enum="rigid_kind")
    amount: float | None = money("金额（元）")
    date: dt.date | None = fact(DATE, "发生日期")
    cause: str | None = fact(TEXT, "原因", enum="rigid_cause")


@attrs.frozen
class SeparatedChild:
    """A child of the household who has set up a separate household (分户子女), with spouse."""
    name: str | None = fact(TEXT, "姓名")
    public_funded_or_soe_manager: bool | None = flag(
        "本人或配偶是否为机关、事业单位财政供养人员或在国有大中型企业担任中层及以上领导干部")
    company_with_employees: bool | None = flag("家庭成员是否注册公司、企业并雇佣他人从事经营性活动")
    company_income: float | None = money("所办公司、企业年收益（元）")
    strong_support_capacity: bool | None = flag("赡养能力是否强（经评议认定）")
    good_living_conditions: bool | None = flag("家庭生活生产条件是否较好（经评议认定）")


# -- the people ------------------------------------------------------------------------------------

@attrs.frozen
class Member:
    """A member of the household (form part 二, A5-A22, plus the facts the clauses ask about)."""
    name: str | None = fact(TEXT, "姓名", code="A5")
    sex: str | None = fact(TEXT, "性别", code="A6", enum="sex")
    id_number: str | None = fact(TEXT, "居民身份证号码", code="A7")
    relation: str | None = fact(TEXT, "与户主关系", code="A8", enum="relation")
    ethnicity: str | None = fact(TEXT, "民族", code="A9")
    political_status: str | None = fact(TEXT, "政治面貌", code="A10")
    education_level: str | None = fact(TEXT, "文化程度", code="A11")
    student_status: str | None = fact(TEXT, "在校生状况", code="A12", enum="student_status")
    health: str | None = fact(TEXT, "健康状况", code="A13", enum="health")
    disability_grade: int | None = fact(COUNT, "残疾等级", minimum=1, maximum=4)
    labour_skill: str | None = fact(TEXT, "劳动技能", code="A14", enum="labour_skill")
    work_area: str | None = fact(TEXT, "务工区域", code="A15", enum="work_area")
    work_months: float | None = fact(NUMBER, "务工时间（月）", code="A16", minimum=0, maximum=12)
    basic_medical_insurance: bool | None = flag("是否参加城乡居民（职工）基本医疗保险", "A17")
    serious_illness_insurance: bool | None = flag("是否参加大病保险", "A18")
    pension_insurance: bool | None = flag("是否参加城乡居民（职工）基本养老保险", "A19")
    dibao: bool | None = flag("是否享受农村最低生活保障", "A20")
    tekun: bool | None = flag("是否特困供养", "A21")
    relocated: bool | None = flag("是否易地扶贫搬迁（同步搬迁）", "A22")
    birth_date: dt.date | None = fact(DATE, "出生日期")
    age: int | None = fact(COUNT, "年龄（周岁）", minimum=0, maximum=130)
    status: str | None = fact(TEXT, "人员状态", enum="person_status")
    shares_income_expenses: bool | None = flag("是否与户主共享开支或收入")
    public_servant: bool | None = flag("是否国家公职人员")
    village_cadre_paid: bool | None = flag("是否任“村三委”干部并定期领取薪酬")
    disabled_elderly: bool | None = flag("是否失能老年人")
    has_legal_guardian: bool | None = flag("是否有法定监护人")
    has_legal_supporter: bool | None = flag("是否有法定赡养人")
    inpatient_self_pay: float | None = money("住院累计自付费用（元）")
    local: dict | None = fact("local", "本地补充事实（由政策包 local_facts 定义）")


# -- the parts of the household --------------------------------------------------------------------

@attrs.frozen
class Guarantees:
    """Form part 三: three guarantees and drinking water (A26 is derived from members' A17)."""
    housing_unsafe: bool | None = flag("是否住房出现安全问题", "A23")
    dropout: bool | None = flag("是否义务教育阶段适龄儿童少年失学辍学", "A24")
    water_unsafe: bool | None = flag("是否饮水出现安全问题", "A25")


@attrs.frozen
class Risks:
    """Form part 四 (A27, A27a) and the events and circumstances the clauses name."""
    risk_types: tuple[str, ...] | None = fact("list", "风险类型", code="A27", enum="risk_type")
    disaster_types: tuple[str, ...] | None = fact("list", "因自然灾害类型", code="A27a",
                                                  enum="disaster_type")
    sudden_event: bool | None = flag("是否遭受自然灾害、意外事故、重大疫情等突发事件")
    industry_failure: bool | None = flag("是否因不可抗因素发展产业失败")
    major_family_change: bool | None = flag("是否发生家庭重大变故导致生产生活严重困难")
    weak_economic_base: bool | None = flag("是否家庭经济基础薄弱、自身发展能力不足")
    income_declining: bool | None = flag("是否经济收入每况愈下")
    only_house_earthen: bool | None = flag("现居住唯一住房是否为土坯房")
    has_industry_coverage: bool | None = flag("是否有产业覆盖")
    lacks_internal_drive: bool | None = flag("是否内生动力不足")


@attrs.frozen
class Income:
    """Form part 五 (A28-A36) and the detail of Yuxi 附件2 (annual figures, yuan)."""
    wage_income: float | None = money("工资性收入（元）", "A28")
    production_income: float | None = money("生产经营性收入（元）", "A29")
    property_income: float | None = money("财产性收入（元）", "A30")
    transfer_income: float | None = money("转移性收入（元）", "A31")
    production_expense: float | None = money("生产经营性支出（元）", "A32")
    claims_income: float | None = money("理赔收入（元）", "A35")
    self_paid_expense: float | None = money("合规自付支出（元）", "A36")
    previous_net_income: float | None = money("上一年度家庭年纯收入（元）")
    crops: tuple[CropLine, ...] | None = fact("list", "种植业、林业、渔业产品", item=CropLine)
    livestock: tuple[CropLine, ...] | None = fact("list", "养殖业产品", item=CropLine)
    business: tuple[BusinessLine, ...] | None = fact("list", "二、三产业产品和服务",
                                                     item=BusinessLine)
    work: tuple[WorkLine, ...] | None = fact("list", "家庭成员务工", item=WorkLine)
    dividend: float | None = money("资产收益扶贫分红收入（元）")
    land_rent: float | None = money("转让承包土地经营权净租金（元）")
    house_rent: float | None = money("出租房屋净收入（元）")
    other_property: float | None = money("其他财产性收入（元）")
    family_planning: float | None = money("计划生育专项补助（元）")
    dibao_income: float | None = money("低保金（元）")
    tekun_income: float | None = money("特困供养金（元）")
    pension_income: float | None = money("养老保险金/离退休金（元）")
    eco_compensation: float | None = money("生态补偿金（元）")
    other_transfer: float | None = money("其他转移性收入（元）")


@attrs.frozen
class Expenses:
    """Large rigid expenses actually paid (education, medical, disaster...)."""
    rigid_expenses: tuple[RigidExpense, ...] | None = fact("list", "刚性支出", item=RigidExpense)


@attrs.frozen
class Assets:
    """Productive fixed assets and the assets the exclusion clauses check."""
    fixed_assets: tuple[FixedAsset, ...] | None = fact("list", "生产性固定资产", item=FixedAsset)
    vehicles: tuple[Vehicle, ...] | None = fact("list", "机动车", item=Vehicle)
    urban_property: bool | None = flag("是否在城镇拥有自建房、商品房、门面房或其他经营用房")
    registered_company_operating: bool | None = flag("是否在市场监管部门注册登记公司、企业并实际开展经营活动")
    large_grower_or_employer: bool | None = flag("是否种植、养殖大户或雇佣他人从事生产经营活动")


@attrs.frozen
class Conduct:
    """Identity and integrity facts from the county's joint review (联审)."""
    head_relatives_public_servant: bool | None = flag("户主的父母、配偶、子女是否有国家公职人员")
    deliberate_split_merge: bool | None = flag("是否为享受帮扶故意分户、并户")
    empty_registered_household: bool | None = flag("是否空挂户")
    misconduct: bool | None = flag("是否存在优亲厚友、弄虚作假、徇私舞弊、信息失真或纳入失信惩戒")


@attrs.frozen
class Elimination:
    """Risk elimination (A53-A54) and the facts the elimination clause requires."""
    risk_stably_eliminated: bool | None = flag("返贫致贫风险是否已稳定消除")
    income_stable: bool | None = flag("收入是否持续稳定")
    guarantees_consolidated: bool | None = flag("“两不愁三保障”是否持续巩固")
    consents_elimination: bool | None = flag("农户是否同意标注风险消除")
    elimination_method: str | None = fact(TEXT, "风险消除方式", code="A53",
                                          enum="elimination_method")
    elimination_date: dt.date | None = fact(DATE, "风险消除时间", code="A54")


@attrs.frozen
class Procedure:
    """The identification procedure as carried out (dates of each step)."""
    village_review_date: dt.date | None = fact(DATE, "村级评议日期")
    publicity_start: dt.date | None = fact(DATE, "村级公示开始日期")
    publicity_end: dt.date | None = fact(DATE, "村级公示结束日期")
    publicity_offline: bool | None = flag("是否在村民小组公开场所公示")
    publicity_online: bool | None = flag("是否在网络渠道公示")
    objections: bool | None = flag("公示期间是否有举报")
    town_review_date: dt.date | None = fact(DATE, "乡镇审核日期")
    county_review_date: dt.date | None = fact(DATE, "县级确定日期")


@attrs.frozen
class Household:
    """One household (户), the unit of every decision (CN-5)."""
    id: str = fact(TEXT, "户编号", required=True)
    members: tuple[Member, ...] = fact("list", "家庭成员", item=Member, required=True)
    county: str | None = fact(TEXT, "县（市、区）")
    town: str | None = fact(TEXT, "乡（镇、街道）")
    village: str | None = fact(TEXT, "村（社区）")
    collected_on: dt.date | None = fact(DATE, "采集时点", en="date the information was collected")
    alleviated: bool | None = flag("脱贫户", "A4")
    relocation_site_large: bool | None = flag("居住在大中型易地扶贫搬迁集中安置区（800人以上）", "A1")
    monitoring_category: str | None = fact(TEXT, "监测对象类别", code="A3",
                                           enum="monitoring_category")
    system_entry_date: dt.date | None = fact(DATE, "录入全国防返贫监测信息系统日期")
    guarantees: Guarantees = attrs.field(factory=Guarantees, metadata={"section": "三保障和饮水安全状况"})
    risks: Risks = attrs.field(factory=Risks, metadata={"section": "风险与变故"})
    income: Income = attrs.field(factory=Income, metadata={"section": "收入"})
    expenses: Expenses = attrs.field(factory=Expenses, metadata={"section": "支出"})
    assets: Assets = attrs.field(factory=Assets, metadata={"section": "资产"})
    conduct: Conduct = attrs.field(factory=Conduct, metadata={"section": "身份与诚信核查"})
    separated_children: tuple[SeparatedChild, ...] | None = fact("list", "分户子女",
                                                                 item=SeparatedChild)
    local: dict | None = fact("local", "本地补充事实（由政策包 local_facts 定义）")
    elimination: Elimination = attrs.field(factory=Elimination, metadata={"section": "风险消除"})
    procedure: Procedure = attrs.field(factory=Procedure, metadata={"section": "识别程序"})


SECTIONS: dict[str, type] = {
    "guarantees": Guarantees, "risks": Risks, "income": Income, "expenses": Expenses,
    "assets": Assets, "conduct": Conduct, "elimination": Elimination, "procedure": Procedure,
}
