"""Runtime values of the expression language that are not plain Python values."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Unknown:
    """A value that depends on facts the record does not give; it names those facts.

    It is never equal to anything and never true or false: comparing or combining it yields
    another Unknown, so a missing fact can only decide nothing (three-valued logic).
    """

    __slots__ = ("missing", "bounds")

    def __init__(self, missing: Iterable[str], bounds: tuple[float, float] | None = None) -> None:
        self.missing = frozenset(missing)
        # for a count over items some of which are unknown: the least and most it can be, so a
        # comparison that holds (or fails) at both ends is decided without the missing facts
        self.bounds = bounds

    def __bool__(self) -> bool:
        raise TypeError("an Unknown value has no truth value")

    def __repr__(self) -> str:
        return f"Unknown({sorted(self.missing)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.missing == self.missing

    def __hash__(self) -> int:
        return hash(self.missing)


def is_unknown(value: Any) -> bool:
    return value.__class__ is Unknown


def merge(*values: Any) -> Unknown:
    """One Unknown naming every fact missing from any of `values`."""
    missing: set[str] = set()
    for v in values:
        if v.__class__ is Unknown:
            missing |= v.missing
    return Unknown(missing)
