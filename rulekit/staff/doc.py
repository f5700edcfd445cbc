"""The policy book: a pack as a document a reviewer puts beside the source and checks clause by
clause. Every parameter (values by date, unit, citation with the catalogue's verbatim quote, local
choice), computed value and rule (the expression, the same in words, the meaning of every name it
uses), exception, decision and outcome, report and local fact, in the order the pack is written.

The book is built once as a small list of blocks (headings, paragraphs, lists, tables) and rendered
to Markdown or to one self-contained, printable HTML page holding both languages with a toggle
(no script, no network). Engine words come from `rulekit.trace.messages`; pack labels stay as
written (the English rendering uses a pack's `en:` labels where it gives them).
Expressions are said in words, with a legend of the names they use, by `rulekit.staff.doc_words`.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from typing import Any

import attrs

from rulekit.engine.pack import Pack
from rulekit.pack import spec as S
from rulekit.staff.doc_words import Meaning, Names, Words
from rulekit.trace.messages import t

FORMATS = ("md", "html")
LANGS = ("zh", "en")

# -- the document model ----------------------------------------------------------------------------

Span = tuple[str, str, str]   # (style, text, target): "" plain, "code", "b" bold, "a" code link, "l" link
Inline = tuple[Span, ...]


@attrs.frozen
class Block:
    kind: str                                   # h | p | ul | table
    inline: Inline = ()
    level: int = 0                              # heading level
    anchor: str = ""                            # heading id (HTML)
    items: tuple[Inline, ...] = ()              # list items
    children: tuple[tuple[Inline, ...], ...] = ()   # a nested list under each item
    header: tuple[Inline, ...] = ()             # table header
    rows: tuple[tuple[Inline, ...], ...] = ()   # table rows


def _spans(*parts: str | Span) -> Inline:
    return tuple(p if isinstance(p, tuple) else ("", p, "") for p in parts if p)


def _code(text: str) -> Span:
    return ("code", " ".join(text.split()), "")


def _bold(text: str) -> Span:
    return ("b", text, "")


_MARK = re.compile("\x00([^\x01]*)\x01")


def _rich(text: str) -> tuple[Span, ...]:
    """Words with the identifiers they mention (marked by `Words.ident`) as code spans."""
    out: list[Span] = []
    pos = 0
    for m in _MARK.finditer(text):
        if m.start() > pos:
            out.append(("", text[pos:m.start()], ""))
        out.append(_code(m.group(1)))
        pos = m.end()
    if pos < len(text):
        out.append(("", text[pos:], ""))
    return tuple(out)


# -- building the book -----------------------------------------------------------------------------

def _fmt(v: Any, lang: str) -> str:
    if isinstance(v, bool):
        return t("yes" if v else "no", lang)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return t("doc_dates", lang, n=str(len(v))) + "：" + "、".join(_fmt(x, lang) for x in v)
    return str(v)


class _Book:
    def __init__(self, pack: Pack, lang: str) -> None:
        self.pack = pack
        self.spec = pack.spec
        self.lang = lang
        self.names = Names(pack)
        self.blocks: list[Block] = []
        self.files = list(self.spec.files)
        self.cited: dict[str, list[str]] = {}     # catalogue id -> entries of the pack citing it

    # small helpers
    def tr(self, key: str, **kw: str) -> str:
        return t(key, self.lang, **kw)

    def h(self, level: int, *parts: str | Span, anchor: str = "") -> None:
        self.blocks.append(Block("h", _spans(*parts), level=level, anchor=anchor))

    def p(self, *parts: str | Span) -> None:
        self.blocks.append(Block("p", _spans(*parts)))

    def ul(self, items: Iterable[Inline | tuple[Inline, list[Inline]]]) -> None:
        heads, children = [], []
        for i in items:
            if not i:
                continue
            nested = isinstance(i[0], tuple) and i[0] and isinstance(i[0][0], tuple)
            heads.append(i[0] if nested else i)
            children.append(tuple(i[1]) if nested else ())
        if heads:
            self.blocks.append(Block("ul", items=tuple(heads), children=tuple(children)))

    def table(self, header: Iterable[str], rows: Iterable[Iterable[str | Span | Inline]]) -> None:
        def cell(c: str | Span | Inline) -> Inline:
            if isinstance(c, str):
                return _spans(c)
            return c if c and isinstance(c[0], tuple) else (c,)   # type: ignore[return-value]
        rows = tuple(tuple(cell(c) for c in r) for r in rows)
        if rows:
            self.blocks.append(Block("table", header=tuple(_spans(x) for x in header), rows=rows))

    def label(self, zh: str, en: str) -> str:
        return (en or zh) if self.lang == "en" else zh

    def item(self, key: str, *parts: str | Span) -> Inline:
        return _spans(_bold(self.tr(key)), "：" if self.lang == "zh" else ": ", *parts)

    def where(self, w: S.Where) -> Inline:
        at = f"{w.file}:{w.line}" if w.line else w.file
        extra = "" if w.pack_id == self.spec.id else f"（{self.tr('doc_inherited', pack=w.pack_id)}）" \
            if self.lang == "zh" else f" ({self.tr('doc_inherited', pack=w.pack_id)})"
        return self.item("doc_defined_at", _code(at), extra)

    def order(self, entries: Iterable[Any]) -> list[Any]:
        def key(e: Any) -> tuple[int, int]:
            w = e.where if hasattr(e, "where") else e["where"]
            return (self.files.index(w.file) if w.file in self.files else -1, w.line or 0)
        return sorted(entries, key=key)

    def cite(self, ids: Iterable[str], used_by: str) -> list[Inline]:
        cat = S.pack_catalogue(self.pack.spec)
        out = []
        for cid in ids:
            self.cited.setdefault(cid, [])
            if used_by not in self.cited[cid]:
                self.cited[cid].append(used_by)
            e = cat.get(cid)
            if e is None:
                out.append(_spans(_bold(cid)))
            else:
                out.append(_spans(_bold(cid), f" {e['where']} “{e['quote']}”"))
        return out

    def cites_item(self, ids: Iterable[str], used_by: str) -> list[Any]:
        cites = self.cite(ids, used_by)
        if not cites:
            return []
        if len(cites) == 1:
            return [self.item("doc_cites", *cites[0])]
        return [(self.item("doc_cites"), cites)]

    def expression(self, source: str, field: str, scopes: tuple[str, ...] = (), want_bool: bool = True,
                   names: Names | None = None) -> tuple[list[Inline], list[Meaning]]:
        words = Words(names or self.names, self.lang)
        said = words.say(source, scopes, want_bool)
        items = [self.item(field, _code(source)), self.item("doc_in_words", *_rich(said))]
        return items, list(words.used.values())

    def legend(self, used: list[Meaning]) -> None:
        rows = []
        for m in used:
            label = self.label(m.label, m.en)
            if m.unit and m.unit not in label:
                label += f"（{m.unit}）" if self.lang == "zh" else f" ({m.unit})"
            name: Span = ("a", m.name, m.anchor) if m.anchor else _code(m.name)
            kind = "doc_item_fact" if m.kind == "member_facts" and not m.name.startswith("members.") \
                else m.kind
            rows.append((name, self.tr(kind), label))
        self.table((self.tr("doc_name"), self.tr("doc_kind"), self.tr("doc_meaning")), rows)

    def notes(self, entry: Any) -> list[Inline]:
        out = []
        if getattr(entry, "local_choice", ""):
            out.append(self.item("local_choice", entry.local_choice))
        if getattr(entry, "note", ""):
            out.append(self.item("doc_note", entry.note))
        return out

    # the sections, each in the order the pack writes its entries
    def build(self) -> list[Block]:
        s = self.spec
        self.h(1, self.tr("doc_title", title=s.meta.get("title", s.id)))
        self.p(self.tr("doc_intro"))
        self.meta()
        sections = [("parameters", s.parameters, self.parameters), ("computed", s.computed, self.computed),
                    ("rules", s.groups, self.rules), ("overrides", s.overrides, self.overrides),
                    ("decisions", s.decisions, self.decisions), ("reports", s.reports, self.reports),
                    ("local_facts", s.local_facts, self.local_facts), ("facts", s.facts, self.flat_facts)]
        own_file = next((e.where.file for table in (s.parameters, s.computed, s.groups, s.decisions)
                         for e in table.values() if e.where.pack_id == s.id), s.files[-1])

        def first_line(entries: dict) -> int:
            lines = [(e.where if hasattr(e, "where") else e.get("where")) for e in entries.values()]
            mine = [w.line or 0 for w in lines if w is not None and w.file == own_file]
            return min(mine) if mine else 10 ** 9
        for _, entries, build in sorted(sections, key=lambda x: first_line(x[1])):
            if entries:
                build()
        self.catalogue()
        contents = tuple(_spans(("l", "".join(x[1] for x in b.inline), b.anchor))
                         for b in self.blocks if b.kind == "h" and b.level == 2)
        self.blocks.insert(2, Block("ul", items=contents, children=((),) * len(contents)))
        return self.blocks

    def meta(self) -> None:
        s, m = self.spec, self.spec.meta
        self.h(2, self.tr("doc_pack"), anchor="pack")
        rows: list[tuple[str, str | Span]] = [
            (self.tr("doc_id"), _code(s.id)), (self.tr("doc_version"), str(m.get("version", ""))),
            (self.tr("doc_locality"), m.get("locality", "")), (self.tr("doc_doc_title"), m.get("title", ""))]
        for key in ("number", "issuer", "issued", "source"):
            if m.get(key):
                rows.append((self.tr("doc_" + key), _fmt(m[key], self.lang)))
        if m.get("extends"):
            rows.append((self.tr("doc_extends"), _code(m["extends"])))
        rows.append((self.tr("doc_files"), " → ".join(s.files)))
        rows.append((self.tr("doc_sha256"), _code(self.pack.digest)))
        if m.get("reference_date"):
            ref = m["reference_date"]
            text: Inline = _spans(_fmt(ref, self.lang)) if isinstance(ref, dt.date) else \
                _spans(_code(str(ref)), f" {self.names.resolve(str(ref)).label}")
            rows.append((t("reference_date", self.lang), text))
        period = m.get("income_period")
        if period:
            text = self.tr("doc_months_back", n=str(period["months"])) if "months" in period else \
                f"{_fmt(period['start'], self.lang)} – {_fmt(period['end'], self.lang)}"
            if period.get("label"):
                text += f"；{period['label']}" if self.lang == "zh" else f"; {period['label']}"
            rows.append((self.tr("doc_income_period"), text))
        from rulekit import __version__
        rows.append((self.tr("doc_engine"), f"rulekit {__version__}"))
        self.table((self.tr("doc_item"), self.tr("doc_content")),
                   [(k[:1].upper() + k[1:], v) for k, v in rows])
        if period and period.get("cites"):
            self.ul(self.cites_item(period["cites"], "pack.income_period"))

    def heading(self, level: int, name: str, label: str, en: str, anchor: str, prefix: str = "") -> None:
        self.h(level, *((prefix + " ",) if prefix else ()), _code(name), " " + self.label(label, en),
               anchor=anchor)

    def parameters(self) -> None:
        self.h(2, self.tr("doc_parameters"), anchor="parameters")
        for p in self.order(self.spec.parameters.values()):
            self.heading(3, p.name, p.label, p.en, f"parameter-{p.name}")
            self.ul([self.item("doc_unit", p.unit), *self.cites_item(p.cites, p.name), *self.notes(p),
                     self.where(p.where)])
            self.table((self.tr("doc_from"), self.tr("doc_value"), self.tr("doc_value_source"),
                        self.tr("doc_origin")),
                       [(v.start.isoformat(), _fmt(v.value, self.lang),
                         "；".join(x for x in (v.source, v.note) if x), _code(v.origin)) for v in p.values])

    def computed(self) -> None:
        self.h(2, self.tr("doc_computed"), anchor="computed")
        for c in self.order(self.spec.computed.values()):
            self.heading(3, c.name, c.label, c.en, f"computed-{c.name}")
            scopes = (c.per,) if c.per else ()
            items, used = self.expression(c.formula, "doc_formula", scopes,
                                          self.pack.compiled.types.get(c.name) == "bool")
            if c.per:
                items.insert(0, _spans(self.tr("doc_per_member")))
            if c.unit:
                items.append(self.item("doc_unit", c.unit))
            self.ul([*items, *self.cites_item(c.cites, c.name), *self.notes(c), self.where(c.where)])
            self.legend(used)

    def rules(self) -> None:
        s = self.spec
        self.h(2, self.tr("doc_rules"), anchor="rules")
        cancelling: dict[str, list[str]] = {}
        for o in s.overrides.values():
            for rid in o.cancels:
                cancelling.setdefault(rid, []).append(o.id)
        for g in self.order(s.groups.values()):
            self.heading(3, g.id, g.label, g.en, f"group-{g.id}", prefix=self.tr("doc_group"))
            self.ul([*self.cites_item(g.cites, g.id), *self.notes(g), self.where(g.where)])
            for rid in g.rules:
                r = s.rules.get(rid)
                if r is None:
                    continue
                self.heading(4, r.id, r.label, r.en, f"rule-{r.id}")
                items, used = self.expression(r.when, "doc_condition", (r.per,) if r.per else ())
                if r.per:
                    items.insert(0, _spans(self.tr("doc_per_member_rule")))
                if r.id in cancelling:
                    items.append(self.item("doc_cancellable", *[("a", o, f"override-{o}")
                                                                for o in cancelling[r.id]]))
                self.ul([*items, *self.cites_item(r.cites, r.id), *self.notes(r), self.where(r.where)])
                self.legend(used)

    def overrides(self) -> None:
        s = self.spec
        self.h(2, self.tr("doc_overrides"), anchor="overrides")
        for o in self.order(s.overrides.values()):
            self.heading(3, o.id, o.label, o.en, f"override-{o.id}")
            items, used = self.expression(o.when, "doc_condition")
            cancels: list[str | Span] = []
            for rid in o.cancels:
                r = s.rules.get(rid)
                label = "" if r is None else (f"「{r.label}」" if self.lang == "zh"
                                              else f" ({r.en or r.label})")
                cancels += [("a", rid, f"rule-{rid}"), label, "；" if self.lang == "zh" else "; "]
            items.append(self.item("doc_cancels", *cancels[:-1]))
            self.ul([*items, *self.cites_item(o.cites, o.id), *self.notes(o), self.where(o.where)])
            self.legend(used)

    def decisions(self) -> None:
        self.h(2, self.tr("doc_decisions"), anchor="decisions")
        for d in self.order(self.spec.decisions.values()):
            self.heading(3, d.name, d.label, d.en, f"decision-{d.name}")
            self.ul([self.item("doc_hit", self.tr("doc_hit_" + d.hit)), *self.cites_item(d.cites, d.name),
                     *self.notes(d), self.where(d.where)])
            for i, o in enumerate(d.outcomes, 1):
                self.h(4, f"{i}. ", _code(o.id), " " + self.label(o.label, o.en),
                       anchor=f"outcome-{d.name}-{o.id}")
                items: list[Inline] = [self.item("doc_status", t(o.status, self.lang))]
                used: list[Meaning] = []
                if o.when:
                    more, used = self.expression(o.when, "doc_condition")
                    items += more
                else:
                    items.append(self.item("doc_condition", self.tr("doc_otherwise")))
                if o.review:
                    items.append(self.item("review", o.review))
                self.ul([*items, *self.cites_item(o.cites, f"{d.name}.{o.id}"), *self.notes(o)])
                self.legend(used)

    def reports(self) -> None:
        self.h(2, self.tr("doc_reports"), anchor="reports")
        for r in self.order(self.spec.reports.values()):
            self.heading(3, r.name, r.label, r.en, f"report-{r.name}")
            extra = {m.name: Meaning(m.name, "doc_measures", m.label, m.en, m.unit, "num")
                     for m in r.measures.values()}
            extra.update({c.name: Meaning(c.name, "computed", c.label, c.en, c.unit, "")
                          for c in r.computed.values()})
            extra.update({x.id: Meaning(x.id, "rule", x.label, x.en, type="bool") for x in r.rules.values()})
            names = Names(self.pack, extra)
            items: list[Inline] = [*self.cites_item(r.cites, r.name)]
            if r.group_by:
                items.append(self.item("doc_group_by", *[_code(g) for g in r.group_by]))
            used: list[Meaning] = []
            if r.filter:
                more, used = self.expression(r.filter, "doc_filter", names=names)
                items += more
            self.ul([*items, *self.notes(r), self.where(r.where)])
            self.h(4, self.tr("doc_measures"))
            rows = []
            for m in r.measures.values():
                w = Words(names, self.lang)
                said = w.say(m.expr, (), m.kind == "count")
                used += [u for u in w.used.values() if u not in used]
                rows.append((_code(m.name), self.label(m.label, m.en), self.tr("doc_" + m.kind),
                             _spans(_code(m.expr), " — ", *_rich(said))))
            self.table((self.tr("doc_name"), self.tr("doc_meaning"), self.tr("doc_kind"),
                        self.tr("doc_formula")), rows)
            for c in r.computed.values():
                self.heading(4, c.name, c.label, c.en, f"report-{r.name}-{c.name}")
                more, u = self.expression(c.formula, "doc_formula", want_bool=False, names=names)
                self.ul([*more, *self.cites_item(c.cites, f"{r.name}.{c.name}"), *self.notes(c)])
                used += [x for x in u if x not in used]
            for x in r.rules.values():
                self.heading(4, x.id, x.label, x.en, f"report-{r.name}-{x.id}")
                more, u = self.expression(x.when, "doc_condition", names=names)
                self.ul([*more, *self.cites_item(x.cites, f"{r.name}.{x.id}"), *self.notes(x)])
                used += [y for y in u if y not in used]
            self.legend(used)

    def local_facts(self) -> None:
        self.h(2, self.tr("doc_local_facts"), anchor="local-facts")
        for f in self.order(self.spec.local_facts.values()):
            name = next(n for n, x in self.spec.local_facts.items() if x is f)
            self.heading(3, name, f["label"], f.get("en", ""), f"local-{name}")
            at = f"members[i].local.{name}" if f.get("per") == "members" else f"local.{name}"
            items = [self.item("doc_type", f["type"]), self.item("doc_given_under", _code(at))]
            if f.get("values"):
                items.append(self.item("doc_allowed", "、".join(f["values"])))
            if "minimum" in f:
                items.append(self.item("doc_minimum", _fmt(f["minimum"], self.lang)))
            if f.get("unit"):
                items.append(self.item("doc_unit", f["unit"]))
            if f.get("note"):
                items.append(self.item("doc_note", f["note"]))
            self.ul([*items, *self.cites_item(f.get("cites", ()), name), self.where(f["where"])])

    def flat_facts(self) -> None:
        self.h(2, self.tr("doc_flat_facts"), anchor="facts")
        self.table((self.tr("doc_name"), self.tr("doc_meaning"), self.tr("doc_type"), self.tr("doc_unit"),
                    self.tr("doc_minimum")),
                   [(_code(n), self.label(f["label"], f.get("en", "")), f["type"], f.get("unit", ""),
                     _fmt(f["minimum"], self.lang) if "minimum" in f else "")
                    for n, f in self.spec.facts.items()])

    def catalogue(self) -> None:
        cat = S.pack_catalogue(self.pack.spec)
        chain = {self.spec.id} | {e.where.pack_id for e in self.spec.parameters.values()}
        ids = [cid for cid, e in cat.items() if cid in self.cited or e["section"] in chain]
        if not ids:
            return
        self.h(2, self.tr("doc_catalogue"), anchor="catalogue")
        self.p(self.tr("doc_catalogue_intro"))
        rows = []
        for cid in ids:
            e = cat[cid]
            users: Inline = tuple(x for u in self.cited.get(cid, ()) for x in (("", " ", ""), _code(u)))[1:]
            rows.append((_bold(cid), e["where"], f"“{e['quote']}”", users or self.tr("doc_not_cited")))
        self.table(("id", self.tr("doc_cites"), self.tr("doc_content"), self.tr("doc_used_by")), rows)


# -- rendering ---------------------------------------------------------------------------------------

_MD_ESCAPE = re.compile(r"([\\`*_\[\]<>|])")


def _md_inline(inline: Inline) -> str:
    out = []
    for style, text, _ in inline:
        if style == "code" or style == "a":
            tick = "``" if "`" in text else "`"
            out.append(f"{tick}{text}{tick}")
        elif style == "l":
            out.append(_MD_ESCAPE.sub(r"\\\1", text))
        elif style == "b":
            out.append("**" + _MD_ESCAPE.sub(r"\\\1", text) + "**")
        else:
            out.append(_MD_ESCAPE.sub(r"\\\1", text))
    return "".join(out).replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind == "h":
            out.append("#" * b.level + " " + _md_inline(b.inline))
        elif b.kind == "p":
            out.append(_md_inline(b.inline))
        elif b.kind == "ul":
            lines = []
            for i, item in enumerate(b.items):
                lines.append("- " + _md_inline(item))
                lines += ["  - " + _md_inline(c) for c in (b.children[i] if b.children else ())]
            out.append("\n".join(lines))
        elif b.kind == "table":
            out.append("| " + " | ".join(_md_inline(h) for h in b.header) + " |")
            out[-1] += "\n|" + "---|" * len(b.header)
            for r in b.rows:
                out[-1] += "\n| " + " | ".join(_md_inline(c) for c in r) + " |"
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _html_inline(inline: Inline, prefix: str) -> str:
    out = []
    for style, text, target in inline:
        e = html.escape(text)
        if style == "code":
            out.append(f"<code>{e}</code>")
        elif style == "b":
            out.append(f"<strong>{e}</strong>")
        elif style == "a":
            out.append(f'<a href="#{prefix}{html.escape(target)}"><code>{e}</code></a>')
        elif style == "l":
            out.append(f'<a href="#{prefix}{html.escape(target)}">{e}</a>')
        else:
            out.append(e)
    return "".join(out)


def to_html_body(blocks: list[Block], prefix: str) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind == "h":
            anchor = f' id="{prefix}{html.escape(b.anchor)}"' if b.anchor else ""
            out.append(f"<h{b.level}{anchor}>{_html_inline(b.inline, prefix)}</h{b.level}>")
        elif b.kind == "p":
            out.append(f"<p>{_html_inline(b.inline, prefix)}</p>")
        elif b.kind == "ul":
            lis = []
            for i, item in enumerate(b.items):
                sub = b.children[i] if b.children else ()
                inner = "<ul>" + "".join(f"<li>{_html_inline(c, prefix)}</li>" for c in sub) + "</ul>" \
                    if sub else ""
                lis.append(f"<li>{_html_inline(item, prefix)}{inner}</li>")
            out.append("<ul>" + "".join(lis) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{_html_inline(h, prefix)}</th>" for h in b.header)
            rows = "".join("<tr>" + "".join(f"<td>{_html_inline(c, prefix)}</td>" for c in r) + "</tr>"
                           for r in b.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return "\n".join(out)


_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;
 line-height:1.6;max-width:62rem;margin:0 auto;padding:0 1.5rem 3rem;color:#111}
h1{font-size:1.6rem;border-bottom:2px solid #333;padding-bottom:.3rem}
h2{font-size:1.3rem;border-bottom:1px solid #999;margin-top:2.2rem}
h3{font-size:1.1rem;margin-top:1.6rem}h4{font-size:1rem;margin-top:1.2rem}
code{font-family:"Noto Sans Mono CJK SC",Consolas,monospace;background:#f3f3f3;padding:0 .2em;
 font-size:.92em;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #bbb;padding:.25rem .45rem;vertical-align:top;text-align:left}
th{background:#eee}ul{padding-left:1.3rem}a{color:#0645ad;text-decoration:none}
.toggle{position:sticky;top:0;background:#fff;padding:.4rem 0;border-bottom:1px solid #ddd;z-index:1}
.toggle label{margin-right:.5rem;padding:.15rem .7rem;border:1px solid #999;border-radius:3px;cursor:pointer}
#rk-zh,#rk-en{display:none}
#rk-zh:checked~.toggle label[for=rk-zh],#rk-en:checked~.toggle label[for=rk-en]{background:#333;color:#fff}
#rk-zh:checked~.book-en,#rk-en:checked~.book-zh{display:none}
@media print{.toggle{display:none}body{max-width:none;padding:0;font-size:10.5pt}
 h2{break-before:page}h3,h4{break-after:avoid}tr,li{break-inside:avoid}a{color:inherit}}
"""


