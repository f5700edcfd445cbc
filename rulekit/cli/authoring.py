"""`rulekit new`: scaffold a pack that `rulekit check` and `rulekit test` accept as it is written.

The pack file explains each section in Chinese and holds a small working example (a dated
threshold, a computed income, a rule, a decision with a review outcome); the other sections
(exclusions with an exception, focus categories, local facts, input checks, a report) are examples
commented out at their place, which staff enable by uncommenting them (Ctrl+/ in VS Code). The
tests folder holds one base household and one case; README.md is a stub for the source document.
The templates mark example lines with a leading `?`: `render_pack(..., examples=True)` gives the
file with every example enabled, which the tests load too, so no example can rot.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sys
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from rulekit.errors import PackError, Problem
from rulekit.trace.messages import t

if TYPE_CHECKING:
    from rulekit.engine.pack import Pack

PACK_ID = re.compile(r"^[a-z][a-z0-9_]*$")
EXAMPLE_DATE = "2024-06-30"      # the example household's collection date (parameters of that day)


def register(sub: Any) -> None:
    nw = sub.add_parser("new", help="scaffold a new pack: pack.yaml with each section explained and "
                                    "examples, tests/example.yaml, and a README for the source document")
    nw.add_argument("pack_id", metavar="PACK_ID", help="the new pack's id: lowercase letters, digits and _, "
                                                       "e.g. yuxi_2024; also the directory name")
    nw.add_argument("--locality", required=True, help="the locality, e.g. 玉溪市")
    nw.add_argument("--document", required=True, help="the title of the source document")
    nw.add_argument("--dir", type=pathlib.Path, default=pathlib.Path("policies"),
                    help="where to create PACK_ID/ (default: policies)")
    nw.add_argument("--extends", default="national",
                    help="the base pack (default: national); another pack's id to start a new year's "
                         "notice from it; none for no base")
    nw.add_argument("--lang", choices=["zh", "en"], default=None,
                    help="language of the messages (default: zh when the locale is Chinese)")
    nw.set_defaults(handler=new_command)


# -- templates ------------------------------------------------------------------------------------
# `{{name}}` is filled in; a line starting with `?` is an example, written commented out.

# the lines every scaffolded pack starts with (after its own introduction)
_METADATA = """\
# 每改一处运行：rulekit check {{path}}      全部问题，带 文件:行:列 和改法
#               rulekit test {{path}}       运行 tests/ 中的用例
# 编写指南：docs/编写指南.md。在 VS Code 中把鼠标停在键上可看到它的说明。

pack:
  id: {{id}}
  version: "0.1.0"
  locality: {{locality}}
  title: {{document}}
?  number: 某扶发〔2024〕1号            # 文号
?  issuer: 某县乡村振兴局              # 发文机关
?  issued: 2024-01-01                 # 发文日期，写成 YYYY-MM-DD
"""

PACK_TEMPLATE = """\
# yaml-language-server: $schema={{schema}}
# {{locality}}防止返贫动态监测和帮扶政策包：{{document}}
#
# 由 rulekit new 生成。每一节先说明写法，再给出一个可用的例子；以“# ”开头的示例整段选中后按
# Ctrl+/（取消注释）即可启用，再把其中的名称、数值、原文和需求目录编号改成本地文件的。
""" + _METADATA + """\
?  source: {{id}}.txt                 # 政策原文文件名
{{extends_line}}\
  reference_date: collected_on   # 年龄、在校生等状态按采集日期判断；原文规定了时点的写日期，如 2023-09-30
?  income_period:                 # 收入计算周期；原文规定了起止日期的写 start: 和 end:
?    months: 12
?    label: 收入计算周期为采集时点起往前12个月
?    cites: [NAT-FORM]            # 换成本地条款的需求目录编号

