"""Tools for policy staff: the policy book (doc), the impact of a change (diff), sample populations."""
