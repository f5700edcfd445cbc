"""Output rows and population-report tallies: what one household contributes to a batch run.

Both the local run (run.py) and the Dask adapter (dask.py) turn each input row into one output row
here, so their outputs are equal by construction. A row is either a decision (outcome ids,
Chinese labels and status per decision, the rules that fired, key values) or an error row (the
input position and a readable reason); never nothing.

A report tally is the population report (`pack.report`) split so that it can be added to row by
row, saved between checkpoints and merged across processes or partitions: each household's
contribution is computed with `pack.report(name, [result])` (the engine's own grouping, filters and
measures), and `Tally.finish` runs the report's group rules on the sums, exactly as `pack.report`
does over the whole population at once.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rulekit.batch.readers import BatchError
from rulekit.expr.values import Unknown
from rulekit.trace.result import jsonable

INVALID = "invalid"
HOUSEHOLD_STATUSES = ("decided", "needs_review", "undetermined", INVALID)
PER_DECISION = ("outcome", "label", "status", "missing", "review")


def household_status(statuses: Sequence[str]) -> str:
    """One status for a household: undetermined if any decision lacks facts, else needs_review
    if any asks for a person, else decided."""
    if "undetermined" in statuses:
        return "undetermined"
    if "needs_review" in statuses:
        return "needs_review"
    return "decided"


def decision_summary(result: Any, name: str, outcomes: Mapping[str, Any]) -> tuple:
    """(status, hit outcome ids, missing facts, review notes) of one decision, without building
    its reason chain (Result.decision builds the whole chain, ~10x the cost of evaluating)."""
    s = result.summary(name)
    return s.status, s.hits, s.missing_facts, s.review


class Layout:
    """The columns of the output and how one result or error fills them."""

    def __init__(self, pack: Any, values: Sequence[str] | None = None) -> None:
        spec = pack.spec
        self.decisions = [(name, d.hit, {o.id: o for o in d.outcomes})
                          for name, d in spec.decisions.items()]
        if values is None:
            values = [n for n, c in spec.computed.items() if not c.per]
        known = set(pack.compiled.types) | set(spec.parameters)
        wrong = [v for v in values if v not in known or (v in spec.computed and spec.computed[v].per)]
        if wrong:
            close = difflib.get_close_matches(wrong[0], sorted(known), n=1)
            raise BatchError.of("values_unknown", name=wrong[0], pack=pack.id,
                                hint=f" (did you mean {close[0]!r}?)" if close else "")
        self.values = tuple(values)
        self.columns = (("position", "id", "status", "error")
                        + tuple(f"{d}.{part}" for d, _, _ in self.decisions for part in PER_DECISION)
                        + ("fired", "errors") + tuple(f"value.{v}" for v in self.values))

    def result_row(self, position: int, result: Any) -> dict:
        """The output row of a decided household (JSON-ready)."""
        decisions = {}
        statuses = []
        for name, hit, outcomes in self.decisions:
            status, hits, missing, review = decision_summary(result, name, outcomes)
            statuses.append(status)
            labels = [outcomes[h].label for h in hits]
            decisions[name] = {"outcome": (hits[0] if hits else None) if hit == "first" else list(hits),
                               "label": (labels[0] if labels else None) if hit == "first" else labels,
                               "status": status, "missing": list(missing), "review": list(review)}
        return {"position": position, "id": result.record_id, "status": household_status(statuses),
                "decisions": decisions, "fired": list(result.fired),
                "errors": [f"{e['node']}: {e['message']}" for e in result.errors],
                "values": {v: jsonable(result.value(v)) for v in self.values}}

    @staticmethod
    def error_row(position: int, record_id: Any, error: str) -> dict:
        return {"position": position, "id": record_id if isinstance(record_id, str) else None,
                "status": INVALID, "error": error}

    def csv_cells(self, row: Mapping[str, Any]) -> list[str]:
        """The row as CSV cells, in `columns` order. Unknown is `?`, yes/no is 是/否 (as the
        input accepts), lists are joined with ; (ids) or ；(labels)."""
        out = [str(row["position"]), row.get("id") or "", row["status"], row.get("error", "")]
        decisions = row.get("decisions")
        for name, hit, _ in self.decisions:
            if decisions is None:
                out += [""] * len(PER_DECISION)
                continue
            d = decisions[name]
            if hit == "first":
                out += [d["outcome"] or "", d["label"] or ""]
            else:
                out += [";".join(d["outcome"]), "；".join(d["label"])]
            out += [d["status"], "、".join(d["missing"]), "；".join(d["review"])]
        if decisions is None:
            return out + [""] * (2 + len(self.values))
        out += [" ".join(row["fired"]), "; ".join(row["errors"])]
        out += [cell(row["values"][v]) for v in self.values]
        return out


def cell(v: Any) -> str:
    """A JSON-ready value as one CSV cell."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, dict) and set(v) == {"unknown"}:
        return "?"
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


