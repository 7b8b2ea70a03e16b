"""The ``imcorr`` command line: thin wrappers over the public API.

Each command lives in its own ``cmd_<name>.py`` module that registers itself on
:data:`imcorr.cli._app.app`; add the module name to ``_COMMAND_MODULES`` below.

Exit codes: 0 success, 1 data error (an :class:`~imcorr.errors.ImcorrError` about the
data or a file), 2 usage error (a bad option or option value, also when the library
refuses an option's value). Errors print one line, ``imcorr: error: <message>``, in CLI
terms (files and ``--options``, not API argument names); Python warnings print one line
each, ``imcorr: warning: <message>``. ``--debug`` (anywhere on the command line) shows
the traceback; ``--quiet``/``-q`` (anywhere) turns progress bars off (they are off anyway
when stderr is not a terminal).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings

import click

from imcorr.cli._app import app
from imcorr.cli._common import cli_message, is_option_error, reset_names
from imcorr.errors import (
    EmptyInputError,
    ImcorrError,
    InputError,
    MaskError,
    MemoryLimitError,
    NonFiniteError,
    ShapeMismatchError,
)

__all__ = ["main", "app"]

_COMMAND_MODULES = [
    "cmd_compare",
    "cmd_corr",
    "cmd_corrmatrix",
    "cmd_delay",
    "cmd_demo",
    "cmd_hash",
    "cmd_keypoints",
    "cmd_shift",
    "cmd_match",
    "cmd_localmap",
    "cmd_coloc",
    "cmd_report",
    "cmd_dic",
    "cmd_xcorr",
    "cmd_collection",
    "cmd_pairs",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")


def _fail(message: str, code: int, debug: bool = False) -> int:
    if debug:
        import traceback

        traceback.print_exc()
    click.echo(f"imcorr: error: {cli_message(message)}", err=True)
    return code


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Every Python warning as one ``imcorr: warning: ...`` line (no file, line or source)."""
    click.echo(f"imcorr: warning: {cli_message(str(message))}", err=True)


#: data errors that mention an option but are about the data (exit 1, not 2)
_DATA_ERRORS = (MemoryLimitError, MaskError, NonFiniteError, ShapeMismatchError, EmptyInputError)


def _exit_code(exc: ImcorrError) -> int:
    if isinstance(exc, InputError) and not isinstance(exc, _DATA_ERRORS) and is_option_error(str(exc)):
        return 2  # the library refused an option's value: a usage error
    return 1


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext()
    from imcorr._core.progress import rich_progress

    return rich_progress()


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Returns (and exits with) the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    quiet = "--quiet" in args or "-q" in args
    front = (["--debug"] if debug else []) + (["--quiet"] if quiet else [])
    # accepted anywhere on the command line; click wants them before the command
    args = front + [a for a in args if a not in ("--debug", "--quiet", "-q")]
    no_args_help = getattr(click.exceptions, "NoArgsIsHelpError", ())
    reset_names()
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            code = _run(args, quiet, debug, no_args_help)
        finally:
            reset_names()
    if argv is None:
        sys.exit(code)
    return code


def _run(args: list[str], quiet: bool, debug: bool, no_args_help) -> int:
    if os.environ.get("IMCORR_MEMORY_LIMIT"):  # a bad setting is refused before any command runs
        from imcorr._core.validate import memory_limit_setting

        try:
            memory_limit_setting()
        except InputError as exc:
            return _fail(str(exc), 2)
    try:
        with _progress(quiet):
            rv = app.main(args=args, prog_name="imcorr", standalone_mode=False)
        return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0  # click returns Exit codes
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        return _fail("aborted", 1)
    except no_args_help as exc:  # bare `imcorr`: show the help, like `imcorr --help`
        click.echo(exc.ctx.get_help())
        return 0
    except click.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code, debug)
    except ImcorrError as exc:
        return _fail(str(exc), _exit_code(exc), debug)
    except (OSError, ValueError, MemoryError) as exc:
        return _fail(f"{type(exc).__name__}: {exc}", 1, debug)
    except Exception as exc:  # a bug: still one line, the traceback with --debug
        return _fail(f"internal error, {type(exc).__name__}: {exc} (run with --debug for the traceback)", 1, debug)
