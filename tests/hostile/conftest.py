"""The hostile-input suite: user mistakes and attacks, each of which must end in a clean refusal.

A clean refusal (``refuse``): exit status 2, exactly one line on stderr that starts with
``rather``, no traceback, and the case's folder exactly as it was — every input
byte-identical, no new file or folder (no partial output, no staging left behind).
Cases lay their inputs out under ``tmp_path`` and call ``refuse(argv, ...)``.
"""
from __future__ import annotations

import hashlib
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from rather.suites.cli import main


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (hidden ones too) with its SHA-256, or "dir" / "link -> target" /
    "special MODE" (a named pipe, a socket: never opened)."""
    state = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            state[name] = f"link -> {path.readlink()}"
        elif path.is_dir():
            state[name] = "dir"
        elif not path.is_file():  # a named pipe, a socket: opening it could block
            state[name] = f"special {path.stat().st_mode:o}"
        else:
            with open(path, "rb") as file:
                state[name] = hashlib.file_digest(file, "sha256").hexdigest()
    return state


@dataclass(frozen=True)
class Outcome:
    status: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """``run_cli(argv)``: the ``rather`` command in this process, its status and what it printed."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # a user's factory module leaves no __pycache__

    def run(argv: list[str]) -> Outcome:
        status = main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return Outcome(status, captured.out, captured.err)

    return run


@pytest.fixture
def refuse(tmp_path, run_cli):
    """``refuse(argv, says=...)``: assert a clean refusal (see the module docstring); its one line."""

    def check(argv: list[str], *, says: str | tuple[str, ...] = (), status: int = 2) -> str:
        before = snapshot(tmp_path)
        outcome = run_cli(argv)
        lines = outcome.err.strip().splitlines()
        assert outcome.status == status, f"exit {outcome.status}, stderr: {outcome.err!r}"
        assert len(lines) == 1 and lines[0].startswith("rather"), f"stderr is not one line: {outcome.err!r}"
        assert "Traceback" not in outcome.err
        assert snapshot(tmp_path) == before, "the case's folder changed (an input, a partial output or staging)"
        for fragment in (says,) if isinstance(says, str) else says:
            assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
        return lines[0]

    return check


@pytest.fixture
def silent_server():
    """The address of a loopback TCP server that accepts connections and never sends a byte."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]
