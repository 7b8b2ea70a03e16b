"""The package layout holds: no import circle, no lazy import hiding one, public names on public modules.

import-linter (``lint-imports`` in ``make test``) checks the layers between packages; these tests check
what it does not: circles between modules of one package, imports hidden inside functions, and that
the subpackages' re-exports are what ``imcorr`` exports.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import grimp
import pytest

import imcorr

ROOT = Path(imcorr.__file__).parent
# every public subpackage but the front ends: a new capability (coloc/, dic/, ...) is checked as soon as it exists
CAPABILITIES = tuple(sorted(
    p.name for p in ROOT.iterdir()
    if (p / "__init__.py").is_file() and not p.name.startswith("_") and p.name not in ("cli", "demo")
))
# cli and demo sit on top (nothing imports them), so an import inside one of their functions cannot hide a
# circle; they import lazily to keep `imcorr --help` fast.
LAZY_ALLOWED = ("cli/", "demo/")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each a list of module names."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _module_graph() -> dict[str, set[str]]:
    g = grimp.build_graph("imcorr", include_external_packages=False)
    graph: dict[str, set[str]] = {}
    for m in g.modules:
        if m == "imcorr":  # the root re-exports everything; it is not part of any circle worth the name
            continue
        deps = {d for d in g.find_modules_directly_imported_by(m) if d != "imcorr"}
        # importing a submodule runs its package __init__: that edge is real too
        graph[m] = deps
    return graph


def test_no_import_circle_between_modules():
    cycles = _cycles(_module_graph())
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _function_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom) and (sub.level > 0 or (sub.module or "").split(".")[0] == "imcorr"):
                    found.append(f"{path.relative_to(ROOT)}:{sub.lineno}: from {'.' * sub.level}{sub.module}")
                elif isinstance(sub, ast.Import) and any(a.name.split(".")[0] == "imcorr" for a in sub.names):
                    found.append(f"{path.relative_to(ROOT)}:{sub.lineno}: import {sub.names[0].name}")
    return found


def test_no_lazy_internal_import_below_the_cli():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(LAZY_ALLOWED):
            continue
        offenders += _function_level_imports(path)
    assert not offenders, "imports of imcorr inside functions (they hide circles):\n" + "\n".join(offenders)


def test_lazy_import_detector_detects(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from imcorr.stats import effective_n\n    import numpy\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert _function_level_imports(p) == ["m.py:2: from imcorr.stats"]
    finally:
        ROOT = saved


def test_no_star_imports():
    offenders = [
        f"{p.relative_to(ROOT)}:{n.lineno}"
        for p in ROOT.rglob("*.py")
        for n in ast.walk(ast.parse(p.read_text()))
        if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
    ]
    assert not offenders


@pytest.mark.parametrize("sub", CAPABILITIES)
def test_subpackage_reexports_are_exported_by_imcorr(sub):
    mod = importlib.import_module(f"imcorr.{sub}")  # not getattr: imcorr.report is the function
    for name in mod.__all__:
        if f"imcorr.{name}" == mod.__name__:
            # imcorr.report names the function and its subpackage; once the subpackage is imported, Python
            # binds the module there, and the module forwards calls to the function
            assert getattr(imcorr, name) in (mod, getattr(mod, name)) and callable(getattr(imcorr, name))
        else:
            assert getattr(imcorr, name) is getattr(mod, name), f"imcorr.{name} is not imcorr.{sub}.{name}"
        assert name in imcorr.__all__


def test_public_objects_live_on_public_modules():
    private = []
    for name in imcorr.__all__:
        obj = getattr(imcorr, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if any(part.startswith("_") for part in obj.__module__.split(".")):
                private.append(f"{name}: {obj.__module__}")
    assert not private, "public names defined in private modules:\n" + "\n".join(private)


def test_every_public_function_has_a_runnable_example():
    """The brief: a runnable Example (doctested by `make test`) for every public function."""
    missing = [
        name for name in imcorr.__all__
        if inspect.isfunction(getattr(imcorr, name)) and ">>> " not in (getattr(imcorr, name).__doc__ or "")
    ]
    assert missing == [], f"public functions without an Examples section: {missing}"
