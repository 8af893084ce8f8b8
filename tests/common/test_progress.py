"""The one progress rule: shown on a terminal or when asked, never on standard output."""
import io
import sys

from rather.common.progress import SILENT, Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_rule_terminal_json_and_asked(monkeypatch):
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert Progress.for_command(json=False, asked=False).shown
    assert not Progress.for_command(json=True, asked=False).shown
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe or a file: quiet unless asked
    assert not Progress.for_command(json=False, asked=False).shown
    assert Progress.for_command(json=True, asked=True).shown


def test_bar_and_notes_go_to_stderr_only_when_shown(capsys):
    assert list(Progress(True).bar(range(3), desc="blocks", unit="block")) == [0, 1, 2]
    Progress(True).note("inline 5: done")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "blocks" in captured.err and "3/3" in captured.err and "inline 5: done" in captured.err
    assert list(SILENT.bar(range(3))) == [0, 1, 2]
    SILENT.note("nothing")
    assert capsys.readouterr() == ("", "")
