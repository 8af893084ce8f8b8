"""``rather data``: list the external data sets rather knows, and check a local copy against its manifest.

Exit status of ``rather data check``: 0 a valid copy, 1 not a valid copy (one line
per problem), 2 bad input (unknown data set, missing folder).
"""
from __future__ import annotations

import argparse
import json

from .manifests import all_manifests, check_copy, find_manifest, plural

NAME = "data"
HELP = "external data sets: list their manifests, check a local copy"
EXAMPLE = "rather data list && rather data check TID2013 ~/data/tid2013"
SUB_EXAMPLES = {
    "list": "rather data list --json",
    "check": "rather data check KADID-10k ~/data/kadid10k",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(title="data commands", dest="data_command", required=True,
                                     parser_class=type(parser))
    listing = commands.add_parser("list", help="the data sets with a manifest: name, task, size",
                                  description="The external data sets rather has a manifest for.")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    check = commands.add_parser(
        "check", help="check a local copy: files, counts, checksums",
        description="Check a local copy of a data set against its manifest: required files and folders, "
        "counts (per class where stated), index files' lengths and recorded checksums. Prints one line per "
        "problem. Exit status 0: a valid copy; 1: not a valid copy; 2: unknown name or missing folder.",
    )
    check.add_argument("name", help="a name from `rather data list` (case and punctuation ignored), "
                       "or the path of a manifest .json file")
    check.add_argument("path", help="the folder that holds the copy (see the manifest's 'root')")
    check.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    return run_list(args) if args.data_command == "list" else run_check(args)


def run_list(args: argparse.Namespace) -> int:
    manifests = all_manifests()
    if args.json:
        keys = ("name", "title", "domain", "task", "summary")
        print(json.dumps([{key: m[key] for key in keys} | {"url": m["obtain"]["url"]} for m in manifests], indent=2))
        return 0
    width = max(len(m["name"]) for m in manifests)
    for manifest in manifests:
        print(f"{manifest['name']:<{width}}  {manifest['task']}: {manifest['summary']}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    report = check_copy(find_manifest(args.name), args.path)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif report.valid:
        print(f"{report.name} at {report.path}: a valid copy ({plural(report.checks, 'check')}, "
              f"layout {report.layout!r})")
    else:
        print(f"{report.name} at {report.path}: not a valid copy ({plural(len(report.problems), 'problem')}, "
              f"layout {report.layout!r})")
        print("\n".join(report.problems + ([report.hint] if report.hint else [])))
    return 0 if report.valid else 1
