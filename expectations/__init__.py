"""Great Expectations suites for the raw and role tables, and `validate()` to run one.

Importing this package does not import Great Expectations (slow) nor open any database;
both happen inside `validate()`.
"""

from expectations.checks import (
    Between,
    Check,
    InSet,
    NotLessThan,
    NotNull,
    RowCountAtLeast,
    Unique,
    UniqueTogether,
)
from expectations.suites import RAW_SUITES, ROLE_SUITES, SUITES, TableSuite, suite_for
from expectations.validate import FailedExpectation, ValidationOutcome, held_open, validate

__all__ = [
    "RAW_SUITES",
    "ROLE_SUITES",
    "SUITES",
    "Between",
    "Check",
    "FailedExpectation",
    "InSet",
    "NotLessThan",
    "NotNull",
    "RowCountAtLeast",
    "TableSuite",
    "Unique",
    "UniqueTogether",
    "ValidationOutcome",
    "held_open",
    "suite_for",
    "validate",
]
