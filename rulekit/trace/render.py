"""Render what a pack decided for people: plain text, Markdown, and a self-contained printable HTML page.

Renderers read data, never live engine objects: a `Result`, its `to_dict()` trace, or a stored
decision record (the trace plus every rule's chain), so a decision logged months ago renders the
same way without the pack that made it. The decision comes first, then its reason chain as a tree.

In Markdown and HTML a computed value, rule or exception is expanded once per page, where a reader
sees it first without unfolding anything; every other mention links there. Rules, groups and
exceptions that do not hold are folded (HTML `<details>`), and an appendix lists every rule of the
pack with its status, so "why not?" is always one click away.
"""
from __future__ import annotations

import datetime as dt
import html
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rulekit.expr.values import Unknown
from rulekit.trace.messages import t
from rulekit.trace.result import Result, jsonable

FORMATS = ("text", "md", "html")
_NO_VALUE = ("rule", "group", "override", "outcome")   # their status says it; a value would repeat it

Renderable = Result | Mapping[str, Any]


def render(items: Renderable | Iterable[Renderable], form: str = "text", lang: str = "zh") -> str:
    """One or many households as `form` ("text", "md" or "html"; HTML puts one household a page)."""
    _check_lang(lang)
    if form not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {form!r})")
    many = [items] if isinstance(items, (Result, Mapping)) else list(items)
    if form == "html":
        return to_html(many, lang)
    one = to_text if form == "text" else to_markdown
    sep = "\n" if form == "text" else "\n---\n\n"
    return sep.join(one(x, lang) for x in many)


# -- what a renderer reads ---------------------------------------------------------------------------

def _trace(item: Renderable) -> Mapping[str, Any]:
    if isinstance(item, Result):
        return item.to_dict()
    return item["trace"] if "trace" in item else item


def _chains(item: Renderable, trace: Mapping[str, Any]) -> Mapping[str, Any]:
    """Every rule's reason chain (fired or not): from the Result, or stored in a decision record."""
    if isinstance(item, Result):
        return {rid: item.rule(rid).to_dict() for rid in trace["rules"]}
    return item.get("rule_chains") or {}


def _record_meta(item: Renderable) -> dict[str, Any]:
    """The decision record's own fields (id, time), when rendering a stored record."""
    if isinstance(item, Mapping) and "trace" in item:
        return {k: item.get(k) for k in ("record_id", "decided_at")}
    return {}


def _check_lang(lang: str) -> None:
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en' (got {lang!r})")


def fmt(value: Any, lang: str) -> str:
    """A value as people read it; takes engine values and their JSON form alike (Unknown is
    {"unknown": [facts]} in JSON, a date is its ISO text)."""
    if value.__class__ is Unknown:
        return t("unknown_value", lang, facts=", ".join(sorted(value.missing)))
    if isinstance(value, Mapping) and list(value) == ["unknown"]:
        return t("unknown_value", lang, facts=", ".join(value["unknown"]))
    if value is True:
        return t("yes", lang)
    if value is False:
        return t("no", lang)
    if isinstance(value, float):
        # enough decimals that a value beside its threshold never looks equal to it (0.19993)
        return f"{value:.6f}".rstrip("0").rstrip(".") if abs(value) < 1e12 else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v, lang) for v in value) + "]"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(jsonable(value))


def _question(d: Mapping, lang: str) -> str:
    return (d.get("question_en") or d["question"]) if lang == "en" else d["question"]


def _outcome_text(d: Mapping, oid: str, zh: str | None, lang: str) -> str | None:
    """The pack's English label of an outcome, when lang is "en" and it has one."""
    if lang == "en":
        en = next((o.get("label_en") for key in ("outcomes", "not_matched", "pending")
                   for o in d[key] if o["id"] == oid and o.get("label_en")), None)
        return en or zh
    return zh


def _outcome_list(d: Mapping, key: str, lang: str, code: Callable[[str], str] = lambda s: f"({s})",
                  esc: Callable[[Any], str] = str) -> str:
    return "；".join(f"{esc(_outcome_text(d, o['id'], o['label'], lang))} {code(o['id'])}" for o in d[key])


def one_line(expression: str) -> str:
    """An expression on one line (a pack may write a long condition over several)."""
    return " ".join(expression.split())