# -- 本地补充事实：全国信息采集表之外本地需要的事实；记录中写在 local: 下，如 local: {farmer_signed: true}
?local_facts:
?  farmer_signed:
?    label: 农户是否已签字确认
?    type: bool
?    cites: [NAT-FORM]

# -- 参数：原文中的每个数值一个参数（名称、单位、出处、按生效日期排列的取值）。
#    规则和公式只写参数名。调整阈值时在 values 末尾加一行新日期的取值，不改旧的取值。
parameters:
  monitoring_line:
    label: 监测底线（以脱贫攻坚期国定扶贫标准的1.5倍为底线）
    unit: 元/人/年
    cites: [NAT-LINE]
    values:
      - {from: 2020-01-01, value: 6000, source: 以脱贫攻坚期国定扶贫标准的1.5倍(2020年为6000元)为底线}
?  elder_age_min:
?    label: 老年人年龄（60周岁以上，含60周岁）
?    unit: 周岁
?    cites: [NAT-CATS]            # 换成本地条款的需求目录编号
?    values:
?      - {from: 2020-01-01, value: 60, source: 60周岁以上且无法定赡养人}

# -- 计算值：公式。名称可在规则和其他公式中使用，结果和公式会出现在依据链中。
computed:
  net_income:
    label: 家庭年纯收入（工资性+生产经营性+财产性+转移性收入-生产经营性支出，采集表A33）
    formula: wage_income + production_income + property_income + transfer_income - production_expense
    unit: 元/年
    cites: [NAT-FORM]
  household_size:
    label: 家庭人口数
    formula: count(members)
    unit: 人
    cites: [NAT-FORM]
  per_capita_net:
    label: 家庭年人均纯收入（年纯收入÷家庭人口数，采集表A34）
    formula: net_income / household_size
    unit: 元/人/年
    cites: [NAT-FORM]
?  elder_without_supporter:       # per: members：对每个家庭成员分别计算
?    per: members
?    label: 60周岁以上且无法定赡养人
?    formula: age >= elder_age_min and not has_legal_supporter
?    cites: [NAT-CATS]

# -- 录入核验：记录必须满足的条件；确定不成立时该记录为录入错误，不作决定。
?checks:
?  TRANSFER_SUB_ITEMS:
?    label: 转移性收入：分项之和应等于转移性收入（A31）
?    must: >-
?      round(transfer_income - (family_planning + dibao_income + tekun_income
?                               + pension_income + eco_compensation + other_transfer), 2) == 0
?    cites: [NAT-FORM]

# -- 规则：按原文分组，label 照抄原文，when 写条件，cites 写需求目录编号。
#    界限（CN-1）：以上、以下、以内含本数，写 >=、<=；超过、低于、高于不含本数，写 >、<。
rules:
  criteria:
    label: 监测范围
    rules:
      LOW:
        label: 家庭年人均纯收入低于监测底线
        when: per_capita_net < monitoring_line
        cites: [NAT-LINE]
?  focus:
?    label: 重点关注的农户
?    rules:
?      F_ELDER:
?        label: 60周岁以上且无法定赡养人的农户
?        when: count(members, elder_without_supporter) >= 1
?        cites: [NAT-CATS]
?  exclusion:
?    label: 识别时有下列情形的不得纳入
?    rules:
?      X_PUBLIC:
?        label: 有家庭成员为国家公职人员的
?        when: any(members, public_servant)
?        cites: [NAT-CATS]
?      X_URBAN:
?        label: 在城镇拥有自建房或购买商品房的
?        when: urban_property
?        cites: [NAT-CATS]

# -- 例外：原文“……的除外”“但……的，要综合研判”。when 成立时 cancels 中的规则不再成立。
?overrides:
?  X_EXCEPT:
?    label: 有第2种情形但因家庭重大变故导致生产生活严重困难的，综合研判开展识别
?    when: major_family_change
?    cancels: [X_URBAN]
?    cites: [NAT-CATS]

