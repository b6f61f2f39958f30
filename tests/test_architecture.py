"""The layers of docs/design.md are enforced, and the enforcement can fail.

`make lint` runs import-linter on the real package. These tests copy the package to a scratch
folder, add one import that breaks a contract, and show that import-linter then refuses it and
names the contract; the unchanged copy passes, so it is the added import that fails it. They
also hold the two structural rules of the service layer: every command has a service function
of its name, and no module grows past 500 lines.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from calroulette import service

from .support import ROOT
from .support.cli import command_paths

PACKAGE = ROOT / "src" / "calroulette"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.slow  # each case builds the import graph of a copy (~1 s)


def _lint(tmp_path: Path, contract: str, edit: tuple[str, str] | None = None) -> str:
    """Run import-linter's ``contract`` on a copy of the package, with ``edit`` = (module path,
    line to add) applied to the copy; the output, which says KEPT or BROKEN."""
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "calroulette", ignore=shutil.ignore_patterns("__pycache__"))
    if edit is not None:
        path = src / "calroulette" / edit[0]
        before = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(f"{before}\n{edit[1]}\n", encoding="utf-8")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--contract", contract, "pyproject.toml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert ("BROKEN" in output) == (proc.returncode != 0), output
    return output


CONTRACT_NAMES = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
}

BREAKS = [
    # a rule of the core reading the history database
    ("layers", ("matching/model.py", "import calroulette.store")),
    # the delivery edge calling back up into the service that orchestrates it
    ("layers", ("delivery/dispatch.py", "import calroulette.service.planning")),
    # a foundation module that knows about members.toml
    ("layers", ("timeutil.py", "import calroulette.config")),
    # the free/busy rules fetching something
    ("pure-core", ("availability/rules.py", "import requests")),
    # an invitation that prints
    ("pure-core", ("invites/email.py", "import rich")),
    # delivery planning a round itself
    ("delivery-plans-nothing", ("delivery/rendering.py", "import calroulette.matching.plan")),
]


@pytest.mark.parametrize("contract", sorted(CONTRACT_NAMES))
def test_the_unchanged_package_keeps_every_contract(tmp_path: Path, contract: str) -> None:
    output = _lint(tmp_path, contract)
    assert f"{CONTRACT_NAMES[contract]} KEPT" in output, output


@pytest.mark.parametrize(("contract", "edit"), BREAKS, ids=[f"{c}:{e[0]}" for c, e in BREAKS])
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, contract: str, edit: tuple[str, str]
) -> None:
    output = _lint(tmp_path, contract, edit)
    assert f"{CONTRACT_NAMES[contract]} BROKEN" in output, output


def test_a_new_top_level_module_must_be_placed_in_a_layer(tmp_path: Path) -> None:
    """``exhaustive``: a module nobody put in a layer is refused, so it cannot slip past."""
    output = _lint(tmp_path, "layers", ("utils.py", '"""A drawer for everything."""'))
    assert "BROKEN" in output and "calroulette.utils" in output, output


@pytest.mark.parametrize("command", command_paths(), ids=" ".join)
def test_each_command_calls_the_service_function_of_its_name(command: tuple[str, ...]) -> None:
    """`calroulette members add` → ``service.members_add``: the command's module calls it."""
    name = "_".join(command)
    assert name in service.OPERATIONS, f"no service function for `calroulette {' '.join(command)}`"
    assert callable(getattr(service, name))
    module = PACKAGE / "cli" / f"{command[0]}.py"
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "service"
    }
    assert name in calls, f"cli/{command[0]}.py never calls service.{name}"


def _service_calls(modules: list[Path]) -> set[str]:
    return {
        node.func.attr
        for module in modules
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "service"
    }


def test_every_service_operation_is_a_command_or_a_web_route() -> None:
    """The CLI and the web page are the only callers of the operations; an operation neither
    calls is dead (or reached around the service layer)."""
    commands = {"_".join(c) for c in command_paths()}
    web = _service_calls(sorted((PACKAGE / "web").glob("*.py")))
    assert set(service.OPERATIONS) - commands - web == set()
    assert commands <= set(service.OPERATIONS)


def test_web_routes_call_only_service_operations() -> None:
    """A route parses, calls an operation of the service layer by its name, and renders: any
    `service.x` it calls is an operation (or `load`)."""
    web = _service_calls(sorted((PACKAGE / "web").glob("*.py")))
    assert web - set(service.OPERATIONS) - {"load"} == set()


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_no_test_module_imports_another() -> None:
    tests = ROOT / "tests"
    offenders = []
    for path in tests.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                ("test_", "tests.test_", "conftest", "tests.conftest")
            ):
                offenders.append(f"{path.name}: from {'.' * node.level}{node.module}")
    assert offenders == []
