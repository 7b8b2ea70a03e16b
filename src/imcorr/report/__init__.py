"""One self-contained HTML report of an image pair (figures from :mod:`imcorr.plot`, no network resource).

``imcorr.report`` is both this subpackage and the function :func:`report`. Python binds a subpackage to
its parent's attribute when it is first imported, which would hide the function: this module is
therefore callable and forwards to :func:`report`, so ``imcorr.report(a, b)`` works whichever was
imported first.
"""

import sys
import types

from imcorr.report.build import REPORT_SECTIONS, ReportResult, report

__all__ = ["report", "ReportResult", "REPORT_SECTIONS"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs) -> ReportResult:
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