# -- 决定：要回答的问题。hit: first 依次判断、取第一个成立的结果（最后一个可不写 when）；
#    hit: collect 列出全部成立的结果。原文要求综合研判的，status 写 needs_review 并在 review 写明要核实什么。
decisions:
  monitoring:
    label: 是否纳入防止返贫动态监测及监测对象类别
    hit: first
    cites: [NAT-CATS]
    outcomes:
?      - id: excluded             # 与上面的 exclusion 规则组一起启用
?        label: 不得纳入监测
?        when: exclusion
?        status: decided
?        cites: [NAT-CATS]
?      - id: exclusion_review     # 与上面的 overrides 一起启用
?        label: 有不得纳入情形但家庭发生重大变故：综合研判后识别
?        when: X_EXCEPT
?        status: needs_review
?        review: 核实家庭重大变故是否导致生产生活严重困难、存在返贫致贫风险，综合研判。
?        cites: [NAT-CATS]
      - id: unstable
        label: 脱贫不稳定户
        when: alleviated and LOW
        status: decided
        cites: [NAT-CATS]
      - id: edge
        label: 边缘易致贫户
        when: not alleviated and LOW
        status: decided
        cites: [NAT-CATS]
      - id: sudden
        label: 突发严重困难户（经综合研判，按程序纳入）
        when: sudden_event
        status: needs_review
        review: 核实突发事件是否导致基本生活出现严重困难，综合研判后按程序纳入。
        cites: [NAT-CATS]
      - id: not_monitored
        label: 不纳入监测
        status: decided
        cites: [NAT-CATS]
?  focus_categories:              # 与上面的 focus 规则组一起启用
?    label: 重点关注的农户类别
?    hit: collect
?    cites: [NAT-CATS]
?    outcomes:
?      - {id: F_ELDER, label: 60周岁以上且无法定赡养人的农户, when: F_ELDER, status: decided,
?         cites: [NAT-CATS]}

# -- 人群汇总报表：对一批农户计数、求和，按乡镇等分组；用 rulekit report 运行。
?reports:
?  by_town:
?    label: 各乡镇人均纯收入低于监测底线的户数、人数
?    cites: [NAT-LINE]
?    group_by: [town]
?    measures:
?      households: {label: 户数, count: true, unit: 户}
?      low_h: {label: 低于监测底线的户数, count: LOW, unit: 户}
?      low_p: {label: 低于监测底线的人数, sum: "household_size if LOW else 0", unit: 人}
"""

# a pack that extends another locality's pack (e.g. a new year's notice) starts empty
EXTENDING_TEMPLATE = """\
# yaml-language-server: $schema={{schema}}
# {{locality}}防止返贫动态监测和帮扶政策包：{{document}}
#
# 由 rulekit new 生成。本包继承政策包 {{extends}} 的全部参数、计算值、规则和决定；
# 只写本文件改动的部分：同名的条目替换基础包的条目，同名的规则组则加入本包写的规则。
""" + _METADATA + """\
  extends: {{extends}}

# -- 参数：新文件改了哪个数值，就在这里写出那个参数（名称、单位、出处与基础包相同），
#    保留原来的取值，再加一行新日期的取值（已作出的决定才能复现）。例如：
{{parameter_example}}

