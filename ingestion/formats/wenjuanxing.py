"""Wenjuanxing (问卷星) exports, by text (按文本) and by code (按序号), as XLS, XLSX or CSV.

Six metadata columns lead: 序号 (response number), 提交答卷时间 (`YYYY/MM/DD HH:MM:SS`,
Beijing time), 所用时间, 来源, 来源详情, 来自IP; then `N、题目` question columns and
`第N题(…)` sub-columns. By text, a skipped question reads `(跳过)` and an empty fill-in
`(空)`; by code, `-2` is skipped and `-3` not shown: all become NULL. Multi-select answers
(`A┋B`), rankings (`A→B`) and free text attached to an option (`其他〖…〗`) stay verbatim
text. CSV downloads are often GBK/GB18030, hence `encoding: auto`.
"""

from __future__ import annotations

from ingestion.formats.layout import Declaration, Layout

SUBMITTED_AT_FORMAT = "%Y/%m/%d %H:%M:%S"
TEXT_NULLS: list[str] = ["(跳过)", "(空)"]
CODE_NULLS: list[str] = ["-2", "-3", *TEXT_NULLS]


def _shared(nulls: list[str]) -> dict[str, object]:
    return {
        "encoding": "auto",
        "timezone": "Asia/Shanghai",
        "timestamp_format": SUBMITTED_AT_FORMAT,
        "null_values": nulls,
    }


def _text_defaults(declared: Declaration) -> dict[str, object]:
    return _shared(TEXT_NULLS)


def _code_defaults(declared: Declaration) -> dict[str, object]:
    return _shared(CODE_NULLS)


WENJUANXING_TEXT = Layout(
    name="wenjuanxing_text",
    description="问卷星 export by text (按文本): (跳过) -> NULL",
    formats=("xlsx", "xls", "csv"),
    defaults=_text_defaults,
)
WENJUANXING_CODE = Layout(
    name="wenjuanxing_code",
    description="问卷星 export by code (按序号): -2 skipped / -3 not shown -> NULL",
    formats=("xlsx", "xls", "csv"),
    defaults=_code_defaults,
)
