"""Everything ce-loss prints: Rich tables for people, JSON, CSV and plain text for scripts.

The only package that formats output. It receives a finished :class:`ce_cli.report.Report` and
returns text (machine formats) or prints to a Rich console (tables).
"""

from .machine import settings_dict, to_csv, to_json, to_plain, verdict_csv, verdict_json
from .numbers import fnum, short
from .tables import print_table

__all__ = [
    "fnum",
    "print_table",
    "settings_dict",
    "short",
    "to_csv",
    "to_json",
    "to_plain",
    "verdict_csv",
    "verdict_json",
]