# -- 规则：在基础包的规则组中加一条规则，写出组名、组的 label 和新规则；改一条规则，写出同一编号。
#    规则、计算值、决定的写法见编写指南，或用 rulekit new 另建一个不继承的包参看其中的示例。
"""

TESTS_TEMPLATE = """\
# {{id}} 政策包的测试用例。运行：rulekit test {{path}}
# 每个用例从一个基准户（bases）出发，用 set 改几个字段（路径如 income.wage_income、members[0].health），
# 再写出政策包应给出的答案（expect）：决定的结果和状态、成立或不成立的规则、计算值。
# 每个阈值至少写三个用例：恰在界限上、略低于、略高于（CN-1）。cites 写用例检验的需求目录编号。
bases:
  example_household:
    id: {{id_upper}}-EXAMPLE-0001
    county: {{locality}}
    town: 示例镇
    village: 示例村
    collected_on: {{date}}
    alleviated: false
    monitoring_category: 非监测对象
    members:
      - {name: 张建国, relation: 户主, sex: 男, birth_date: 1975-05-01, health: 健康,
         labour_skill: 普通劳动力, student_status: 非在校生, public_servant: false, has_legal_supporter: true}
      - {name: 李秀兰, relation: 配偶, sex: 女, birth_date: 1977-08-15, health: 健康,
         labour_skill: 普通劳动力, student_status: 非在校生, public_servant: false, has_legal_supporter: true}
      - {name: 张小明, relation: 子女, sex: 男, birth_date: 2008-03-02, health: 健康,
         labour_skill: 无劳动力, student_status: 高中, public_servant: false, has_legal_guardian: true}
    income:
      wage_income: 12000
      production_income: 5000
      property_income: 0
      transfer_income: 0
      production_expense: 2000
    risks:
      sudden_event: false
      major_family_change: false
    assets:
      urban_property: false

cases:
  - id: example-edge
    title: 一般农户人均纯收入 (12000+5000-2000)÷3 = 5000元，低于监测底线6000元：边缘易致贫户
    cites: [NAT-LINE, NAT-CATS]
    base: example_household
    expect:
      fired: [LOW]
      values: {net_income: 15000, per_capita_net: 5000}
      decisions:
        monitoring: {outcome: edge, status: decided}
?  - id: example-at-line
?    title: 人均纯收入 (15000+5000-2000)÷3 恰为6000元，不低于监测底线（“低于”不含本数）：不纳入监测
?    cites: [NAT-LINE]
?    base: example_household
?    set: {income.wage_income: 15000}
?    expect:
?      not_fired: [LOW]
?      decisions: {monitoring: not_monitored}
"""

README_TEMPLATE = """\
# {{locality}}政策包 `{{id}}`

依据：《{{document}}》

- 文号：（待填）
- 发文机关：（待填）
- 发文日期：（待填）
- 政策原文：（待填：原文文件名；写入 `pack.yaml` 的 `pack.source`）
- 继承：{{extends_text}}

## 条款与政策包条目对照

每条规则用 `cites` 引用需求目录（`policies/catalogue.yaml`）的编号，依据链中会附上目录里的原文摘录。
本文件的条款要先在需求目录中登记（编号、条款位置、原文摘录、类别），再在政策包中引用；
登记前先引用全国条目（NAT-LINE 监测底线、NAT-CATS 监测对象类别、NAT-FORM 信息采集表），并在下表中注明。

| 原文条款 | 需求目录编号 | 政策包条目 | 测试用例 |
| --- | --- | --- | --- |
{{table}}

## 本地确定的数值和口径（CN-3）

原文没有给出的数值或定义，写成参数，在 `local_choice` 中说明取值和理由，并列在这里：

- （暂无）

## 检查、测试、发布

```bash
rulekit check {{path}}          # 全部问题，带 文件:行:列 和改法
rulekit test {{path}}           # 运行 tests/ 中的用例
rulekit doc {{path}} -o 政策手册.html   # 政策手册：逐条与原文核对
```

调整阈值按编写指南（docs/编写指南.md）“安全地发布阈值调整”一节：check → test → diff。
"""

TABLE_NATIONAL = (
    "| 监测底线 | NAT-LINE | `parameters.monitoring_line`、`rules.criteria.rules.LOW` | "
    "`tests/example.yaml` example-edge |\n"
    "| 监测对象类别 | NAT-CATS | `decisions.monitoring` | `tests/example.yaml` example-edge |")
TABLE_EXTENDING = "| （待填） | （待填） | （待填） | （待填） |"


def render(template: str, values: dict[str, str], examples: bool = False) -> str:
    """Fill in a template; example lines (`?`) are enabled, or commented out as Ctrl+/ does:
    one `# ` per block of lines, at the block's smallest indentation."""
    text = template
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            indent = min((len(x) - len(x.lstrip(" ")) for x in block if x.strip()), default=0)
            out.extend((x[:indent] + "# " + x[indent:]) if x.strip() else "#" for x in block)
            block.clear()
    for line in text.splitlines():
        if line.startswith("?"):
            if examples:
                out.append(line[1:])
            else:
                block.append(line[1:])
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out) + "\n"