def _html_page(title: str, books: dict[str, list[Block]], lang: str) -> str:
    # CSS-only switch: the radio buttons are siblings of the books, their labels form the toggle
    radios = "".join(f'<input type="radio" name="rk-lang" id="rk-{code}"{" checked" if code == lang else ""}>'
                     for code in books)
    labels = "".join(f'<label for="rk-{code}">{html.escape(t("doc_lang_" + code, code))}</label>'
                     for code in books)
    articles = "\n".join(f'<article class="book-{code}" lang="{"zh-CN" if code == "zh" else "en"}">\n'
                         f"{to_html_body(blocks, code + '-')}\n</article>" for code, blocks in books.items())
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n'
            f'<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f'{radios}<div class="toggle">{labels}</div>\n{articles}\n</body>\n</html>\n')


def blocks(pack: Pack, lang: str = "zh") -> list[Block]:
    """The policy book as blocks (for other renderers)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be 'zh' or 'en' (got {lang!r})")
    return _Book(pack, lang).build()


def policy_book(pack: Pack, lang: str = "zh", format: str = "md") -> str:
    """The pack as a policy book: Markdown in `lang`, or ("html") one self-contained printable page
    holding the Chinese and the English book with a toggle, `lang` shown first."""
    if format not in FORMATS:
        raise ValueError(f"format must be 'md' or 'html' (got {format!r})")
    if format == "md":
        return to_markdown(blocks(pack, lang))
    title = t("doc_title", lang, title=pack.spec.meta.get("title", pack.id))
    return _html_page(title, {code: blocks(pack, code) for code in LANGS}, lang)
