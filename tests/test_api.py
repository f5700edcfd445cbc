"""The public surface stays small and deliberate."""
from __future__ import annotations

import rulekit


def test_all_is_exactly_the_public_names() -> None:
    assert sorted(rulekit.__all__) == sorted([
        "AuditError", "Decision", "EvaluationError", "ExpressionError", "Household", "Member", "Pack",
        "PackError", "Problem", "Reason", "RecordError", "Result", "RulekitError", "__version__",
        "load_pack", "parse_household"])


def test_errors_subclass_matching_builtins() -> None:
    assert issubclass(rulekit.PackError, ValueError)
    assert issubclass(rulekit.RecordError, ValueError)
    assert issubclass(rulekit.EvaluationError, ArithmeticError)
    assert all(issubclass(e, rulekit.RulekitError) for e in (
        rulekit.PackError, rulekit.RecordError, rulekit.EvaluationError, rulekit.ExpressionError))


def test_bundled_packs_are_found_by_id() -> None:
    from rulekit.pack.spec import bundled_packs
    assert {"national", "yuxi"} <= set(bundled_packs())
