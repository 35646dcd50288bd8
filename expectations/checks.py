"""The checks a suite is made of, as plain data, and their translation to GX expectations.

Suites are written with these small frozen dataclasses rather than GX objects so that
adjusting a rule is a one-line data edit, and so that importing the suite registry stays
cheap: Great Expectations takes seconds to import, and it is only loaded when a suite is
turned into expectations (`to_expectation`), i.e. when something is actually validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

Scalar = str | int | float | bool


@dataclass(frozen=True)
class RowCountAtLeast:
    """The table holds at least `min_rows` rows (0 still records the observed row count)."""

    min_rows: int


@dataclass(frozen=True)
class NotNull:
    column: str


@dataclass(frozen=True)
class Unique:
    column: str


@dataclass(frozen=True)
class UniqueTogether:
    """No two rows share the same combination of values in `columns`."""

    columns: tuple[str, ...]


@dataclass(frozen=True)
class Between:
    """Values lie in [min_value, max_value]; None leaves that side open. NULLs are not judged."""

    column: str
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class InSet:
    """Values are one of `values`. NULLs are not judged (pair with NotNull when required)."""

    column: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class NotLessThan:
    """Row by row, `column` >= `other` (e.g. a due date never before its open date)."""

    column: str
    other: str


Check = RowCountAtLeast | NotNull | Unique | UniqueTogether | Between | InSet | NotLessThan


def to_expectation(check: Check) -> Expectation:
    """The GX 1.x expectation that enforces `check`."""
    import great_expectations.expectations as gxe

    match check:
        case RowCountAtLeast(min_rows=min_rows):
            return gxe.ExpectTableRowCountToBeBetween(min_value=min_rows, max_value=None)
        case NotNull(column=column):
            return gxe.ExpectColumnValuesToNotBeNull(column=column)
        case Unique(column=column):
            return gxe.ExpectColumnValuesToBeUnique(column=column)
        case UniqueTogether(columns=columns):
            return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns))
        case Between(column=column, min_value=min_value, max_value=max_value):
            return gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=min_value, max_value=max_value
            )
        case InSet(column=column, values=values):
            return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values))
        case NotLessThan(column=column, other=other):
            return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=column, column_B=other, or_equal=True
            )
    raise TypeError(f"unknown check {check!r}")
