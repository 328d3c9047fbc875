"""The app uses other packages through their public API only: no module of it imports, reads or
writes another package's private name (`_x`), or patches another package's module at run time."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from standins.processes import ROOT

SCANNED = [ROOT / "function_app.py", *(ROOT / "chat_api").rglob("*.py")]
SCANNED += [*(ROOT / "devhost").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
OWN_PACKAGES = frozenset({"chat_api", "devhost", "bench", "tests", "function_app"})
# OpenTelemetry's logs signal is still in development upstream: its API, SDK and OTLP exporter are
# published (and documented) only under these names.
ALLOWED_MODULES = frozenset(
    {
        "opentelemetry._logs",
        "opentelemetry.sdk._logs",
        "opentelemetry.sdk._logs.export",
        "opentelemetry.exporter.otlp.proto.http._log_exporter",
    }
)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _foreign(module: str) -> bool:
    return module.split(".")[0] not in OWN_PACKAGES


def _own_private_names(trees: list[ast.Module]) -> set[str]:
    """Every private name the app itself defines: its functions, classes, variables and
    attributes (assigned on any object, or listed in `__slots__`)."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name | ast.arg):
                names.add(node.id if isinstance(node, ast.Name) else node.arg)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Assign) and "__slots__" in map(ast.unparse, node.targets):
                names |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
            elif isinstance(node, ast.alias) and node.asname:
                names.add(node.asname)
    return {name for name in names if _private(name)}


def _foreign_module_names(tree: ast.Module) -> set[str]:
    """The names a module binds to another package's modules and objects by importing them."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names if _foreign(a.name)}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _foreign(node.module or ""):
            bound |= {a.asname or a.name for a in node.names}
    return bound


def _violations(tree: ast.Module, own: set[str]) -> Iterator[tuple[int, str]]:
    foreign = _foreign_module_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield from _private_imports(node)
        elif isinstance(node, ast.Attribute):
            if _private(node.attr) and node.attr not in own:
                yield node.lineno, f"reads or writes .{node.attr}"
            elif isinstance(node.ctx, ast.Store) and _names(node.value) & foreign:
                yield node.lineno, f"patches {ast.unparse(node)}"
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in {"getattr", "setattr"}:
            looked_up = node.args[1] if len(node.args) > 1 else None
            name = looked_up.value if isinstance(looked_up, ast.Constant) else None
            if isinstance(name, str) and _private(name) and name not in own:
                yield node.lineno, f"looks up {name!r}"


def _private_imports(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[int, str]]:
    if isinstance(node, ast.ImportFrom):
        if node.level or not _foreign(node.module or "") or node.module in ALLOWED_MODULES:
            return
        module = node.module or ""
        if any(_private(part) for part in module.split(".")):
            yield node.lineno, f"imports from {module}"
        for alias in node.names:
            if _private(alias.name):
                yield node.lineno, f"imports {alias.name} from {module}"
        return
    for alias in node.names:
        private = any(_private(part) for part in alias.name.split("."))
        if private and _foreign(alias.name) and alias.name not in ALLOWED_MODULES:
            yield node.lineno, f"imports {alias.name}"


def _names(node: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def find_violations(files: list[Path]) -> list[str]:
    trees = {path: ast.parse(path.read_text("utf-8")) for path in files}
    own = _own_private_names(list(trees.values()))
    return [
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}: {what}"
        for path, tree in trees.items()
        for line, what in _violations(tree, own)
    ]


def test_no_module_of_the_app_uses_another_package_s_private_names():
    assert find_violations(SCANNED) == []


@pytest.mark.parametrize(
    "code",
    [
        "from opentelemetry import context\ncontext._RUNTIME_CONTEXT.attach(None)",
        "from opentelemetry import context\ngetattr(context, '_RUNTIME_CONTEXT', None)",
        "def scope(tracer):\n    return tracer._instrumentation_scope",
        "from opentelemetry.sdk.trace import _Span",
        "import opentelemetry.sdk._configuration",
        "from opentelemetry.exporter.otlp.proto.http import trace_exporter\n"
        "trace_exporter.encode_spans = print",
    ],
)
def test_the_scan_finds_each_way_of_reaching_into_another_package(code, tmp_path):
    module = tmp_path / "reaching.py"
    module.write_text(code, "utf-8")

    assert len(find_violations([module])) == 1
