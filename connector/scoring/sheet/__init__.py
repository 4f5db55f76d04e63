"""The scoring model as a spreadsheet (CSV or XLSX) and back, without loss.

Two tables: *settings* (``setting``, ``value``, ``from``: version, name, range, warm_at,
floor_action, decay (points, every, applies_to, min_total) and one row per tier) and
*rules* (one row per rule, one column per :class:`Rule` field). Cells: text as is; numbers
as numbers; ``true``/``false``; ``equals``, ``one_of`` and ``email_domain`` as YAML flow
text (``'10'`` is text, ``10`` a number, ``[a, b]`` a list); an empty cell is "not set".
See docs/rules.md.

``layout`` names the tables and their columns, ``export`` writes a model as a sheet,
``tables`` finds the two tables in a CSV file or a workbook, ``cells`` decodes one cell,
``load`` turns the tables back into a validated model.
"""

from connector.scoring.sheet.export import export_csv, export_xlsx, flow_yaml, to_rows
from connector.scoring.sheet.layout import RULE_COLUMNS, SETTINGS_COLUMNS
from connector.scoring.sheet.load import import_sheet, write_yaml, yaml_text

__all__ = ["RULE_COLUMNS", "SETTINGS_COLUMNS", "export_csv", "export_xlsx", "flow_yaml",
           "import_sheet", "to_rows", "write_yaml", "yaml_text"]