def _verdict(d: Mapping, lang: str) -> str:
    if d["hit"] == "first":
        return _outcome_text(d, d["outcome"] or "", d["label"], lang) or t("none", lang)
    return "; ".join(f"{_outcome_text(d, o['id'], o['label'], lang)} ({o['id']})"
                     for o in d["outcomes"]) or t("none", lang)


def _shown(r: Mapping, lang: str) -> str:
    """A reason's value as shown: in words where the trace has them (codes by their Chinese label in
    zh; a decision by its outcome's label in both languages)."""
    worded = "value_label" in r and (lang == "zh" or r["kind"] == "decision")
    return fmt(r["value_label"] if worded else r["value"], lang)


def _label(r: Mapping, lang: str) -> str:
    """A reason's label: the pack's own words, except the engine's dates, which are engine words."""
    return t(f"builtin_{r['name']}", lang) if r["kind"] == "builtin" else r["label"]


def _status_word(r: Mapping, lang: str) -> str:
    return t(r["status"], lang) if r.get("status") else ""


def _param_line(p: Mapping, lang: str) -> str:
    when = t("in_force_from", lang, date=p["from"]) if p.get("from") else ""
    return (f"{p.get('unit', '')} {when}; {t('origin', lang)} {p.get('origin')}"
            + (f" ({p['source']})" if p.get("source") else ""))


def _overridden_parameters(trace: Mapping) -> list[tuple[str, Mapping]]:
    """Parameters whose value did not come from a pack: override files and call arguments."""
    return [(n, p) for n, p in trace["parameters"].items()
            if p.get("origin") and not str(p["origin"]).startswith("pack:")]


def missing_fact_labels(trace: Mapping) -> dict[str, str]:
    """Missing fact path -> the label of the fact it belongs to, found in the reason chains."""
    out: dict[str, str] = {}

    def visit(r: Mapping) -> None:
        if r["kind"] in ("fact", "member_facts"):
            values = r["value"] if r["kind"] == "member_facts" and isinstance(r["value"], list) \
                else [r["value"]]
            for v in values:
                if isinstance(v, Mapping) and list(v) == ["unknown"]:
                    for path in v["unknown"]:
                        out.setdefault(path, r["label"])
        for c in r.get("inputs", ()):
            visit(c)
    for d in trace["decisions"].values():
        for r in d["reasons"]:
            visit(r)
    return out


# -- plain text (the engine's `Result.explain`) -------------------------------------------------------

def to_text(item: Renderable, lang: str = "zh") -> str:
    """The decisions and reason chains as indented text; identical to `Result.explain(lang)`."""
    _check_lang(lang)
    tr = _trace(item)
    p = tr["pack"]
    lines = [
        f"{t('household', lang)} {tr['record_id']} · {t('pack', lang)} {p['id']} {p['version']} "
        f"(sha256 {p['sha256'][:12]}) · {t('engine', lang)} {tr['engine_version']}",
        f"{t('as_of', lang)} {tr['as_of']} · {t('reference_date', lang)} "
        f"{fmt(tr['reference_date'], lang)} · {t('period', lang)} "
        f"{fmt(tr['period']['start'], lang)} – {fmt(tr['period']['end'], lang)}",
        "",
    ]
    for d in tr["decisions"].values():
        lines += _text_decision(d, lang)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _text_decision(d: Mapping, lang: str) -> list[str]:
    word = t("outcome", lang) if d["hit"] == "first" else t("outcomes", lang)
    code = f" ({d['outcome'] or '-'})" if d["hit"] == "first" else ""
    out = [f"【{_question(d, lang)}】{word}: {_verdict(d, lang)}{code} — {t(d['status'], lang)}"]
    if d["missing_facts"]:
        out.append(f"  {t('missing', lang)}: {', '.join(d['missing_facts'])}")
    if d["pending"]:
        word = t("blocked", lang) if d["hit"] == "first" else t("pending", lang)
        out.append(f"  {word}: " + _outcome_list(d, "pending", lang))
    for note in d["review"]:
        out.append(f"  {t('review', lang)}: {note}")
    if d["not_matched"]:
        out.append(f"  {t('not_matched', lang)}: " + _outcome_list(d, "not_matched", lang))
    if d["reasons"]:
        out.append(f"  {t('because', lang)}:")
        quoted: set[str] = set()
        for r in d["reasons"]:
            _text_reason(r, lang, 1, out, quoted)
    return out


