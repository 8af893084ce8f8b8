"""An editable install and a wheel install both import every rather package from outside the repo."""
import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "seismic", "iqa", "recognition", "suites", "data_manifests")
PROBE = "; ".join([
    "import importlib",
    f"print('\\n'.join(importlib.import_module('rather.' + name).__file__ for name in {PACKAGES!r}))",
])


def fresh_environment(folder: Path) -> Path:
    """A venv without rather, seeing this environment's dependencies through a .pth file.

    A path listed in a .pth file is added to sys.path without processing the
    .pth files inside it, so the development install of rather stays invisible.
    """
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip(*arguments: str, python: Path | None = None) -> None:
    """This environment's pip; with ``python``, installing into that environment instead."""
    target = ["--python", str(python)] if python else []
    completed = subprocess.run([sys.executable, "-m", "pip", *target, "--disable-pip-version-check", "-q", *arguments],
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def imported_files(python: Path, cwd: Path) -> list[Path]:
    completed = subprocess.run([python, "-c", PROBE], cwd=cwd, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return [Path(line) for line in completed.stdout.split()]


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A folder outside the repo; the repo is left without the build folder that building makes."""
    had_build = (REPO / "build").exists()
    yield tmp_path_factory.mktemp("outside")
    if not had_build:
        shutil.rmtree(REPO / "build", ignore_errors=True)


def test_fresh_environment_does_not_see_rather(outside):
    python = fresh_environment(outside / "bare")
    completed = subprocess.run([python, "-c", "import rather.common"], cwd=outside, capture_output=True, text=True)
    assert completed.returncode != 0 and "No module named 'rather" in completed.stderr


def test_wheel_install_imports_from_site_packages(outside):
    wheels = outside / "wheels"
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO))
    python = fresh_environment(outside / "wheel-env")
    (wheel,) = wheels.glob("rather-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "rather/seismic/models/classifier.pt" in archive.namelist()  # the default model ships
        assert "rather/iqa/models/wadiqam_fr.pt" in archive.namelist()
        assert "rather/recognition/models/birds.pt" in archive.namelist()
        shipped = {Path(name).name for name in archive.namelist() if name.startswith("rather/data_manifests/")}
        real = {name for name in archive.namelist() if name.startswith("rather/suites/real/")}
    assert shipped >= {path.name for path in (REPO / "data_manifests").glob("*.json")} | {"README.md"}
    assert real == {f"rather/suites/{path.relative_to(REPO / 'suites').as_posix()}"
                    for path in (REPO / "suites" / "real").rglob("*") if path.is_file()}  # each with its licence
    pip("install", "--no-deps", str(wheel), python=python)
    files = imported_files(python, outside)
    assert all("site-packages" in str(path) and REPO not in path.parents for path in files)
    assert [path.parent.name for path in files] == list(PACKAGES)
    assert (outside / "wheel-env" / "bin" / "rather").exists()
    listed = subprocess.run([outside / "wheel-env" / "bin" / "rather", "data", "list", "--json"], cwd=outside,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == len([name for name in shipped if name.endswith(".json")])


def test_editable_install_imports_from_the_repo(outside):
    python = fresh_environment(outside / "editable-env")
    pip("install", "--no-deps", "--no-build-isolation", "-e", str(REPO), python=python)
    files = imported_files(python, outside)
    assert files == [REPO / name / "__init__.py" for name in PACKAGES]
