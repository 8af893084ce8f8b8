"""rather.suites: the ``rather`` command, the demo, benchmarks and reports."""