def _text_reason(r: Mapping, lang: str, depth: int, out: list[str], quoted: set[str]) -> None:
    pad = "    " * depth
    sep = "：" if lang == "zh" else ": "
    status = f"{sep}{t(r['status'], lang)}" if r.get("status") else ""
    value = "" if r["kind"] in _NO_VALUE else f" = {_shown(r, lang)}"
    out.append(f"{pad}- {t(r['kind'], lang)} {r['name']}「{_label(r, lang)}」{value}{status}"
               + (f" {t('see_above', lang)}" if r.get("repeated") else ""))
    if r.get("repeated"):
        return
    for c in r.get("cites", ()):   # each clause is quoted in full once, then named by its id
        out.append(f"{pad}    [{c['id']}]" if c["id"] in quoted
                   else f"{pad}    [{c['id']} {c['where']}] “{c['quote']}”")
        quoted.add(c["id"])
    if r.get("expression"):
        word = t("formula", lang) if r["kind"] == "computed" else t("condition", lang)
        out.append(f"{pad}    {word}: {one_line(r['expression'])}")
    if r.get("parameter"):
        out.append(f"{pad}    {_param_line(r['parameter'], lang)}")
    if r.get("local_choice"):
        out.append(f"{pad}    {t('local_choice', lang)}: {r['local_choice']}")
    if r.get("members"):
        out.append(f"{pad}    {t('members_hit', lang)}: {', '.join(r['members'])}")
    if r.get("overridden_by"):
        out.append(f"{pad}    {t('cancelled_by', lang)}: {', '.join(r['overridden_by'])}")
    for child in r.get("inputs", ()):
        _text_reason(child, lang, depth + 1, out, quoted)


# -- the page tree shared by Markdown and HTML ------------------------------------------------------

class _Node:
    """One mention of a reason on the page: expanded here, or a link to where it is expanded."""

    __slots__ = ("uid", "data", "ref", "folded", "children", "quotes")

    def __init__(self, uid: str, data: Mapping) -> None:
        self.uid = uid
        self.data = data
        self.ref: str | None = None          # uid of the expansion this mention links to
        self.folded = False
        self.children: list[_Node] = []
        self.quotes: set[str] = set()        # citation ids quoted in full at this node


def _folds(r: Mapping, parent: Mapping | None) -> bool:
    """What a page shows folded: rules, groups and exceptions that do not hold, and the breakdown
    of a computed value inside another one (D = C ÷ size shows C; how C was summed is one click),
    unless its value is unknown: the way down to a missing fact stays open."""
    if r["kind"] in ("rule", "group", "override"):
        return r.get("status") in ("not_fired", "not_applied")
    unknown = isinstance(r["value"], Mapping) and list(r["value"]) == ["unknown"]
    return r["kind"] == "computed" and parent is not None and parent["kind"] == "computed" and not unknown


