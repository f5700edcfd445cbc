"""The error family.

A leaf check says *what* is wrong in one sentence; the stage that walks the pack or the record
adds *where* (file, line, column, key path, rule id). Every error subclasses the matching builtin
so callers that only know `ValueError` still catch it, and `str(error) == error.message`.
"""
from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "RulekitError", "Problem", "PackError", "RecordError", "ExpressionError", "EvaluationError",
    "AuditError",
]


@attrs.frozen
class Problem:
    """One located finding: where it is and what is wrong (with the fix in the sentence)."""

    message: str
    file: str | None = None
    line: int | None = None      # 1-based
    column: int | None = None    # 1-based
    path: str | None = None      # key path in the pack, JSON path in a record
    rule_id: str | None = None
    severity: str = "error"
    zh: str | None = None        # the Chinese sentence, when the finder wrote one

    def text(self, lang: str = "en") -> str:
        """The sentence in `lang`; Chinese comes from the finder or the message catalogue."""
        if lang == "zh":
            from rulekit.trace.messages import problem_zh
            return self.zh or problem_zh(self.message) or self.message
        return self.message

    def location(self) -> str:
        """`file:line:col key.path` with the parts that are known."""
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
        if self.path:
            where = f"{where} {self.path}" if where else self.path
        return where

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict:
        return attrs.asdict(self)


class RulekitError(Exception):
    """Base of every error rulekit raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class _ManyProblems(RulekitError):
    """An error that carries every problem found, not only the first (collect, then raise)."""

    title = "problems"

    def __init__(self, problems: Iterable[Problem], subject: str = "") -> None:
        self.problems: list[Problem] = sorted(
            problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.path or ""))
        head = f"{len(self.problems)} {self.title}" + (f" in {subject}" if subject else "")
        body = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{head}:\n{body}" if self.problems else head)


class PackError(_ManyProblems, ValueError):
    """A policy pack (or a parameter override file) is invalid."""

    title = "problem(s)"


class RecordError(_ManyProblems, ValueError):
    """A household record does not match the record schema."""

    title = "problem(s)"

    def __init__(self, problems: Iterable[Problem], subject: str = "",
                 record_id: str | None = None) -> None:
        self.record_id = record_id
        super().__init__(problems, subject)


class ExpressionError(RulekitError, ValueError):
    """An expression in a pack cannot be compiled (syntax, refused construct, unknown name, type)."""

    def __init__(self, message: str, *, source: str = "", offset: int | None = None) -> None:
        self.source = source
        self.offset = offset
        super().__init__(message)


class EvaluationError(RulekitError, ArithmeticError):
    """Evaluating a compiled expression failed for one record (e.g. a division by zero)."""

    def __init__(self, message: str, *, rule_id: str | None = None, expression: str = "",
                 values: dict | None = None) -> None:
        self.rule_id = rule_id
        self.expression = expression
        self.values = values or {}
        super().__init__(message)


class AuditError(_ManyProblems, ValueError):
    """A decision record or a decision log cannot be used (invalid, altered, not a rulekit log)."""

    title = "problem(s)"
