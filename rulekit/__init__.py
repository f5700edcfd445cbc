"""rulekit: poverty-return monitoring policies as declarative YAML packs, decided per household
with a reason chain an auditor can follow back to the clause it came from."""
from rulekit.engine.pack import Pack, load_pack
from rulekit.errors import EvaluationError, ExpressionError, PackError, Problem, RecordError, RulekitError
from rulekit.record import Household, Member, parse_household
from rulekit.trace.result import Decision, Reason, Result

__version__ = "0.1.0"

__all__ = [
    "AuditError", "Decision", "EvaluationError", "ExpressionError", "Household", "Member", "Pack",
    "PackError", "Problem", "Reason", "RecordError", "Result", "RulekitError", "__version__", "load_pack",
    "parse_household",
]