class _Page:
    """Lays out one household: the decisions' chains first, then every rule of the pack.

    Visible content is laid out before folded content, so each expandable reason is expanded
    where a reader sees it without unfolding anything, if anywhere; other mentions link to it.
    """

    def __init__(self, prefix: str, trace: Mapping, chains: Mapping,
                 fold: Callable[[Mapping, Mapping | None], bool]) -> None:
        self.prefix = prefix
        self.fold = fold
        self.full: dict[tuple[str, str], Mapping] = {}
        self.site: dict[tuple[str, str], str] = {}
        self.quoted: dict[str, str] = {}      # citation id -> uid of the node quoting it
        roots = [(f"{prefix}-c-{name}", d["reasons"]) for name, d in trace["decisions"].items()]
        rules = [chains[rid] for rid in trace["rules"] if rid in chains]
        for _, rs in roots + [("", rules)]:
            for r in rs:
                self._index(r)
        self._queue: deque[tuple[_Node, list[Mapping]]] = deque()
        self.decisions = {name: [self._node(r, f"{uid}-{i}", None) for i, r in enumerate(rs)]
                          for (uid, rs), name in zip(roots, trace["decisions"])}
        self.rules = [self._node(r, f"{prefix}-rule-{r['name']}", None) for r in rules]
        while self._queue:
            node, kids = self._queue.popleft()
            node.children = [self._node(c, f"{node.uid}-{j}", node.data) for j, c in enumerate(kids)]

    def _index(self, r: Mapping) -> None:
        key = (r["kind"], r["name"])
        if r.get("inputs") and key not in self.full and r["kind"] != "outcome":
            self.full[key] = r
        for c in r.get("inputs", ()):
            self._index(c)

    def _node(self, r: Mapping, uid: str, parent: Mapping | None) -> _Node:
        key = (r["kind"], r["name"])
        data = r if r["kind"] == "outcome" else self.full.get(key, r)
        node = _Node(uid, data)
        if data.get("inputs") and r["kind"] != "outcome":
            if key in self.site:
                node.ref = self.site[key]
                return node
            self.site[key] = uid
        for c in data.get("cites", ()):
            if c["id"] not in self.quoted:
                self.quoted[c["id"]] = uid
                node.quotes.add(c["id"])
        kids = list(data.get("inputs", ()))
        if kids and self.fold(data, parent):
            node.folded = True
            self._queue.append((node, kids))
        else:
            node.children = [self._node(c, f"{uid}-{j}", data) for j, c in enumerate(kids)]
        return node


# -- Markdown ------------------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|"})


def _md(text: Any) -> str:
    return str(text).translate(_MD_SPECIAL)


def to_markdown(item: Renderable, lang: str = "zh") -> str:
    """One household as Markdown: header, decisions, their reason trees, every rule of the pack."""
    _check_lang(lang)
    tr, meta = _trace(item), _record_meta(item)
    page = _Page("h", tr, _chains(item, tr), lambda r, parent: False)   # Markdown cannot fold
    p = tr["pack"]
    out = [f"# {t('household', lang)} {_md(tr['record_id'])}", ""]
    for k, v in _meta_rows(tr, meta, lang):
        out.append(f"- {k}: {_md(v)}")
    changed = _overridden_parameters(tr)
    if changed:
        out += ["", f"**{t('audit_parameters_changed', lang)}**", ""]
        out += [f"- `{n}` = {_md(fmt(q['value'], lang))} {_md(_param_line(q, lang))}" for n, q in changed]
    out += ["", f"| {t('audit_question', lang)} | {t('outcome', lang)} | {t('audit_status', lang)} |",
            "|---|---|---|"]
    for d in tr["decisions"].values():
        out.append(f"| {_md(_question(d, lang))} | {_md(_verdict(d, lang))} | {t(d['status'], lang)} |")
    labels = missing_fact_labels(tr)
    for name, d in tr["decisions"].items():
        code = f" (`{d['outcome']}`)" if d["hit"] == "first" and d["outcome"] else ""
        out += ["", f"## {_md(_question(d, lang))}", "",
                f"**{_md(_verdict(d, lang))}**{code} — **{t(d['status'], lang)}**", ""]
        out += _md_attention(d, labels, lang)
        if d["reasons"]:
            out += [f"### {t('because', lang)}", ""]
            for node in page.decisions[name]:
                _md_node(node, page, tr, lang, 0, out)
    if tr["errors"]:
        out += ["", f"## {t('audit_errors', lang)}", ""]
        out += [f"- {_md(e)}" for e in tr["errors"]]
    if page.rules:
        out += ["", f"## {t('audit_all_rules', lang)}", ""]
        for node in page.rules:
            _md_node(node, page, tr, lang, 0, out)
    out += ["", f"<sub>{t('pack', lang)} {_md(p['id'])} {_md(p['version'])} · sha256 {p['sha256']}</sub>"]
    return "\n".join(out).rstrip() + "\n"


def _md_attention(d: Mapping, labels: Mapping[str, str], lang: str) -> list[str]:
    out = []
    if d["missing_facts"]:
        out.append(f"> **{t('missing', lang)}**")
        out += [f"> - `{f}`" + (f"「{_md(labels[f])}」" if f in labels else "") for f in d["missing_facts"]]
        out.append("")
    if d["review"]:
        out.append(f"> **{t('review', lang)}**")
        out += [f"> - {_md(note)}" for note in d["review"]]
        out.append("")
    def code(s: str) -> str:
        return f"(`{s}`)"
    if d["pending"]:
        word = t("blocked", lang) if d["hit"] == "first" else t("pending", lang)
        out += [f"{word}: " + _outcome_list(d, "pending", lang, code, _md), ""]
    if d["not_matched"]:
        out += [f"{t('not_matched', lang)}: " + _outcome_list(d, "not_matched", lang, code, _md), ""]
    return out