def _scalar(text: str) -> str:
    """`text` as a YAML scalar on one line: plain where YAML allows, quoted where it does not."""
    dumped = yaml.safe_dump(text, allow_unicode=True, width=1_000_000).strip().removesuffix("...").strip()
    return dumped if "\n" not in dumped else json.dumps(text, ensure_ascii=False)


def schema_path() -> pathlib.Path:
    return pathlib.Path(str(resources.files("rulekit.pack").joinpath("pack.schema.json")))


def _modeline_target(pack_dir: pathlib.Path) -> str:
    """The schema as the modeline names it: relative to the pack file, as the shipped packs do."""
    schema = schema_path().resolve()
    try:
        return pathlib.Path(os.path.relpath(schema, pack_dir.resolve())).as_posix()
    except ValueError:         # another drive (Windows): an absolute file URI
        return schema.as_uri()


def scaffold(pack_dir: pathlib.Path, pack_id: str, locality: str, document: str,
             extends: str | None, examples: bool = False, base: Pack | None = None) -> dict[str, str]:
    """The files of a new pack (relative path -> text), without writing anything. A pack that
    extends a locality's pack (`base`, loaded) starts empty, with one of the base's parameters as
    the example of a new dated value; its test case is made by `extending_case`."""
    values = {"id": pack_id, "id_upper": pack_id.upper(), "locality": _scalar(locality),
              "document": _scalar(document), "schema": _modeline_target(pack_dir),
              "path": _shell_path(pack_dir), "date": EXAMPLE_DATE, "extends": extends or "",
              "extends_line": f"  extends: {extends}\n" if extends else "",
              "extends_text": f"政策包 `{extends}`" if extends else "（无）"}
    readme_values = {**values, "locality": locality, "document": document}
    if extends in (None, "national"):
        return {"pack.yaml": render(PACK_TEMPLATE, values, examples),
                "tests/example.yaml": render(TESTS_TEMPLATE, values, examples),
                "README.md": render(README_TEMPLATE, {**readme_values, "table": TABLE_NATIONAL})}
    values["parameter_example"] = _parameter_example(base)
    return {"pack.yaml": render(EXTENDING_TEMPLATE, values, examples),
            "README.md": render(README_TEMPLATE, {**readme_values, "table": TABLE_EXTENDING})}


def _parameter_example(base: Pack) -> str:
    """A base parameter written out again with one more dated value (the same number, to change):
    the shape of a new year's threshold, as template lines marked `?`."""
    import datetime as dt
    used = {n for node in base.compiled.nodes for e in ([node.expr] + [x for _, x in node.outcomes])
            if e is not None for n in e.reads}
    params = [p for p in base.spec.parameters.values() if p.name in used
              and all(isinstance(v.value, (int, float)) and not isinstance(v.value, bool) for v in p.values)]
    params.sort(key=lambda p: p.name != "monitoring_line")
    if not params:
        return "#（基础包没有可作示例的数值参数）"
    p = params[0]
    last = p.values[-1]
    new_start = dt.date(max(last.start.year, dt.date.today().year) + 1, 1, 1)
    lines = ["parameters:", f"  {p.name}:", f"    label: {_scalar(p.label)}", f"    unit: {_scalar(p.unit)}",
             f"    cites: [{', '.join(p.cites)}]", "    values:"]
    for v in p.values:
        entry = {"from": v.start, "value": v.value, **({"source": v.source} if v.source else {})}
        lines.append("      - " + _flow(entry))
    lines.append("      - " + _flow({"from": new_start, "value": last.value, "source": "新文件的条款和原文"})
                 + "   # 改成新文件的数值和日期")
    return "\n".join("?" + x for x in lines)


