"""Auditing decisions: the decision record, re-evaluating it (verify), and the decision log."""
