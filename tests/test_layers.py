"""The package's layers: config imports nothing from the package, no import cycle anywhere,
papers never import each other and shared modules never import a paper, and starting a
run or reading results imports no Keras.

Imports are read from the source (module level and inside functions alike), so a lazy
import inside a function counts as an edge too.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "mer_utils"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The package module an import names (the longest existing prefix)."""
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in MODULES:
            return cand
        parts = parts[:-1]
    return None


def imports_of(mod: str) -> set[str]:
    path = MODULES[mod]
    tree = ast.parse(path.read_text())
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for n in names:
            if n.startswith("mer_utils"):
                r = _resolve(n)
                if r and r != mod:
                    out.add(r)
    return out


GRAPH = {m: imports_of(m) for m in MODULES}


def _is_init_of(a: str, b: str) -> bool:
    """``a`` is a package whose __init__ re-exports from its own sub-module ``b``."""
    return MODULES[a].name == "__init__.py" and b.startswith(a + ".")


def test_config_imports_nothing_from_the_package():
    assert GRAPH["mer_utils.config"] == set()


def test_no_import_cycle():
    # a package __init__ re-exporting its own sub-modules is not a cycle of concern
    graph = {m: {d for d in deps if not _is_init_of(m, d)} for m, deps in GRAPH.items()}
    # ... but a sub-module reaching back into its parent's __init__ while that __init__
    # imports it would be: keep those edges (they are in graph unless parent->child).
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _paper(module: str) -> str | None:
    """``mer_utils.papers.<paper>`` for any module of a paper's sub-package, else None."""
    parts = module.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 and parts[1] == "papers" else None


#: The papers' index, and notebook 80's command-line twin (the top layer): the only modules
#: that hold several papers.
HOLDS_PAPERS = ("mer_utils.papers", "mer_utils.predict")


def test_papers_import_no_paper_and_shared_modules_import_no_paper():
    for m, deps in GRAPH.items():
        mine = _paper(m)
        bad = {d for d in deps if _paper(d) and _paper(d) != mine}
        if mine:
            assert not bad, f"{m} imports another paper: {bad}"
        elif m not in HOLDS_PAPERS:
            assert not bad, f"shared module {m} imports a paper: {bad}"


def test_cycle_checker_can_fail():
    """The checker finds a cycle when one is there (so a green result means something)."""
    global GRAPH
    saved = GRAPH
    try:
        GRAPH = dict(saved, **{"mer_utils.config": {"mer_utils.results"}})
        with pytest.raises(AssertionError, match="import cycles"):
            test_no_import_cycle()
    finally:
        GRAPH = saved


@pytest.mark.parametrize("module", ["mer_utils.context", "mer_utils.results", "mer_utils.evaluation",
                                    "mer_utils.experiment", "mer_utils.datasets", "mer_utils.features",
                                    "mer_utils.cost"])
def test_light_modules_do_not_import_keras(module):
    code = f"import sys, {module}; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], f"{module} pulls in Keras/TensorFlow"


# The layer of every module, as docs/ARCHITECTURE.md's table documents it: a module may
# import its own layer or lower ones, never a higher one. The longest matching prefix wins.
LAYERS = {
    "mer_utils": 0, "mer_utils.config": 0,
    "mer_utils.labels": 1, "mer_utils.download": 1, "mer_utils.audio": 1, "mer_utils.cache": 1,
    "mer_utils.datasets": 1, "mer_utils.cost": 1,
    "mer_utils.features": 2, "mer_utils.augment": 2, "mer_utils.models": 2, "mer_utils.embeddings": 2,
    "mer_utils.embeddings.openl3": 2, "mer_utils.results": 2,
    "mer_utils.evaluation": 3, "mer_utils.training": 3, "mer_utils.plots": 3,
    "mer_utils.experiment": 4, "mer_utils.context": 4,
    "mer_utils.leaderboard": 5, "mer_utils.scorecard": 5, "mer_utils.results_gallery": 5,
    "mer_utils.papers": 6,
    "mer_utils.predict": 7, "mer_utils.html_report": 7, "mer_utils.notebook_runner": 7,
}


def layer_of(module: str) -> int:
    if module == "mer_utils":
        return 0
    parts = module.split(".")
    while len(parts) > 1:
        name = ".".join(parts)
        if name in LAYERS:
            return LAYERS[name]
        parts = parts[:-1]
    raise KeyError(f"{module} has no layer: add it to LAYERS here and to docs/ARCHITECTURE.md")


def test_every_module_has_a_documented_layer():
    doc = (PKG.parent / "docs" / "ARCHITECTURE.md").read_text()
    for m in MODULES:
        layer_of(m)
    for name, layer in LAYERS.items():
        if name == "mer_utils":
            continue
        short = name.removeprefix("mer_utils.")
        assert f"`{short}" in doc, f"docs/ARCHITECTURE.md does not name {short} (layer {layer})"


def downward_violations(graph) -> list[str]:
    bad = []
    for m, deps in graph.items():
        if m == "mer_utils.papers":          # the papers' index names them
            continue
        for d in deps:
            if _is_init_of(m, d) or d == "mer_utils":
                continue
            if layer_of(d) > layer_of(m):
                bad.append(f"{m} (layer {layer_of(m)}) imports {d} (layer {layer_of(d)})")
    return sorted(bad)


def test_imports_go_down_the_layers():
    bad = downward_violations(GRAPH)
    assert not bad, "\n".join(bad)


def test_layer_checker_can_fail():
    assert downward_violations({"mer_utils.config": {"mer_utils.papers.louro"}})
