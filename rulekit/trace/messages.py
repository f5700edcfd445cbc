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


# -- problems with packs, records and expressions: English sentence pattern -> Chinese -------------
# The English message is built where the problem is found ("leaf says what"); its Chinese text is
# found here by pattern, so every user-facing sentence has both languages in this one module.
# A test runs every broken-pack fixture and asserts each message has a Chinese text.
import re as _re  # noqa: E402

_R = r"'(?P<{0}>[^']*)'"
PROBLEM_ZH: list[tuple[str, str]] = [
    (r"name 'N' is not defined \(did you mean 'S'\?\)", "名称 {N} 未定义（是否想写 {S}？）"),
    (r"name 'N' is not defined", "名称 {N} 未定义；请检查拼写，或先在参数、计算值、规则中定义它"),
    (r"duplicate key 'K' \(first written on line (?P<L>\d+)\); keep one of them",
     "键 {K} 重复（第 {L} 行已写过）；请只保留一个"),
    (r"unknown key (?P<X>.+); allowed keys here: (?P<A>.+)", "未知的键 {X}；此处允许的键：{A}"),
    (r"'K' is required here", "此处必须写 {K}"),
    (r"must be one of (?P<A>.+) \(got (?P<G>.+)\)", "必须是 {A} 之一（现在是 {G}）"),
    (r"must be a date written YYYY-MM-DD \(got (?P<G>.+)\)", "必须是 YYYY-MM-DD 格式的日期（现在是 {G}）"),
    (r"must be (?P<T>\S+) \(got (?P<G>.+)\)", "类型必须是 {T}（现在是 {G}）"),
    (r"must not be empty", "不能为空"),
    (r"'C' is not a catalogue id; cite ids such as YX-F1 or NAT-LINE",
     "{C} 不是需求目录编号；请引用如 YX-F1、NAT-LINE 这样的编号"),
    (r"'C' is not a valid name: use letters, digits and _ starting with a letter",
     "{C} 不是有效的名称：只能用字母、数字和下划线，并以字母开头"),
    (r"cites 'C', which is not in the requirements catalogue \(did you mean 'S'\?\)",
     "引用的 {C} 不在需求目录中（是否想写 {S}？）"),
    (r"cites 'C', which is not in the requirements catalogue", "引用的 {C} 不在需求目录中"),
    (r"(?P<W>[\w ]+) 'N' has the name of an existing (?P<K>[\w ]+); choose another name",
     "{W} {N} 与已有的{K}同名；请换一个名称"),
    (r"(?P<W>[\w ]+) 'N' is defined twice \(also at (?P<A>.+)\)", "{W} {N} 定义了两次（另一处在 {A}）"),
    (r"cancels rule 'R', which the pack does not define(?P<H>.*)", "排除的规则 {R} 在本包中没有定义{H}"),
    (r"member value 'N' clashes with an existing name; choose another", "成员计算值 {N} 与已有名称冲突；请换一个名称"),
    (r"local fact 'N' has the name of a fact of the household record; use that fact instead",
     "本地事实 {N} 与全国采集表中的事实同名；请直接使用该事实"),
    (r"parameter 'N' has two values from the same date; keep one value per effective date",
     "参数 {N} 在同一生效日期有两个取值；每个生效日期只保留一个"),
    (r"parameter 'N' mixes kinds of values over time \((?P<K>.+)\); keep one kind",
     "参数 {N} 的取值类型前后不一（{K}）；请统一"),
    (r"outcome id 'O' is used twice in decision 'D'", "结果编号 {O} 在决定 {D} 中用了两次"),
    (r"outcome 'O' has no 'when', so it always matches and the outcomes after it can never be "
     r"reached; give it a 'when' or move it last",
     "结果 {O} 没有写 when，总是成立，它后面的结果永远不会被选中；请给它写 when，或把它移到最后"),
    (r"outcome 'O' of a collect decision needs a 'when'", "列出全部结果的决定中，结果 {O} 必须写 when"),
    (r"outcome 'O' needs review: say what a person must look at in 'review:'",
     "结果 {O} 需要人工研判：请在 review: 中写明要核实的内容"),
    (r"these definitions depend on each other in a cycle: (?P<C>.+); break the cycle",
     "这些定义互相依赖、形成循环：{C}；请打破循环"),
    (r"report values depend on each other in a cycle: (?P<C>.+)", "报表中的值互相依赖、形成循环：{C}"),
    (r"row (?P<I>\d+) \((?P<L>.*)\) has column 'C', which the table does not declare \(columns: (?P<A>.+)\)",
     "第 {I} 行（{L}）用了未声明的列 {C}（已声明的列：{A}）"),
    (r"row (?P<I>\d+) \((?P<L>.*)\) cell (?P<C>\w+): 'V' is not a measure or computed value of report 'R'",
     "第 {I} 行（{L}）{C} 列：{V} 不是报表 {R} 的统计量或计算值"),
    (r"YAML syntax error: (?P<E>.+); indent with spaces, not tabs", "YAML 语法错误：{E}；请用空格缩进，不要用制表符"),
    (r"YAML syntax error: (?P<E>.+)", "YAML 语法错误：{E}"),
    (r"the file is not UTF-8 text (?P<E>.+); save it as UTF-8", "文件不是 UTF-8 编码 {E}；请另存为 UTF-8"),
    (r"file is (?P<B>[\d,]+) bytes; a pack file may be at most (?P<M>[\d,]+) bytes \(split it with extends\)",
     "文件有 {B} 字节；政策包文件最多 {M} 字节（可用 extends 拆分）"),
    (r"the file expands to more than (?P<M>[\d,]+) values .*", "文件展开后超过 {M} 个值（锚点和别名每用一次都计数），疑似别名炸弹"),
    (r"nested more than (?P<M>\d+) levels deep", "嵌套超过 {M} 层"),
    (r"tag 'T' is not allowed in a pack; write plain data", "政策包中不允许使用标签 {T}；请只写普通数据"),
    (r"merge keys \(<<\) are not allowed in a pack; write the keys out", "政策包中不允许合并键（<<）；请把键逐个写出"),
    (r"write a date as YYYY-MM-DD, without a time", "日期请写成 YYYY-MM-DD，不带时间"),
    (r"'V' is not a real date \((?P<E>.+)\); write a date as YYYY-MM-DD", "{V} 不是真实存在的日期（{E}）；日期请写成 YYYY-MM-DD"),
    (r"cannot read this value: (?P<E>.+)", "无法读取这个值：{E}"),
    (r"a key must be plain text", "键必须是普通文字"),
    (r"extends forms a cycle: (?P<C>.+)", "extends 形成循环：{C}"),
    (r"no pack 'P': give a bundled pack id \((?P<A>.*)\), a directory holding pack.yaml, or a YAML file",
     "没有政策包 {P}：请给出内置政策包编号（{A}）、含 pack.yaml 的目录或 YAML 文件"),
    (r"pack 'P' has no parameter 'N'(?P<H>.*)", "政策包 {P} 没有参数 {N}{H}"),
    (r"this file overrides pack 'P', not 'Q'", "本文件覆盖的是政策包 {P}，不是 {Q}"),
    (r"each value needs 'from' \(a date\) and 'value'", "每个取值都要写 from（日期）和 value"),
    (r"syntax error: (?P<E>.+) \(at character (?P<C>.+)\)", "表达式语法错误：{E}（第 {C} 个字符处）"),
    (r"cannot compare (?P<A>.+) \((?P<X>.+)\) with (?P<B>.+) \((?P<Y>.+)\)", "不能比较{A}（{X}）与{B}（{Y}）"),
    (r"(?P<W>\S+) needs (?P<A>.+) but 'X' is (?P<B>.+)", "{W} 需要{A}，但 {X} 是{B}"),
    (r"'V' is not a value of (?P<E>[\w.]+) \(did you mean 'S'\?\); allowed: (?P<A>.+)",
     "{V} 不是 {E} 的取值（是否想写 {S}？）；允许的取值：{A}"),
    (r"'V' is not a value of (?P<E>[\w.]+); allowed: (?P<A>.+)", "{V} 不是 {E} 的取值；允许的取值：{A}"),
    (r"function 'F' is not available(?P<H>.*?); the functions are: (?P<A>.+)", "没有函数 {F}{H}；可用的函数：{A}"),
    (r"(?P<F>\w+)\(\) takes (?P<N>\d+) argument\(s\) \(got (?P<G>\d+)\): (?P<D>.+)",
     "{F}() 需要 {N} 个参数（现在是 {G} 个）：{D}"),
    (r"a list may hold only constants, e\.g\. (?P<E>.+)", "列表中只能写常量，例如 {E}"),
    (r"'in' needs a list on its right, e\.g\. (?P<E>.+) \(got (?P<G>.+)\)", "in 的右边必须是列表，例如 {E}（现在是 {G}）"),
    (r"yes/no values can only be compared with == or !=", "是/否的值只能用 == 或 != 比较"),
    (r"both branches of 'x if c else y' must have one type \(got (?P<A>.+) and (?P<B>.+)\)",
     "“x if c else y”的两个分支类型必须相同（现在是{A}和{B}）"),
    (r"this expression must give (?P<A>.+) but gives (?P<B>.+): (?P<S>.+)", "此表达式应得到{A}，实际得到{B}：{S}"),
    (r"expression is (?P<N>\d+) characters long; at most (?P<M>\d+) are allowed .*",
     "表达式有 {N} 个字符，最多 {M} 个；请拆成几个计算值"),
    (r"expression has more than (?P<M>\d+) parts; split it into computed values", "表达式超过 {M} 个部分；请拆成几个计算值"),
    (r"expression is nested more than (?P<M>\d+) levels deep", "表达式嵌套超过 {M} 层"),
    (r"attribute access \(a\.b\) is not part of the language.*", "表达式语言不支持属性访问（a.b）；请直接写事实的名称"),
    (r"indexing \(a\[i\]\) is not part of the language.*", "表达式语言不支持下标（a[i]）；请对列表用 count/any/sum"),
    (r"comprehensions are not part of the language.*", "表达式语言不支持推导式；请对列表用 count/any/sum"),
    (r"(?P<W>.+) is not part of the language(?P<R>.*)", "表达式语言不支持 {W}{R}"),
    (r"only the language's own functions can be called \(got (?P<G>.+)\)", "只能调用表达式语言自带的函数（现在是 {G}）"),
    (r"functions take positional arguments only", "函数只接受按位置写的参数"),
    (r"(?P<X>.+) is combined with (?P<Y>.+): the units differ.*", "{X} 与 {Y} 单位不同"),
    (r"an override file has keys .*", "参数覆盖文件只能有 overrides_for、issued_by、note、parameters 这几个键"),
    (r"write the new values as .*", "请把新取值写成 values: [{from: YYYY-MM-DD, value: ..., source: ...}]"),
    (r"a pack file must be a mapping with at least a 'pack:' section", "政策包文件必须是映射，并且至少有 pack: 一节"),
]
_COMPILED = [(_re.compile("^" + _re.sub(r"'([A-Z])'", lambda m: _R.format(m.group(1)), p) + "$"), zh)
             for p, zh in PROBLEM_ZH]


_WORDS_ZH = {"a number": "数值", "a yes/no value": "是/否值", "text": "文字", "a date": "日期",
             "a value of ": "取值属于 ", "a whole number": "整数", "a list": "列表",
             "computed value": "计算值", "parameter": "参数", "rule group": "规则组", "rule": "规则",
             "override": "例外", "decision": "决定", "fact": "事实", "member field": "成员事实"}


def _zh_words(text: str) -> str:
    for en, zh in _WORDS_ZH.items():
        if text == en or text.startswith(en):
            return zh + text[len(en):]
    return text


def problem_zh(message: str) -> str | None:
    """The Chinese text of an English problem sentence, or None when the catalogue lacks it."""
    for pattern, zh in _COMPILED:
        m = pattern.match(message)
        if m:
            return zh.format(**{k: _zh_words(v or "") for k, v in m.groupdict().items()})
    return None
