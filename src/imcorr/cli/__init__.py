"""The ``imcorr`` command line: thin wrappers over the public API.

Each command lives in its own ``cmd_<name>.py`` module that registers itself on
:data:`imcorr.cli._app.app`; add the module name to ``_COMMAND_MODULES`` below.

Exit codes: 0 success, 1 data error (an :class:`~imcorr.errors.ImcorrError`),
2 usage error. Errors print one line, ``imcorr: error: <message>``; ``--debug``
(anywhere on the command line) shows the traceback instead.
"""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import ImcorrError
from ._app import app

__all__ = ["main", "app"]

_COMMAND_MODULES = [
    "cmd_corr",
    "cmd_demo",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")


def _fail(message: str, code: int) -> int:
    click.echo(f"imcorr: error: {message}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Returns (and exits with) the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app.main(args=args, prog_name="imcorr", standalone_mode=False)
        code = 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        code = _fail("aborted", 1)
    except click.ClickException as exc:
        if debug:
            raise
        code = _fail(exc.format_message().replace("\n", " "), exc.exit_code)
    except ImcorrError as exc:
        if debug:
            raise
        code = _fail(str(exc).replace("\n", " "), 1)
    except (OSError, ValueError, MemoryError) as exc:
        if debug:
            raise
        code = _fail(f"{type(exc).__name__}: {exc}".replace("\n", " "), 1)
    if argv is None:
        sys.exit(code)
    return code