def _flow(mapping: dict) -> str:
    return yaml.safe_dump(mapping, default_flow_style=True, allow_unicode=True, sort_keys=False,
                          width=1_000_000).strip()


def _shell_path(path: pathlib.Path) -> str:
    text = path.as_posix()
    return text if re.fullmatch(r"[\w./-]+", text) else "'" + text.replace("'", "'\\''") + "'"


# -- the example case of a pack extending another locality's pack ---------------------------------

def base_dir_of(base: str, parent: pathlib.Path) -> pathlib.Path | None:
    """Where `extends: base` will be found from a pack in `parent`, as the loader looks for it."""
    from rulekit.pack.spec import PACK_FILE, bundled_packs, policies_root
    if (parent / base / PACK_FILE).is_file():
        return parent / base
    if base in bundled_packs():
        return policies_root() / base
    return None


def _iso(v: Any) -> Any:
    """A record as a case file holds it once read: dates as YYYY-MM-DD text."""
    import datetime as dt
    if isinstance(v, dict):
        return {k: _iso(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_iso(x) for x in v]
    return v.isoformat() if isinstance(v, dt.date) else v


def extending_case(pack_dir: pathlib.Path, base_dir: pathlib.Path, base: str) -> str:
    """tests/example.yaml for a new pack that extends `base`: a household (the first base record
    of the base pack's tests, else the generic example household) and the answers the new pack
    gives it now, which are the base pack's answers until the new pack changes something."""
    import rulekit
    from rulekit.errors import EvaluationError, RecordError
    candidates: list[tuple[dict, str]] = []
    for f in sorted((base_dir / "tests").glob("*.yaml")) if (base_dir / "tests").is_dir() else ():
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        for name, rec in ((doc or {}).get("bases") or {}).items() if isinstance(doc, dict) else ():
            candidates.append((rec, f"政策包 {base} 的基准户 {name}"))
    generic = yaml.safe_load(render(TESTS_TEMPLATE, {"id": "example", "id_upper": "EXAMPLE", "path": ".",
                                                     "locality": "示例县", "date": EXAMPLE_DATE}))
    candidates.append((generic["bases"]["example_household"], "rulekit new 的示例户"))
    pack = rulekit.load_pack(pack_dir)
    record, source, result = candidates[0][0], candidates[0][1], None
    for rec, src in candidates:
        try:
            result = pack.evaluate(_iso(rec))
        except (RecordError, EvaluationError):
            continue
        record, source = rec, src
        break
    expect: dict[str, Any] = {}
    for name, d in pack.spec.decisions.items() if result is not None else ():
        got = result.decision(name)
        expect[name] = {"outcome": got.outcome, "status": got.status} if d.hit == "first" else \
            sorted(i for i, _ in got.outcomes)
    case = {"id": "example-as-base", "title": f"示例户（{source}）：本包改动之前，答案与政策包 {base} 相同",
            "cites": ["NAT-CATS"], "base": "example_household", "expect": {"decisions": expect}}
    head = (f"# {pack.id} 政策包的测试用例。运行：rulekit test {_shell_path(pack_dir)}\n"
            f"# 这个用例由 rulekit new 按基础包 {base} 当时给出的答案生成。\n"
            f"# 本包改动了哪些条款，就为它们加用例（恰在界限上、略低于、略高于，CN-1），\n"
            f"# 并改写受影响的 expect。\n")
    return head + yaml.safe_dump({"bases": {"example_household": record}, "cases": [case]},
                                 allow_unicode=True, sort_keys=False, width=100)


# -- the command ----------------------------------------------------------------------------------

def new_command(args: argparse.Namespace) -> int:
    from rulekit.cli.staff import default_lang
    lang = args.lang or default_lang()
    pack_id, locality, document = args.pack_id, args.locality.strip(), args.document.strip()
    if not PACK_ID.match(pack_id):
        print(t("new_bad_id", lang, id=pack_id), file=sys.stderr)
        return 2
    if not locality or not document:
        print(t("new_empty", lang), file=sys.stderr)
        return 2
    pack_dir = args.dir / pack_id
    if pack_dir.exists():
        print(t("new_exists", lang, path=str(pack_dir)), file=sys.stderr)
        return 2
    extends = None if args.extends in ("", "none") else args.extends
    base_dir = base = None
    if extends:
        base_dir = base_dir_of(extends, args.dir)
        if base_dir is None:
            from rulekit.pack.spec import bundled_packs
            print(t("new_no_base", lang, base=extends, dir=str(args.dir),
                    packs=", ".join(bundled_packs())), file=sys.stderr)
            return 2
        if extends != "national":
            base, problem = _base_pack(base_dir, extends, lang)
            if problem:
                print(problem, file=sys.stderr)
                return 2
    files = scaffold(pack_dir, pack_id, locality, document, extends, base=base)
    pack_dir.mkdir(parents=True)
    for rel, text in files.items():
        (pack_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (pack_dir / rel).write_text(text, encoding="utf-8")
    if "tests/example.yaml" not in files:
        (pack_dir / "tests").mkdir()
        (pack_dir / "tests" / "example.yaml").write_text(
            extending_case(pack_dir, base_dir, extends), encoding="utf-8")
    print(t("new_created", lang, id=pack_id, path=str(pack_dir)))
    for rel, key in (("pack.yaml", "new_file_pack"), ("tests/example.yaml", "new_file_tests"),
                     ("README.md", "new_file_readme")):
        print(t("new_file", lang, path=str(pack_dir / rel), what=t(key, lang)))
    return _verify(pack_dir, lang)


def _base_pack(base_dir: pathlib.Path, base: str, lang: str) -> tuple[Pack | None, str | None]:
    """The base pack, or why a new pack cannot start from it (it does not load, or it reads flat
    records rather than the national form)."""
    import rulekit
    try:
        pack = rulekit.load_pack(base_dir)
    except PackError as e:
        return None, t("new_base_broken", lang, base=base) + "\n" + _problem_lines(e.problems, lang)
    if pack.spec.facts:
        return None, t("new_flat_base", lang, base=base)
    return pack, None


def _problem_lines(problems: list[Problem], lang: str) -> str:
    return "\n".join(f"  {p.location()}: {p.text(lang)}" for p in problems)


def _verify(pack_dir: pathlib.Path, lang: str) -> int:
    """Check and test the new pack as staff would, and say so."""
    import rulekit
    from rulekit.pack.check import check_pack
    from rulekit.testing import iter_pack_cases, run_case
    problems = check_pack(pack_dir)
    errors = sum(1 for p in problems if p.severity == "error")
    passed = failed = 0
    failures: list[str] = []
    if not errors:
        pack = rulekit.load_pack(pack_dir)
        for case in iter_pack_cases(pack_dir):
            found = run_case(pack, case)
            if found:
                failed += 1
                failures += [f"  {case.id}: {x}" for x in found]
            else:
                passed += 1
    print(t("new_verified", lang, errors=str(errors), warnings=str(len(problems) - errors),
            passed=str(passed), failed=str(failed)))
    if problems or failed:
        print(t("new_not_clean", lang), file=sys.stderr)
        if problems:
            print(_problem_lines(problems, lang), file=sys.stderr)
        if failures:
            print("\n".join(failures), file=sys.stderr)
        return 1
    print(t("new_next", lang, path=_shell_path(pack_dir)))
    return 0
