"""Data manifests: one JSON file per external data set (read by ``rather.suites.manifests``)."""
