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
import traceback

import click

from imcorr.cli._app import app
from imcorr.errors import ImcorrError

__all__ = ["main", "app"]

_COMMAND_MODULES = [
    "cmd_compare",
    "cmd_corr",
    "cmd_delay",
    "cmd_demo",
    "cmd_hash",
    "cmd_shift",
    "cmd_match",
    "cmd_localmap",
    "cmd_pairs",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")


def _fail(message: str, code: int, debug: bool = False) -> int:
    if debug:
        traceback.print_exc()
    click.echo(f"imcorr: error: {' '.join(str(message).split())}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Returns (and exits with) the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:  # accepted anywhere on the command line; click wants it before the command
        args = ["--debug"] + [a for a in args if a != "--debug"]
    no_args_help = getattr(click.exceptions, "NoArgsIsHelpError", ())
    try:
        rv = app.main(args=args, prog_name="imcorr", standalone_mode=False)
        code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0  # click returns Exit codes
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        code = _fail("aborted", 1)
    except no_args_help as exc:  # bare `imcorr`: show the help, like `imcorr --help`
        click.echo(exc.ctx.get_help())
        code = 0
    except click.ClickException as exc:
        code = _fail(exc.format_message(), exc.exit_code, debug)
    except ImcorrError as exc:
        code = _fail(str(exc), 1, debug)
    except (OSError, ValueError, MemoryError) as exc:
        code = _fail(f"{type(exc).__name__}: {exc}", 1, debug)
    except Exception as exc:  # a bug: still one line, the traceback with --debug
        code = _fail(f"internal error, {type(exc).__name__}: {exc} (run with --debug for the traceback)", 1, debug)
    if argv is None:
        sys.exit(code)
    return code
