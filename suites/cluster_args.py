"""The options that run a command's job on Dask, shared by the commands that have one.

``--workers N`` (a local cluster of N processes) or ``--scheduler ADDRESS`` (a running
cluster), and ``--timeout S``, the longest silence of the cluster before the job stops
in one line; ``cluster_choice`` turns them into ``rather.common.cluster.ClusterChoice``,
which checks them.
"""
from __future__ import annotations

import argparse

from rather.common.cluster import DEFAULT_TIMEOUT, ClusterChoice


def add_cluster_arguments(parser: argparse.ArgumentParser, *, blocks: str, needs: str) -> None:
    """``--workers``/``--scheduler`` (one of them) and ``--timeout``; ``blocks`` says what the job's blocks are
    ("batches of --batch-size images"), ``needs`` what the workers must see ("the data, the weights")."""
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=int, metavar="N", help=f"run {blocks} on a local Dask cluster of N worker "
                         "processes (resumable: run the same command again after a crash)")
    cluster.add_argument("--scheduler", metavar="ADDRESS", help=f"run {blocks} on the Dask cluster whose scheduler "
                         f"is at ADDRESS (its workers must see {needs} and the output folder's parent)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help="with --workers/--scheduler: seconds to wait for the scheduler to answer, and for "
                        "progress: the job stops (exit 2, finished blocks kept) once for S seconds no block "
                        "finished and the scheduler had no worker or did not answer; a long block on a live "
                        "worker is never cut short")


def cluster_choice(args: argparse.Namespace) -> ClusterChoice:
    """Where the job runs, as asked (checked: ``ClusterChoice``)."""
    return ClusterChoice(workers=args.workers, scheduler=args.scheduler, timeout=args.timeout)
