"""Output rows and population-report tallies: what one household contributes to a batch run.

Both the local run (run.py) and the Dask adapter (dask.py) turn each input row into one output row
here, so their outputs are equal by construction. A row is either a decision (outcome ids,
Chinese labels and status per decision, the rules that fired, key values) or an error row (the
input position and a readable reason); never nothing.

Population reports are added up by the engine's own tally (`engine.report.ReportTally`, the one
`pack.report` uses): each household's `contribution` is small and picklable, a tally can be saved
between checkpoints and merged across processes or partitions, and `Tally.finish` runs the
report's group rules on the sums, exactly as `pack.report` does over the whole population at once.
"""
from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rulekit.batch.readers import BatchError
from rulekit.engine.report import ReportTally, contribution
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


# -- population reports: tallied by the engine's ReportTally, which merges across processes ------------

Tally = ReportTally
__all__ = ["HOUSEHOLD_STATUSES", "INVALID", "Layout", "Tally", "cell", "contribution"]
