"""Render a result as text a person reads, in Chinese or English (the data is in result.py)."""
from __future__ import annotations

from typing import Any

from rulekit.expr.values import Unknown
from rulekit.trace.messages import t
from rulekit.trace.result import Decision, Reason, Result, jsonable


def fmt(value: Any, lang: str) -> str:
    if value.__class__ is Unknown:
        return t("unknown_value", lang, facts=", ".join(sorted(value.missing)))
    if value is True:
        return t("yes", lang)
    if value is False:
        return t("no", lang)
    if isinstance(value, float):
        # enough decimals that a value beside its threshold never looks equal to it (0.19993)
        return f"{value:.6f}".rstrip("0").rstrip(".") if abs(value) < 1e12 else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v, lang) for v in value) + "]"
    return str(jsonable(value))


def _reason_lines(r: Reason, lang: str, depth: int, out: list[str],
                  quoted: set[str] | None = None) -> None:
    quoted = set() if quoted is None else quoted
    pad = "    " * depth
    kind = t(r.kind, lang) if r.kind != "outcome" else t("outcome", lang)
    status = f"：{t(r.status, lang)}" if r.status and lang == "zh" else \
        (f": {t(r.status, lang)}" if r.status else "")
    shown = r.value_label if r.value_label is not None and (lang == "zh" or r.kind == "decision") \
        else r.value
    value = "" if r.kind in ("rule", "group", "override", "outcome") else f" = {fmt(shown, lang)}"
    label = t(f"builtin_{r.name}", lang) if r.kind == "builtin" else r.label
    out.append(f"{pad}- {kind} {r.name}「{label}」{value}{status}"
               + (f" {t('see_above', lang)}" if r.repeated else ""))
    if r.repeated:
        return
    for c in r.cites:   # each clause is quoted in full once, then named by its id
        out.append(f"{pad}    [{c.id}]" if c.id in quoted else f"{pad}    [{c.id} {c.where}] “{c.quote}”")
        quoted.add(c.id)
    if r.expression:
        word = t("formula", lang) if r.kind == "computed" else t("condition", lang)
        out.append(f"{pad}    {word}: {' '.join(r.expression.split())}")
    if r.parameter:
        p = r.parameter
        when = t("in_force_from", lang, date=p["from"]) if p.get("from") else ""
        out.append(f"{pad}    {p.get('unit', '')} {when}; {t('origin', lang)} {p.get('origin')}"
                   + (f" ({p['source']})" if p.get("source") else ""))
    if r.local_choice:
        out.append(f"{pad}    {t('local_choice', lang)}: {r.local_choice}")
    if r.members:
        out.append(f"{pad}    {t('members_hit', lang)}: {', '.join(r.members)}")
    if r.overridden_by:
        out.append(f"{pad}    {t('cancelled_by', lang)}: {', '.join(r.overridden_by)}")
    for child in r.inputs:
        _reason_lines(child, lang, depth + 1, out, quoted)


def decision_lines(d: Decision, lang: str) -> list[str]:
    out = []
    question = d.text("question", d.question, lang)
    if d.hit == "first":
        head = d.text(d.outcome or "", d.label, lang) or t("none", lang)
        out.append(f"【{question}】{t('outcome', lang)}: {head} ({d.outcome or '-'}) — "
                   f"{t(d.status, lang)}")
    else:
        hits = "; ".join(f"{d.text(i, lab, lang)} ({i})" for i, lab in d.outcomes) or t("none", lang)
        out.append(f"【{question}】{t('outcomes', lang)}: {hits} — {t(d.status, lang)}")
    if d.missing_facts:
        out.append(f"  {t('missing', lang)}: {', '.join(d.missing_facts)}")
    if d.pending:
        word = t("blocked", lang) if d.hit == "first" else t("pending", lang)
        out.append(f"  {word}: " + "；".join(f"{d.text(i, lab, lang)} ({i})" for i, lab in d.pending))
    for note in d.review:
        out.append(f"  {t('review', lang)}: {note}")
    if d.not_matched:
        out.append(f"  {t('not_matched', lang)}: "
                   + "；".join(f"{d.text(i, lab, lang)} ({i})" for i, lab in d.not_matched))
    if d.reasons:
        out.append(f"  {t('because', lang)}:")
        quoted: set[str] = set()
        for r in d.reasons:
            _reason_lines(r, lang, 1, out, quoted)
    return out


def explain_text(result: Result, lang: str = "zh") -> str:
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en' (got {lang!r})")
    info = result.to_dict()
    p = info["pack"]
    lines = [
        f"{t('household', lang)} {result.record_id} · {t('pack', lang)} {p['id']} {p['version']} "
        f"(sha256 {p['sha256'][:12]}) · {t('engine', lang)} {info['engine_version']}",
        f"{t('as_of', lang)} {info['as_of']} · {t('reference_date', lang)} "
        f"{fmt(result._state.reference_date, lang)} · {t('period', lang)} "
        f"{fmt(result._state.period[0], lang)} – {fmt(result._state.period[1], lang)}",
        "",
    ]
    for d in result.decisions.values():
        lines += decision_lines(d, lang)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
