"""Does a stored decision reproduce? Evaluate its input again and say what differs, and why.

`compare` lists the differences between two decision records of one household, decisions first,
then what explains them (the input, the pack, the engine, the dates, parameter values), then the
rules, exceptions and computed values in between. `verify` uses it on a stored record and a fresh
evaluation of its input; a household's history in the decision log uses it between successive
decisions.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rulekit.audit.record import check_record, input_digest, make_record
from rulekit.engine.pack import Pack
from rulekit.errors import EvaluationError, RecordError
from rulekit.trace.messages import t
from rulekit.trace.render import fmt

# what differs, in the order a reader needs it: the answer, its causes, then the steps between
KINDS = ("error", "decision", "input", "fact", "pack", "engine", "as_of", "reference_date", "period",
         "parameter", "rule", "override", "computed")


@attrs.frozen
class Difference:
    """One thing that is not the same: its kind (see KINDS), name, and the old and new values."""
    kind: str
    name: str
    old: Any = None
    new: Any = None

    def text(self, lang: str = "zh", brief: bool = False) -> str:
        if self.kind == "input":
            return t("audit_input_altered", lang)
        if self.kind == "error":
            return t("audit_cannot_evaluate", lang, error=str(self.new))
        key = "audit_brief" if brief else "audit_diff"
        what = t("audit_col_pack" if self.kind == "pack" else self.kind, lang)   # "pack", not "Pack"
        return t(key, lang, what=what, name=f" {self.name}" if self.name else "",
                 old=_show(self.kind, self.old, lang), new=_show(self.kind, self.new, lang))

    def to_dict(self) -> dict:
        return attrs.asdict(self)


def _show(kind: str, v: Any, lang: str) -> str:
    if v is None:
        return t("none", lang)
    if kind == "decision":
        outs = ", ".join(v["outcomes"]) or t("none", lang)
        extra = f"; {t('missing', lang)}: {', '.join(v['missing_facts'])}" if v["missing_facts"] else ""
        return f"{outs} ({t(v['status'], lang)}{extra})"
    if kind == "parameter":
        where = [str(v.get("origin"))]
        if v.get("from"):
            where.append(t("in_force_from", lang, date=v["from"]))
        return f"{fmt(v['value'], lang)} ({', '.join(where)})"
    if kind in ("rule", "override"):
        return t(v, lang) if isinstance(v, str) else fmt(v, lang)
    if kind == "period":
        return f"{fmt(v['start'], lang)} – {fmt(v['end'], lang)}"
    if kind == "pack" and isinstance(v, str) and len(v) == 64:
        return v[:12]
    return fmt(v, lang)


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """A record as path -> leaf value (`income.crops[0].sales`), so changed facts can be named."""
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return (out or {prefix: {}}) if prefix else out
    if isinstance(data, list):
        out = {}
        for i, v in enumerate(data):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: data}


def _decision(d: Mapping) -> dict:
    return {k: d[k] for k in ("outcomes", "status", "missing_facts", "review")}


def _pairs(old: Mapping, new: Mapping) -> Iterable[tuple[str, Any, Any]]:
    for name in list(old) + [n for n in new if n not in old]:
        a, b = old.get(name), new.get(name)
        if a != b:
            yield name, a, b


def compare(old: Mapping, new: Mapping) -> list[Difference]:
    """What differs between two decision records of the same household, in KINDS order."""
    out: list[Difference] = []
    for name, a, b in _pairs(old["decisions"], new["decisions"]):
        a, b = (_decision(x) if x else None for x in (a, b))
        if a != b:
            out.append(Difference("decision", name, a, b))
    if old["input_sha256"] != new["input_sha256"]:
        out += [Difference("fact", n, a, b) for n, a, b in _pairs(_flat(old["input"]), _flat(new["input"]))]
    op, np_ = old["pack"], new["pack"]
    out += [Difference("pack", k, op.get(k), np_.get(k)) for k in ("id", "version", "sha256", "files")
            if op.get(k) != np_.get(k)]
    if old["engine_version"] != new["engine_version"]:
        out.append(Difference("engine", "", old["engine_version"], new["engine_version"]))
    for k in ("as_of", "reference_date", "period"):
        if old[k] != new[k]:
            out.append(Difference(k, "", old[k], new[k]))
    ot, nt = old["trace"], new["trace"]
    keep = ("value", "from", "origin")
    for name, a, b in _pairs(ot["parameters"], nt["parameters"]):
        a, b = ({k: x.get(k) for k in keep} if x else None for x in (a, b))
        if a != b:
            out.append(Difference("parameter", name, a, b))
    for name, a, b in _pairs(ot["rules"], nt["rules"]):
        sa, sb = (x["status"] if x else None for x in (a, b))
        if sa != sb:
            out.append(Difference("rule", name, sa, sb))
    for name, a, b in _pairs(ot["overrides"], nt["overrides"]):
        va, vb = (x["applied"] if x else None for x in (a, b))
        if va != vb:
            out.append(Difference("override", name, va, vb))
    out += [Difference("computed", n, a, b) for n, a, b in _pairs(ot["computed"], nt["computed"])]
    return out


@attrs.frozen
class Verification:
    """The answer of `verify`: whether the stored decisions reproduce, and every difference."""
    record_id: str
    household_id: str
    decided_at: str
    as_of: str
    reproduces: bool            # every decision (outcomes, status, missing facts, review) is the same
    identical: bool             # and nothing else differs: pack, parameters, rules, values
    differences: tuple[Difference, ...]
    input_intact: bool          # the stored input still matches its sha256

    def text(self, lang: str = "zh") -> str:
        head = (f"{t('household', lang)} {self.household_id} · {t('audit_record', lang)} {self.record_id}"
                f" · {t('audit_decided_at', lang)} {self.decided_at} · {t('as_of', lang)} {self.as_of}")
        verdict = ("audit_identical" if self.identical else "audit_reproduces") if self.reproduces \
            else "audit_not_reproduced"
        lines = [head, f"  {t(verdict, lang)}"]
        lines += [f"  - {d.text(lang)}" for d in self.differences]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        return {"record_id": self.record_id, "household_id": self.household_id,
                "decided_at": self.decided_at, "as_of": self.as_of, "reproduces": self.reproduces,
                "identical": self.identical, "input_intact": self.input_intact,
                "differences": [d.to_dict() for d in self.differences]}


def verify(record: Mapping, pack: Pack) -> Verification:
    """Evaluate the stored input again with `pack`, the record's as_of and its parameter
    arguments, and compare. The pack is the caller's: give it the same override files as the
    original evaluation, or the difference is reported as the parameter it changes."""
    record = check_record(record)
    intact = input_digest(record["input"]) == record["input_sha256"]
    try:
        result = pack.evaluate(record["input"], as_of=record["as_of"],
                               parameters=record["arguments"] or None)
    except (RecordError, EvaluationError, KeyError, ValueError) as e:
        error = Difference("error", type(e).__name__, None, e.args[0] if isinstance(e, KeyError) else str(e))
        return Verification(record["record_id"], record["household_id"], record["decided_at"],
                            record["as_of"], reproduces=False, identical=False, differences=(error,),
                            input_intact=intact)
    again = make_record(result, record_id=record["record_id"], decided_at=record["decided_at"])
    diffs = compare(record, again)
    if not intact:
        diffs.insert(0, Difference("input", "input_sha256", record["input_sha256"], again["input_sha256"]))
    return Verification(record["record_id"], record["household_id"], record["decided_at"],
                        record["as_of"], reproduces=intact and not any(d.kind == "decision" for d in diffs),
                        identical=intact and not diffs, differences=tuple(diffs), input_intact=intact)
