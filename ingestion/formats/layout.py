"""A layout: a vendor export shape expressed as defaults of ordinary declaration keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Declaration = Mapping[str, Any]


def _no_defaults(declared: Declaration) -> dict[str, object]:
    return {}


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    formats: tuple[str, ...]  # file formats the vendor exports in this shape
    # Declaration keys filled in when the feed does not declare them itself; computed from
    # what the feed does declare (a Qualtrics feed keyed on ImportIds finds `status`, not
    # `Status`).
    defaults: Callable[[Declaration], Mapping[str, object]] = _no_defaults
    # Value mappings per canonical field, used for the fields the feed maps under `columns`.
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Keys the feed must declare itself because no default can be right for everyone.
    required: Mapping[str, str] = field(default_factory=dict)  # key -> why
