"""The household record: typed model, schema, aliases and the facts the engine reads."""
from rulekit.record.model import Household, Member
from rulekit.record.schema import household_schema, normalise, parse_household, to_canonical

__all__ = ["Household", "Member", "household_schema", "normalise", "parse_household", "to_canonical"]
