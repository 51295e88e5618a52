"""Lower layers never import higher ones (DESIGN.md, "Layers").

::

    core -> coord -> cluster -> {marathon, chronos, dns}
    core -> rpc -> naming -> {mesh, namerd}
    namerd also uses coord: its dtabs live in the Store (DESIGN.md, "State")
    cli, ui, testing (and roost/__init__.py, roost/__main__.py) may import anything

Every ``.py`` under ``src/roost`` is parsed with ``ast``; all imports count, wherever they are
(module level, inside functions, under ``TYPE_CHECKING``), as do ``importlib.import_module`` and
``__import__`` calls with a literal name. Relative imports are resolved against the module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "roost"

_FRAMEWORK = {"core", "coord", "cluster"}
_MESH = {"core", "rpc", "naming"}

#: package -> the roost packages its modules may import. Packages that do not exist yet are fine.
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "coord": {"core", "coord"},
    "cluster": {"core", "coord", "cluster"},
    "marathon": _FRAMEWORK | {"marathon"},
    "chronos": _FRAMEWORK | {"chronos"},
    "dns": _FRAMEWORK | {"dns"},
    "rpc": {"core", "rpc"},
    "naming": {"core", "rpc", "naming"},
    "mesh": _MESH | {"mesh"},
    "namerd": _MESH | {"coord", "namerd"},  # dtabs live in roost.coord.Store
}
#: Shells over everything: not checked.
UNRESTRICTED = {"cli", "ui", "testing", "__init__", "__main__"}


def module_name(path: Path, src: Path = SRC) -> tuple[str, bool]:
    """``src/roost/core/x.py`` -> ``("roost.core.x", False)``; packages give ``True``."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def roost_imports(
    source: str, module: str, is_package: bool, subpackages: set[str]
) -> list[tuple[int, str]]:
    """``(line, package)`` for every ``roost.<package>`` the source imports.

    ``subpackages`` are the names under ``roost`` that are modules, so that
    ``from roost import cluster`` counts as importing ``roost.cluster`` while
    ``from roost import __version__`` imports nothing below ``roost``.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[int, str]] = []

    def add(line: int, dotted: list[str], names: Iterable[str] = ()) -> None:
        if not dotted or dotted[0] != "roost":
            return
        if len(dotted) > 1:
            found.append((line, dotted[1]))
            return
        found.extend((line, n) for n in names if n in subpackages)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node.lineno, alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 >= len(package):
                    found.append((node.lineno, "<relative import beyond roost>"))
                    continue
                base = package[: len(package) - (node.level - 1)]
            else:
                base = []
            dotted = base + (node.module.split(".") if node.module else [])
            add(node.lineno, dotted, [a.name for a in node.names])
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (
                    isinstance(node.func, ast.Name)
                    and node.func.id in ("__import__", "import_module")
                )
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            add(node.lineno, node.args[0].value.split("."))
    return found


def violations(
    source: str, module: str, is_package: bool = False, subpackages: set[str] | None = None
) -> list[str]:
    """Human-readable layer violations of one module (empty when it is clean)."""
    subs = subpackages if subpackages is not None else existing_subpackages()
    parts = module.split(".")
    own = parts[1] if len(parts) > 1 else "__init__"
    if own in UNRESTRICTED:
        return []
    if own not in ALLOWED:
        return [f"{module}: package roost.{own} has no layer; add it to DESIGN.md and ALLOWED"]
    return [
        f"{module}:{line}: roost.{own} must not import roost.{target} "
        f"(allowed: {', '.join(sorted(ALLOWED[own]))})"
        for line, target in roost_imports(source, module, is_package, subs | set(ALLOWED))
        if target not in ALLOWED[own]
    ]


def existing_subpackages(root: Path = ROOT) -> set[str]:
    names = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in root.glob("*.py")}
    return names | UNRESTRICTED | set(ALLOWED)


def source_files() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_the_source_tree_is_found() -> None:
    assert (ROOT / "core" / "resources.py") in source_files()


def test_lower_layers_never_import_higher_ones() -> None:
    subs = existing_subpackages()
    problems: list[str] = []
    for path in source_files():
        module, is_package = module_name(path)
        problems += violations(path.read_text(encoding="utf-8"), module, is_package, subs)
    assert problems == [], "\n".join(problems)


# -- the checker itself ------------------------------------------------------------------------

SUBS = set(ALLOWED) | UNRESTRICTED

BAD = [
    ("roost.core.resources", "from roost.cluster.master import Master", "cluster"),
    ("roost.core.resources", "import roost.cluster.master", "cluster"),
    ("roost.core.resources", "import roost.coord as c", "coord"),
    ("roost.core.resources", "from roost import cluster", "cluster"),
    ("roost.core.resources", "from .. import coord", "coord"),
    ("roost.core.resources", "from ..cluster.agent import probe", "cluster"),
    ("roost.core.resources", "def f():\n    from roost.rpc import stack\n", "rpc"),
    ("roost.core.resources", "class A:\n    def m(self):\n        import roost.ui\n", "ui"),
    ("roost.core.resources", "if TYPE_CHECKING:\n    from roost.testing import x\n", "testing"),
    ("roost.core.resources", "importlib.import_module('roost.cli.main')", "cli"),
    ("roost.core.resources", "__import__('roost.naming')", "naming"),
    ("roost.core", "from ..coord import store", "coord"),
    ("roost.coord.sqlite", "from roost.cluster import master", "cluster"),
    ("roost.coord.sqlite", "from roost.rpc import Service", "rpc"),
    ("roost.cluster.master.registry", "from ...marathon import app", "marathon"),
    ("roost.cluster.master.registry", "from roost.rpc import Service", "rpc"),
    ("roost.marathon.app", "from roost.chronos import job", "chronos"),
    ("roost.dns.server", "from roost.marathon import app", "marathon"),
    ("roost.dns.server", "from roost import __main__", "__main__"),
    ("roost.rpc.stack", "from roost.coord import Store", "coord"),
    ("roost.rpc.stack", "from roost.naming import Path", "naming"),
    ("roost.naming.dtab", "from roost.mesh import proxy", "mesh"),
    ("roost.naming.dtab", "from roost.cluster import master", "cluster"),
    ("roost.mesh.proxy", "from roost.namerd import server", "namerd"),
    ("roost.namerd.server", "from ..mesh import proxy", "mesh"),
]


@pytest.mark.parametrize(("module", "source", "target"), BAD)
def test_checker_catches_an_upward_import(module: str, source: str, target: str) -> None:
    is_package = module == "roost.core"
    found = violations(source, module, is_package, SUBS)
    assert len(found) == 1, found
    assert f"must not import roost.{target}" in found[0]


GOOD = [
    ("roost.core.resources", "import json\nfrom collections.abc import Iterable"),
    ("roost.core.resources", "from roost.core.ranges import Ranges"),
    ("roost.core.resources", "from . import ranges\nfrom .ranges import Ranges"),
    ("roost.core.resources", "from .. import core"),
    ("roost.core.resources", "import roost\nfrom roost import MESOS_COMPAT_VERSION"),
    ("roost.core.resources", "importlib.import_module('json')"),
    ("roost.coord.sqlite", "from roost.core.clock import Clock"),
    ("roost.cluster.master.registry", "from ..agent import probe\nfrom ...coord import Store"),
    ("roost.marathon.app", "from roost.cluster.scheduler import Driver\nfrom . import deploy"),
    ("roost.namerd.server", "from roost.naming import Dtab\nfrom roost.rpc import Service"),
    ("roost.mesh.proxy", "from roost.core import clock\nfrom roost.mesh.admin import x"),
    ("roost.cli.main", "from roost.marathon import app\nfrom roost.mesh import proxy"),
    ("roost.ui.app", "import roost.cluster.master"),
    ("roost.testing.cluster", "from roost.cluster.master import Master"),
    ("roost.__main__", "from roost.cli.main import main"),
    ("roost", "from roost.cli import main"),
]


@pytest.mark.parametrize(("module", "source"), GOOD)
def test_checker_allows_imports_at_the_same_level_or_below(module: str, source: str) -> None:
    assert violations(source, module, module == "roost", SUBS) == []


def test_checker_flags_relative_imports_beyond_the_package_root() -> None:
    found = violations("from .... import x", "roost.core.resources", False, SUBS)
    assert found and "beyond roost" in found[0]


def test_checker_asks_for_a_layer_for_unknown_packages() -> None:
    found = violations("import json", "roost.newthing.mod", False, SUBS)
    assert found and "has no layer" in found[0]


def test_checker_finds_a_violation_in_a_real_file(tmp_path: Path) -> None:
    pkg = tmp_path / "roost" / "core"
    pkg.mkdir(parents=True)
    (tmp_path / "roost" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    bad = pkg / "bad.py"
    bad.write_text("def later():\n    from roost.cluster import master\n")
    module, is_package = module_name(bad, tmp_path)
    assert (module, is_package) == ("roost.core.bad", False)
    found = violations(
        bad.read_text(), module, is_package, existing_subpackages(tmp_path / "roost")
    )
    assert found == ["roost.core.bad:2: roost.core must not import roost.cluster (allowed: core)"]
