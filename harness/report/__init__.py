"""Reports of a run: ``report.json`` (validated by ``report.schema.json``) and ``report.md``."""

from harness.report.atomic import write_text_atomic
from harness.report.build import (
                                  REPORT_JSON,
                                  REPORT_MD,
                                  SCHEMA_PATH,
                                  SCHEMA_VERSION,
                                  build_report,
                                  gate,
                                  load_report,
                                  load_schema,
                                  to_jsonable,
                                  validate_report,
                                  write_report,
)
from harness.report.markdown import render_markdown

__all__ = ["REPORT_JSON", "REPORT_MD", "SCHEMA_PATH", "SCHEMA_VERSION", "build_report", "gate",
           "load_report", "load_schema", "render_markdown", "to_jsonable", "validate_report",
           "write_report", "write_text_atomic"]
