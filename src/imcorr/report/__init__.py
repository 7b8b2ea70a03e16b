"""One self-contained HTML report of an image pair (figures from :mod:`imcorr.plot`, no network resource)."""

from imcorr.report.build import REPORT_SECTIONS, ReportResult, report

__all__ = ["report", "ReportResult", "REPORT_SECTIONS"]
