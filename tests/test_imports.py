"""The import structure of rt_sfamnet and ui: no cycles; the core imports without optional parts.

The import graph is read from the sources with :mod:`ast` (nothing is imported): a node per
module of ``rt_sfamnet`` and ``ui`` (a package is its ``__init__``), an edge ``A -> B`` when
``A`` imports ``B``. ``from P import x`` is an edge to the module ``P.x`` when that is a module
and to ``P`` otherwise; relative imports are resolved; imports of other packages are ignored.

Which imports count:

- **Module level** (the graph the lead asked for): every import executed when the module is
  imported (top level, also inside top-level ``if``/``try``/``with`` and class bodies), and
  ``if TYPE_CHECKING:`` imports, which couple the two modules for readers and type checkers
  just the same. Imports inside functions are left out of this graph: a lazy import is how
  this project keeps optional dependencies (mediapipe, pyrealsense2, Qt, CuPy) out of the
  import of the core, and those are not nodes of the graph anyway. This graph must be acyclic.
- **All imports**, function-level ones included: lazy imports *between our own modules* are
  not needed for optional dependencies, and the three cycles of issue 11 (``model <->
  weights``, ``flow.rgbd <-> flow._cuda_rgbd``, ``commands.gui -> ui.app -> ui.session ->
  commands.gui``) were all hidden behind them, where the module-level graph cannot see them.
  So this graph must be acyclic too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rt_sfamnet", "ui")

# Being removed in the same redesign (the app must not import the CLI layer: ``sources``
# resolves "auto"/"demo" and camera detection); until then the tests below report it as xfail.
PENDING_CYCLE = frozenset({"ui.app", "ui.session", "rt_sfamnet.commands.gui"})


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path,
             mods: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]


def _imports(tree: ast.Module, function_level: bool) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if function_level:
                    visit(node.body)
            else:
                for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                    sub = getattr(node, name, None)
                    if isinstance(sub, list):
                        visit([s for s in sub if isinstance(s, ast.AST)])

    visit(tree.body)
    return found


def import_graph(function_level: bool) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over rt_sfamnet and ui (see the module docstring)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set()
        for node in _imports(tree, function_level):
            targets.update(t for t in _targets(node, module, path, mods) if t in mods)
        targets.discard(module)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def _check(found: list[frozenset[str]]) -> None:
    if found == [PENDING_CYCLE]:
        pytest.xfail("commands.gui -> ui.app -> ui.session -> commands.gui is still there "
                     "(being removed: the app must not import the CLI layer)")
    assert not found, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


def test_graph_builder_on_known_edges():
    graph = import_graph(function_level=True)
    assert "rt_sfamnet.model" in graph["rt_sfamnet.weights"]
    assert {"rt_sfamnet.model", "rt_sfamnet.weights"} <= graph["rt_sfamnet.predictor"]
    assert "rt_sfamnet.flow.pyramid" in graph["rt_sfamnet.flow.rgbd"]
    # lazy imports are edges of this graph only
    assert "rt_sfamnet.flow._cuda_rgbd" in graph["rt_sfamnet.flow.rgbd"]
    assert "rt_sfamnet.flow._cuda_rgbd" not in import_graph(False)["rt_sfamnet.flow.rgbd"]


def test_cycle_finder_by_hand():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "d"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycles_among_module_level_imports():
    _check(cycles(import_graph(function_level=False)))


def test_no_cycles_counting_function_level_imports():
    _check(cycles(import_graph(function_level=True)))


def test_ui_does_not_import_the_cli_layer():
    graph = import_graph(function_level=True)
    bad = sorted(f"{m} -> {t}" for m, ts in graph.items() if m.split(".")[0] == "ui"
                 for t in ts if t.startswith("rt_sfamnet.commands"))
    if bad and {b.split(" -> ")[1] for b in bad} <= PENDING_CYCLE:
        pytest.xfail(f"ui still imports the CLI layer ({', '.join(bad)}); being removed")
    assert not bad, bad


BLOCKED = ("mediapipe", "pyrealsense2", "PySide6", "PyQt5", "PyQt6", "pyqtgraph", "cupy", "cv2")


def test_model_and_flow_import_without_optional_dependencies():
    """rt_sfamnet.model, .predictor, .weights and .flow import with NumPy/PyTorch only."""
    code = textwrap.dedent(f"""
        import importlib.abc, sys
        BLOCKED = {BLOCKED!r}

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"blocked optional dependency {{name}}")
                return None

        sys.meta_path.insert(0, Block())
        import rt_sfamnet.flow, rt_sfamnet.flow.rgbd, rt_sfamnet.flow.tvl1
        import rt_sfamnet.model, rt_sfamnet.predictor, rt_sfamnet.weights
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not loaded, loaded
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