def _head_md(r: Mapping, lang: str) -> str:
    value = "" if r["kind"] in _NO_VALUE else f" = {_md(_shown(r, lang))}"
    status = f" **{_status_word(r, lang)}**" if r.get("status") else ""
    return f"{t(r['kind'], lang)} `{r['name']}`「{_md(_label(r, lang))}」{value}{status}"


def _md_node(node: _Node, page: _Page, tr: Mapping, lang: str, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    r = node.data
    if node.ref:
        out.append(f"{pad}- {_head_md(r, lang)} ([{t('audit_see_details', lang)}](#{node.ref}))")
        return
    lines = [f'{_head_md(r, lang)}<a id="{node.uid}"></a>']
    lines += _body_lines(node, page, tr, lang,
                         quote=lambda c: f"[{c['id']} {_md(c['where'])}] “{_md(c['quote'])}”",
                         cref=lambda c: f"[\\[{c['id']}\\]](#{page.quoted[c['id']]})",
                         code=lambda s: f"`{s}`", esc=_md)
    out.append(f"{pad}- " + f"  \n{pad}  ".join(lines))
    for child in node.children:
        _md_node(child, page, tr, lang, depth + 1, out)


def _body_lines(node: _Node, page: _Page, tr: Mapping, lang: str, *, quote: Callable[[Mapping], str],
                cref: Callable[[Mapping], str], code: Callable[[str], str], esc: Callable[[Any], str],
                link: Callable[[str, str], str] = lambda kind, name: name) -> list[str]:
    """The details under a reason's head line, shared by Markdown and HTML (which pass escaping)."""
    r = node.data
    out = []
    for c in r.get("cites", ()):
        out.append(quote(c) if c["id"] in node.quotes else cref(c))
    if r.get("expression"):
        word = t("formula", lang) if r["kind"] == "computed" else t("condition", lang)
        out.append(f"{word}: {code(one_line(r['expression']))}")
    if r.get("parameter"):
        out.append(esc(_param_line(r["parameter"], lang)))
    if r.get("local_choice"):
        out.append(f"{t('local_choice', lang)}: {esc(r['local_choice'])}")
    if r.get("members"):
        out.append(f"{t('members_hit', lang)}: {esc(', '.join(r['members']))}")
    if r.get("overridden_by"):
        names = ", ".join(f"{link('override', o)}「{esc(tr['overrides'].get(o, {}).get('label', ''))}」"
                          for o in r["overridden_by"])
        out.append(f"{t('cancelled_by', lang)}: {names}")
    if r["kind"] == "override" and r["name"] in tr["overrides"]:
        cancels = tr["overrides"][r["name"]]["cancels"]
        out.append(f"{t('audit_cancels', lang)}: " + ", ".join(
            f"{link('rule', c)} ({t(tr['rules'][c]['status'], lang)})" if c in tr["rules"] else c
            for c in cancels))
    return out


# -- HTML -------------------------------------------------------------------------------------------------

_CSS = """
:root{--ink:#1d232a;--muted:#5c6670;--line:#cfd6dd;--ok:#1f7a3d;--no:#7b8590;--warn:#9a5b00;--bad:#b3261e;
--bg-warn:#fff4e0;--bg-bad:#fdecea;--bg-ok:#eaf6ee;--accent:#1c4f8a}
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;
color:var(--ink);margin:0;background:#f3f5f7;line-height:1.5;font-size:14px}
.toolbar{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:6px 16px;z-index:2}
.toolbar button{font:inherit;margin-right:6px;padding:2px 10px;border:1px solid var(--line);background:#fff;
border-radius:4px;cursor:pointer}
.household{background:#fff;max-width:1100px;margin:16px auto;padding:20px 28px;border:1px solid var(--line)}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:22px 0 6px;color:var(--accent)}
h3{font-size:14px;margin:10px 0 4px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6;font-weight:600}
table.meta th{width:9em}
.mono,code{font-family:"Noto Sans Mono CJK SC",ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
code{background:#f3f5f7;padding:0 3px;border-radius:3px}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12.5px;border:1px solid currentColor;
white-space:nowrap}
.decided{color:var(--ok)}.needs_review{color:var(--warn)}.undetermined{color:var(--bad)}
.verdict{font-size:16px;margin:4px 0 8px}.verdict .outcome{font-weight:700}
.attention{border-left:4px solid var(--warn);background:var(--bg-warn);padding:6px 12px;margin:8px 0}
.attention.missing{border-color:var(--bad);background:var(--bg-bad)}
.attention h3{margin:2px 0}.attention ul{margin:2px 0;padding-left:20px}
.params{border-left:4px solid var(--accent);background:#eef4fb;padding:6px 12px;margin:8px 0}
.muted{color:var(--muted)}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:18px}
ul.tree{padding-left:14px}
ul.tree ul{border-left:1px dotted var(--line);margin-left:6px}
li.n{margin:3px 0}
.h{display:inline}
summary{cursor:pointer;list-style-position:outside}
details>summary::marker{color:var(--muted)}
.kind{color:var(--muted);font-size:12.5px}
.name{font-weight:600}
.st{font-size:12.5px;padding:0 6px;border-radius:8px;margin-left:4px;white-space:nowrap}
.st-fired,.st-applied{background:var(--bg-ok);color:var(--ok)}
.st-not_fired,.st-not_applied{background:#eef0f2;color:var(--no)}
.st-unknown{background:var(--bg-bad);color:var(--bad)}
.st-overridden{background:var(--bg-warn);color:var(--warn)}
.val{font-weight:600}.unknown{color:var(--bad)}
.body{margin:2px 0 2px 4px;color:#333}
.body div{margin:1px 0}
blockquote.cite{margin:2px 0;padding:2px 8px;border-left:3px solid #b7c4d3;background:#f7f9fb;color:#333}
.cid{font-weight:600;color:var(--accent)}
a{color:var(--accent)}
.ovr{background:#fff1c2;padding:0 3px}
.cancel{color:var(--warn)}
footer{color:var(--muted);font-size:12px;margin-top:18px;border-top:1px solid var(--line);padding-top:6px}
@page{size:A4;margin:14mm}
@media print{body{background:#fff;font-size:11.5px}.toolbar{display:none}
.household{border:0;margin:0;padding:0;max-width:none;break-after:page}
.household:last-of-type{break-after:auto}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}a{color:inherit;text-decoration:none}}
"""

_JS = """
function rkAll(open){document.querySelectorAll('details').forEach(function(d){d.open=open;});}
function rkReveal(){var id=decodeURIComponent(location.hash.slice(1));var e=id&&document.getElementById(id);
while(e){if(e.tagName==='DETAILS'){e.open=true;}e=e.parentElement;}}
window.addEventListener('hashchange',rkReveal);window.addEventListener('load',rkReveal);
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def to_html(items: Iterable[Renderable], lang: str = "zh") -> str:
    """A self-contained HTML page (no external resources), one household a printed page."""
    _check_lang(lang)
    items = list(items)
    ids = [_trace(x)["record_id"] for x in items]
    title = f"{t('audit_why_title', lang)} {', '.join(ids[:3])}" + (" …" if len(ids) > 3 else "")
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style><script>{_JS}</script></head><body>",
        '<div class="toolbar">'
        f'<button type="button" onclick="rkAll(true)">{t("audit_expand_all", lang)}</button>'
        f'<button type="button" onclick="rkAll(false)">{t("audit_collapse_all", lang)}</button>'
        f'<button type="button" onclick="window.print()">{t("audit_print", lang)}</button></div>',
    ]
    for i, item in enumerate(items):
        parts.append(_html_household(item, f"h{i + 1}", lang))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _meta_rows(tr: Mapping, meta: Mapping, lang: str) -> list[tuple[str, str]]:
    p = tr["pack"]
    title = " · ".join(str(x) for x in (p.get("locality"), p.get("title"), p.get("number")) if x)
    rows = [(t("pack", lang), f"{p['id']} {p['version']}" + (f" — {title}" if title else "")),
            ("sha256", p["sha256"]),
            (t("engine", lang), tr["engine_version"]),
            (t("as_of", lang), tr["as_of"]),
            (t("reference_date", lang), fmt(tr["reference_date"], lang)),
            (t("period", lang), f"{fmt(tr['period']['start'], lang)} – {fmt(tr['period']['end'], lang)}")]
    if meta.get("record_id"):
        rows.append((t("audit_record", lang), str(meta["record_id"])))
    if meta.get("decided_at"):
        rows.append((t("audit_decided_at", lang), str(meta["decided_at"])))
    return rows


def _html_household(item: Renderable, prefix: str, lang: str) -> str:
    tr, meta = _trace(item), _record_meta(item)
    page = _Page(prefix, tr, _chains(item, tr), _folds)
    out = [f'<section class="household" id="{prefix}" data-household="{_e(tr["record_id"])}">',
           f"<h1>{t('household', lang)} {_e(tr['record_id'])}</h1>", '<table class="meta">']
    for k, v in _meta_rows(tr, meta, lang):
        cls = ' class="mono"' if k == "sha256" else ""
        out.append(f"<tr><th>{_e(k)}</th><td{cls}>{_e(v)}</td></tr>")
    out.append("</table>")
    changed = _overridden_parameters(tr)
    if changed:
        out.append(f'<div class="params"><h3>{t("audit_parameters_changed", lang)}</h3><ul>')
        out += [f'<li><code>{_e(n)}</code> = <b>{_e(fmt(q["value"], lang))}</b> '
                f'<span class="ovr">{_e(_param_line(q, lang))}</span></li>' for n, q in changed]
        out.append("</ul></div>")
    out.append(f'<table class="summary"><tr><th>{t("audit_question", lang)}</th><th>{t("outcome", lang)}</th>'
               f'<th>{t("audit_status", lang)}</th></tr>')
    for name, d in tr["decisions"].items():
        out.append(f'<tr><td><a href="#{prefix}-d-{_e(name)}">{_e(_question(d, lang))}</a></td>'
                   f"<td>{_e(_verdict(d, lang))}</td>"
                   f'<td><span class="badge {d["status"]}">{t(d["status"], lang)}</span></td></tr>')
    out.append("</table>")
    labels = missing_fact_labels(tr)
    for name, d in tr["decisions"].items():
        out.append(_html_decision(name, d, page, tr, labels, lang))
    if tr["errors"]:
        out.append(f'<h2>{t("audit_errors", lang)}</h2><ul class="errors">')
        out += [f"<li><code>{_e(jsonable(e))}</code></li>" for e in tr["errors"]]
        out.append("</ul>")
    if page.rules:
        out.append(f'<section class="rules" id="{prefix}-rules"><h2>{t("audit_all_rules", lang)}</h2>'
                   f'<p class="muted">{t("audit_all_rules_note", lang)}</p><ul class="tree">')
        out += [_html_node(n, page, tr, lang) for n in page.rules]
        out.append("</ul></section>")
    p = tr["pack"]
    out.append(f"<footer>rulekit {_e(tr['engine_version'])} · {t('pack', lang)} {_e(p['id'])} "
               f"{_e(p['version'])} · sha256 <span class=\"mono\">{_e(p['sha256'])}</span></footer>")
    out.append("</section>")
    return "\n".join(out)


def _html_decision(name: str, d: Mapping, page: _Page, tr: Mapping, labels: Mapping[str, str],
                   lang: str) -> str:
    st = d["status"]
    out = [f'<section class="decision" id="{page.prefix}-d-{_e(name)}" data-decision="{_e(name)}" '
           f'data-status="{st}">', f"<h2>{_e(_question(d, lang))}</h2>"]
    code = f' <code>{_e(d["outcome"])}</code>' if d["hit"] == "first" and d["outcome"] else ""
    out.append(f'<p class="verdict"><span class="outcome">{_e(_verdict(d, lang))}</span>{code} '
               f'<span class="badge {st}">{t(st, lang)}</span></p>')
    if d["missing_facts"]:
        out.append(f'<div class="attention missing"><h3>{t("missing", lang)}</h3><ul>')
        out += [f'<li class="missing-fact"><code>{_e(f)}</code>'
                + (f" {_e(labels[f])}" if f in labels else "") + "</li>" for f in d["missing_facts"]]
        out.append("</ul></div>")
    if d["review"]:
        out.append(f'<div class="attention review"><h3>{t("review", lang)}</h3><ul>')
        out += [f'<li class="review-note">{_e(note)}</li>' for note in d["review"]]
        out.append("</ul></div>")
    if d["pending"]:
        word = t("blocked", lang) if d["hit"] == "first" else t("pending", lang)
        out.append(f"<p><b>{word}</b>: "
                   + _outcome_list(d, "pending", lang, lambda s: f"<code>{_e(s)}</code>", _e) + "</p>")
    if d["not_matched"]:
        out.append(f'<p class="muted">{t("not_matched", lang)}: '
                   + _outcome_list(d, "not_matched", lang, lambda s: f"<code>{_e(s)}</code>", _e) + "</p>")
    if d["reasons"]:
        out.append(f'<h3>{t("because", lang)}</h3><ul class="tree">')
        out += [_html_node(n, page, tr, lang) for n in page.decisions[name]]
        out.append("</ul>")
    elif d["cites"]:
        out.append('<div class="body">' + " ".join(
            f'<span class="cid" title="{_e(c["quote"])}">[{_e(c["id"])} {_e(c["where"])}]</span>'
            for c in d["cites"]) + "</div>")
    out.append("</section>")
    return "\n".join(out)


def _head_html(r: Mapping, lang: str) -> str:
    out = [f'<span class="kind">{t(r["kind"], lang)}</span> <span class="name">{_e(r["name"])}</span>'
           f'<span class="label">「{_e(_label(r, lang))}」</span>']
    if r["kind"] not in _NO_VALUE:
        v = r["value"]
        unknown = isinstance(v, Mapping) and list(v) == ["unknown"]
        unit = (r.get("parameter") or {}).get("unit") or ""
        out.append(f' = <span class="val{" unknown" if unknown else ""}">{_e(_shown(r, lang))}</span>'
                   + (f" {_e(unit)}" if unit else ""))
    if r.get("status"):
        out.append(f' <span class="st st-{r["status"]}">{_status_word(r, lang)}</span>')
    return "".join(out)


def _html_node(node: _Node, page: _Page, tr: Mapping, lang: str) -> str:
    r = node.data
    attrs_ = (f'class="n k-{r["kind"]}" data-kind="{r["kind"]}" data-name="{_e(r["name"])}"'
              + (f' data-status="{r["status"]}"' if r.get("status") else ""))
    head = _head_html(r, lang)
    if node.ref:
        return (f'<li {attrs_} data-ref="{node.ref}"><span class="h">{head}</span> '
                f'<a href="#{node.ref}">→ {t("audit_see_details", lang)}</a></li>')
    body = _body_lines(
        node, page, tr, lang,
        quote=lambda c: (f'<blockquote class="cite" id="{node.uid}-q-{_e(c["id"])}">'
                         f'<span class="cid">[{_e(c["id"])} {_e(c["where"])}]</span> “{_e(c["quote"])}”'
                         "</blockquote>"),
        cref=lambda c: (f'<a class="cid" href="#{page.quoted[c["id"]]}-q-{_e(c["id"])}" '
                        f'title="{_e(c["quote"])}">[{_e(c["id"])}]</a>'),
        code=lambda s: f"<code>{_e(s)}</code>", esc=_e,
        link=lambda kind, name: (f'<a href="#{page.site[(kind, name)]}">{_e(name)}</a>'
                                 if (kind, name) in page.site else _e(name)))
    inner = "".join(f"<div>{b}</div>" for b in body)
    inner = f'<div class="body">{inner}</div>' if inner else ""
    kids = "".join(_html_node(c, page, tr, lang) for c in node.children)
    kids = f"<ul>{kids}</ul>" if kids else ""
    if node.folded or kids:
        opened = "" if node.folded else " open"
        return (f'<li {attrs_} id="{node.uid}"><details{opened}><summary>{head}</summary>'
                f"{inner}{kids}</details></li>")
    return f'<li {attrs_} id="{node.uid}"><span class="h">{head}</span>{inner}</li>'
