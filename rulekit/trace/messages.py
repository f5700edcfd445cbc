"""Every engine-generated phrase, in Chinese and English, in one place.

Rule labels stay in the pack's own language; only the engine's own words live here.
"""
from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "decided": {"zh": "已决定", "en": "decided"},
    "needs_review": {"zh": "需人工研判", "en": "needs review"},
    "undetermined": {"zh": "无法确定（事实不足）", "en": "undetermined (facts missing)"},
    "fired": {"zh": "成立", "en": "holds"},
    "not_fired": {"zh": "不成立", "en": "does not hold"},
    "unknown": {"zh": "未知", "en": "unknown"},
    "overridden": {"zh": "成立但被例外排除", "en": "holds but cancelled by an exception"},
    "applied": {"zh": "适用", "en": "applies"},
    "not_applied": {"zh": "不适用", "en": "does not apply"},
    "household": {"zh": "户", "en": "Household"},
    "pack": {"zh": "政策包", "en": "Pack"},
    "as_of": {"zh": "评估日期", "en": "as of"},
    "reference_date": {"zh": "参照时点", "en": "reference date"},
    "period": {"zh": "收入计算周期", "en": "income period"},
    "outcome": {"zh": "结果", "en": "Outcome"},
    "outcomes": {"zh": "成立的结果", "en": "Outcomes that hold"},
    "none": {"zh": "（无）", "en": "(none)"},
    "because": {"zh": "依据", "en": "Because"},
    "missing": {"zh": "缺少以下事实，补充后可以决定", "en": "Missing facts that would decide it"},
    "review": {"zh": "人工研判要点", "en": "For the reviewer"},
    "not_matched": {"zh": "在此之前不成立的结果", "en": "Outcomes tried before, not matched"},
    "blocked": {"zh": "无法判断的结果", "en": "Outcome that cannot be decided yet"},
    "pending": {"zh": "尚不能判断的结果", "en": "Outcomes not yet decidable"},
    "rule": {"zh": "规则", "en": "rule"},
    "override": {"zh": "例外", "en": "exception"},
    "group": {"zh": "规则组", "en": "rule group"},
    "computed": {"zh": "计算值", "en": "computed"},
    "parameter": {"zh": "参数", "en": "parameter"},
    "fact": {"zh": "事实", "en": "fact"},
    "builtin": {"zh": "时点", "en": "date"},
    "decision": {"zh": "决定", "en": "decision"},
    "member_facts": {"zh": "成员事实", "en": "member facts"},
    "cancelled_by": {"zh": "被以下例外排除", "en": "cancelled by"},
    "in_force_from": {"zh": "自{date}起施行", "en": "in force from {date}"},
    "origin": {"zh": "来源", "en": "from"},
    "members_hit": {"zh": "涉及成员", "en": "members concerned"},
    "condition": {"zh": "条件", "en": "condition"},
    "formula": {"zh": "公式", "en": "formula"},
    "unknown_value": {"zh": "未知（缺少：{facts}）", "en": "unknown (missing: {facts})"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "see_above": {"zh": "（见上）", "en": "(see above)"},
    "engine": {"zh": "引擎版本", "en": "engine"},
    "unplaced": {"zh": "因事实不足无法归组或判断是否计入的户",
                 "en": "Households that could not be placed (facts missing)"},
    "invalid": {"zh": "无法评估的记录", "en": "Records that could not be evaluated"},
    "local_choice": {"zh": "本地确定（原文未规定）", "en": "local choice (not in the source)"},
}


def t(key: str, lang: str = "zh", **kw: str) -> str:
    """The phrase `key` in `lang` ("zh" or "en")."""
    return MESSAGES[key][lang].format(**kw) if kw else MESSAGES[key][lang]