# -- population reports, tallied row by row -------------------------------------------------------

def contribution(pack: Any, name: str, position: int, result: Any = None, record_id: Any = None,
                 error: str | None = None) -> tuple:
    """What one household adds to report `name`: its group, measures and ids, or why it is not
    counted (invalid, filtered out, unplaced). Small, picklable, computed by the engine."""
    if result is None:
        return ("x", position, record_id if isinstance(record_id, str) else None, error)
    rr = pack.report(name, [result])
    day = result.as_of.isoformat()
    if rr.unplaced:
        return ("u", day, rr.unplaced[0])
    if not rr.groups:
        return ("o", day)
    g = rr.groups[0]
    return ("g", day, result.record_id, tuple(g.key.items()), dict(g.measures),
            tuple(m for m, ids in g.measure_ids.items() if ids),
            tuple(m for m, ids in g.unknown_ids.items() if ids))


class Tally:
    """A population report being added up: feed contributions in input order (`add`), combine
    tallies of consecutive parts (`merge`), then `finish` into the engine's ReportResult."""

    def __init__(self) -> None:
        # key -> [key dict, households, {measure: [total, unknown, ids, unknown ids]}]
        self.groups: dict[tuple, list] = {}
        self.invalid: list[dict] = []
        self.unplaced: list[str] = []
        self.considered = 0
        self.day: str | None = None

    def add(self, c: tuple) -> None:
        kind = c[0]
        if kind == "x":
            self.invalid.append({"position": c[1], "record_id": c[2], "error": c[3]})
            return
        self.day = self.day or c[1]
        self.considered += 1
        if kind == "u":
            self.unplaced.append(c[2])
        if kind != "g":
            return
        _, _, rid, key_items, measures, counted, unknown = c
        key = tuple(_hashable(v) for _, v in key_items)
        entry = self.groups.get(key)
        if entry is None:
            entry = self.groups[key] = [dict(key_items), 0, {m: [0, 0, [], []] for m in measures}]
        entry[1] += 1
        for m, v in measures.items():
            acc = entry[2][m]
            if m in unknown:
                acc[1] += 1
                acc[3].append(rid)
            elif m in counted:
                acc[0] += 1
                acc[2].append(rid)
            else:
                acc[0] += v          # a sum's value, or 0 for a count that does not hold

    def merge(self, other: Tally) -> Tally:
        """This tally followed by `other` (the next part of the input)."""
        self.invalid += other.invalid
        self.unplaced += other.unplaced
        self.considered += other.considered
        self.day = self.day or other.day
        for key, (kd, n, measures) in other.groups.items():
            entry = self.groups.get(key)
            if entry is None:
                self.groups[key] = [kd, n, measures]
                continue
            entry[1] += n
            for m, (total, unknown, ids, unknown_ids) in measures.items():
                acc = entry[2][m]
                acc[0] += total
                acc[1] += unknown
                acc[2] += ids
                acc[3] += unknown_ids
        return self

    def finish(self, pack: Any, name: str, as_of: Any = None) -> Any:
        """The ReportResult, equal to `pack.report(name, records)` over the same households."""
        from rulekit.engine.report import GroupResult, ReportResult
        day = self.day or as_of or dt.date.today().isoformat()
        empty = pack.report(name, [], as_of=day)       # parameters in force, the compiled report
        report = pack.compiled.reports[name]
        kinds = {m: kind for m, kind, _ in report.measures}
        out = []
        for key in sorted(self.groups, key=lambda k: tuple(str(x) for x in k)):
            kd, households, measures = self.groups[key]
            values = {m: _measure_value(measures[m], kinds[m]) for m in kinds}
            env = {**empty.params, "as_of": empty.as_of, **values}
            computed, rules = {}, {}
            for n, kind, expr in report.nodes:
                env[n] = v = expr(env)
                (computed if kind == "computed" else rules)[n] = v
            out.append(GroupResult(kd, households, values,
                                   {m: tuple(measures[m][2]) for m in kinds},
                                   {m: tuple(measures[m][3]) for m in kinds}, computed, rules))
        return ReportResult(pack, report, empty.as_of, out, list(self.invalid), list(self.unplaced),
                            empty.params, self.considered)


def _measure_value(acc: list, kind: str) -> Any:
    total, unknown, _, unknown_ids = acc
    if not unknown:
        return total
    why = {f"{unknown} household(s) with unknown facts: {', '.join(unknown_ids[:5])}"
           + ("…" if unknown > 5 else "")}
    return Unknown(why, (total, total + unknown)) if kind == "count" else Unknown(why)


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v
