"""The layout of DESIGN.md, checked on the source: who may import whom, and what importing does.

The import rules are read from the source with ``ast`` (every import, at module top or inside
a function, absolute or relative), so a rule holds whether or not a test runs the code:

- ``rather.common`` imports no domain (seismic, iqa, recognition) and not ``rather.suites``;
- a domain imports ``rather.common`` and itself only: no other domain, not ``rather.suites``;
- nothing but ``rather.suites`` imports ``rather.suites``;
- no module outside ``rather.suites`` imports argparse (pipelines take typed options);
- no suite (``suites/suite_*.py``) imports a command module (``suites/*_cmd.py``): a suite
  calls the domain's pipeline, as the command does.

And importing every rather module has no side effect on matplotlib: its backend stays as the
caller set it, and no pyplot figure is made.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "seismic", "iqa", "recognition", "suites")
DOMAINS = ("seismic", "iqa", "recognition")


def modules() -> dict[str, Path]:
    """Every module of the packages, by dotted name (``rather.seismic.segy``), with its file."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(("rather", *parts))] = path
    return found


def imported(name: str, path: Path) -> set[str]:
    """The dotted names ``path`` (module ``name``) imports, relative imports resolved, and for
    ``from X import Y`` also ``X.Y`` (Y may be a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            source = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def package_of(name: str) -> str | None:
    """``seismic`` for ``rather.seismic.segy``; None outside rather."""
    parts = name.split(".")
    return parts[1] if parts[0] == "rather" and len(parts) > 1 else None


def broken_rules(name: str, path: Path) -> list[str]:
    """The rules module ``name`` breaks, one line each."""
    home = package_of(name)
    broken = []
    for target in sorted(imported(name, path)):
        where = package_of(target)
        if target.split(".")[0] == "argparse" and home != "suites":
            broken.append(f"{name} imports argparse (only rather.suites parses arguments)")
        if where is None or where == home:
            continue
        if where == "suites":
            broken.append(f"{name} imports {target} (only rather.suites imports rather.suites)")
        elif home == "common" and where in DOMAINS:
            broken.append(f"{name} imports {target} (rather.common imports no domain)")
        elif home in DOMAINS and where in DOMAINS:
            broken.append(f"{name} imports {target} (a domain imports rather.common and itself only)")
    if home == "suites" and path.name.startswith("suite_"):
        broken += [f"{name} imports {target} (a suite calls the domain's pipeline, not a command module)"
                   for target in sorted(imported(name, path))
                   if package_of(target) == "suites" and target.rpartition(".")[2].endswith("_cmd")]
    return broken


def test_every_package_is_found():
    found = modules()
    assert {package_of(name) for name in found} == set(PACKAGES)
    assert "rather.suites.cli" in found and "rather.common" in found


def test_the_import_rules_of_the_design_hold():
    broken = [line for name, path in modules().items() for line in dict.fromkeys(broken_rules(name, path))]
    assert broken == [], "\n".join(broken)


@pytest.mark.parametrize("source, name, rule", [
    ("from rather.seismic import segy\n", "rather.common.figures", "rather.common imports no domain"),
    ("from ..iqa.networks import WaDIQaM\n", "rather.seismic.patches", "a domain imports rather.common and itself"),
    ("def f():\n    import rather.suites.report\n", "rather.iqa.figures", "only rather.suites imports rather.suites"),
    ("import argparse\n", "rather.recognition.pipeline", "imports argparse"),
    ("from argparse import Namespace\n", "rather.common.models", "imports argparse"),
    ("from . import recognition_cmd\n", "rather.suites.suite_recognition", "not a command module"),
    ("from .seismic_cmd import explain_survey\n", "rather.suites.suite_seismic", "not a command module"),
])
def test_each_rule_is_caught(tmp_path, source, name, rule):
    """The checker itself: each kind of broken import is reported (relative, nested, from-imports)."""
    path = tmp_path / f"{name.rpartition('.')[2]}.py"
    path.write_text(source)
    assert any(rule in line for line in broken_rules(name, path)), broken_rules(name, path)


@pytest.mark.parametrize("source, name", [
    ("from rather.common import Explainer\nfrom .data import Preprocess\n", "rather.recognition.pipeline"),
    ("from . import recognition_cmd\nimport argparse\n", "rather.suites.cli"),
    ("from .report import Section\nfrom rather.recognition.pipeline import audit\n",
     "rather.suites.suite_recognition"),
])
def test_allowed_imports_pass(tmp_path, source, name):
    path = tmp_path / f"{name.rpartition('.')[2]}.py"
    path.write_text(source)
    assert broken_rules(name, path) == []


IMPORT_EVERYTHING = """
import importlib, json, sys
import matplotlib
matplotlib.use("svg")  # a backend the caller chose, not rather's Agg
for name in sys.argv[1:]:
    importlib.import_module(name)
pyplot = sys.modules.get("matplotlib.pyplot")
print(json.dumps({"backend": matplotlib.get_backend(), "figures": pyplot.get_fignums() if pyplot else [],
                  "pyplot": [name for name in sys.argv[1:] if pyplot is not None
                             and any(value is pyplot for value in vars(sys.modules[name]).values())]}))
"""


@pytest.mark.slow
def test_importing_every_module_leaves_matplotlib_as_it_was():
    names = [name for name in modules() if not name.endswith("__main__")]
    completed = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING, *names], capture_output=True, text=True,
                               check=True)
    seen = json.loads(completed.stdout)
    assert (seen["backend"], seen["figures"]) == ("svg", [])
    assert seen["pyplot"] == [], "these modules draw through pyplot; draw on rather.common.figures.new_figure()"
