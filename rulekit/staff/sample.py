"""A sample population for a pack: plausible, schema-valid household records that together reach
every outcome of the pack's decisions, seeded and reproducible.

This module is the entry point (`generate`, `sample`) and its result (`Sample`). The records are
drawn in `rulekit.staff.draw`; the targeted search that makes the sample reach every outcome is in
`rulekit.staff.search`. The search is bounded; outcomes it could not reach are reported, never
hidden. One `random.Random(seed)` drives everything, so the same (pack, n, seed) gives the same
records.
"""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import attrs

from rulekit.engine.pack import Pack
from rulekit.staff.search import _Generator


@attrs.frozen
class Sample:
    records: list[dict]
    reached: dict[str, dict[str, int]]          # decision -> outcome -> households reaching it
    unreached: tuple[tuple[str, str], ...]      # (decision, outcome) the search could not reach
    tries: int                                  # records evaluated by the targeted search
    invalid: tuple[str, ...] = ()               # ids of records the pack rejects (none, normally)
    as_of: dt.date | None = None                # flat records carry no date: evaluate them as of this


def sample(pack: Pack, n: int, seed: int = 0, *, collected_on: dt.date | None = None) -> list[dict]:
    """`n` plausible household records for `pack` reaching every outcome it can (see `generate`)."""
    return generate(pack, n, seed, collected_on=collected_on).records


def generate(pack: Pack, n: int, seed: int = 0, *, collected_on: dt.date | None = None,
             max_tries: int | None = None) -> Sample:
    """The sample, which outcomes it reaches, and which it could not reach within `max_tries`
    mutated records (default 60 per outcome of the pack, at least 3000)."""
    if n < 1:
        raise ValueError(f"n must be at least 1 (got {n})")
    gen = _Generator(pack, random.Random(seed), collected_on)
    records = [gen.record(i) for i in range(n)]
    targets = [(d.name, o.id) for d in pack.spec.decisions.values() for o in d.outcomes]
    budget = max_tries if max_tries is not None else max(3000, 60 * len(targets))
    hits = [gen.hits(r) for r in records]
    tries = gen.search(records, hits, targets, budget)
    count: Counter[tuple[str, str]] = Counter(h for hs in hits for h in hs)
    reached = {d.name: {o.id: count[(d.name, o.id)] for o in d.outcomes}
               for d in pack.spec.decisions.values()}
    invalid = tuple(r["id"] for r in records if not gen.valid(r))
    return Sample(records, reached, tuple(t for t in targets if not count[t]), tries, invalid,
                  gen.day0 if pack.spec.facts else None)
