"""Reading the commands' help in tests."""
import re


def defaults_said(entry: str) -> int:
    """How often an option's help says 'default' (or 'defaults', ...), not counting a folder of a path that
    happens to end so (a checkout at .../seismic-default/ shows it in every default path)."""
    return len(re.findall(r"default(?!/)", entry))
