"""``rather bench``: speed and memory targets as ratios measured in interleaved pairs, with the machine's state.

Each benchmark lives in ``bench_SUITE.py`` and is imported when it runs: the command's
help needs none of torch. Every ratio comes from ``bench_method.interleave`` (paired
timings, median with min and max); every report carries the machine's state
(``bench_method.machine_at_start`` / ``machine_at_end``) and its text starts with it, with
a warning on the first line when the load average exceeded the core count. A benchmark
reports its steps through ``progress(message)``: notes on stderr, shown by the
command-line rule of ``rather.common.progress``.
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from rather.common.errors import BadInput
from rather.common.progress import Progress

F3_SIZE = (651, 951, 462)
"""The F3 Netherlands volume (inlines, crosslines, samples), the size ``--survey-size F3`` stands for."""
NAME = "bench"
HELP = "measure explanation cost against forward-only time and the straightforward loop, in interleaved pairs"
EXAMPLE = "rather bench all --json"


def whole_number(low: int, high: int):
    """An argparse ``type``: a whole number in [low, high]; anything else is a one-line usage error (exit 2)."""
    def parse(text: str) -> int:
        if not (text.isascii() and text.lstrip("-").isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}")
        return int(text)

    return parse


def worker_counts(text: str) -> list[int]:
    """``"1,2"`` -> [1, 2]; anything else is refused (BadInput)."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise BadInput(f"--workers takes positive worker counts separated by commas, e.g. 1,2; got '{text}'")
    return counts


def survey_sizes(text: str) -> list[tuple[int, int, int]]:
    """``"F3"`` or ``"16x951x462"`` (inlines x crosslines x samples), several separated by commas; else BadInput."""
    sizes = []
    for part in text.split(","):
        numbers = part.lower().split("x")
        if part.upper() == "F3":
            sizes.append(F3_SIZE)
        elif len(numbers) == 3 and all(number.isascii() and number.isdigit() for number in numbers):
            sizes.append(tuple(int(number) for number in numbers))
        else:
            sizes = []
            break
    if not sizes or any(size[0] < 1 or min(size[1:]) < 50 for size in sizes):
        raise BadInput(f"--survey-size takes F3 or INLINESxCROSSLINESxSAMPLES (at least 1 x 50 x 50: half a "
                       f"patch of 99), several separated by commas, e.g. F3 or 8x951x462,16x951x462; got '{text}'")
    return sizes


def device_choice(text: str) -> str:
    """An argparse ``type``: ``cpu``, ``cuda`` or ``cuda:N``, spelled as torch spells them."""
    number = text[5:] if text.startswith("cuda:") else "0"
    if text not in ("cpu", "cuda") and not (text.startswith("cuda:") and number.isascii() and number.isdigit()):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {text!r}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=["core", "seismic", "iqa", "recognition", "all"],
                        help="which benchmark; all: every suite at a size that takes a few minutes, as one table")
    parser.add_argument("--batches", type=whole_number(1, 4096), nargs="+", default=[1, 16],
                        help="core: batch sizes")
    parser.add_argument("--loop-iterations", type=whole_number(1, 200), default=4,
                        help="core: contrasts of the paper's loop timed in every pair (then scaled to all)")
    parser.add_argument("--pairs", type=whole_number(3, 100), default=3,
                        help="timed pairs per comparison, at least: 5 are run anyway where a pair takes under a "
                             "second (default: 3, the least)")
    parser.add_argument("--device", type=device_choice, default="cpu",
                        help="where the networks run: cpu, cuda or cuda:N (the Dask row runs on the CPU)")
    parser.add_argument("--workers", help="seismic: Dask worker counts to compare, e.g. 1,2 (blocks per second, "
                        "speed-up, peak memory per worker)")
    parser.add_argument("--survey-size", metavar="SIZES",
                        help="seismic: run synthetic surveys of these sizes through 'rather seismic explain --all "
                        "--format zarr' on a local Dask cluster (--workers: its size, default 2): F3 (651 x 951 x "
                        "462) or INLINESxCROSSLINESxSAMPLES, several separated by commas; traces per second, peak "
                        "memory per worker, output bytes per input byte")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def check_device(device: str) -> None:
    """Refuse a GPU that torch cannot see, before any work."""
    if device == "cpu":
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device[5:]) if ":" in device else 0
    if index >= count:
        raise BadInput(f"--device {device}: torch sees {count} CUDA GPU(s) here; "
                       "run on a machine with one, or leave --device out to run on the CPU")


def measure(args: argparse.Namespace, progress: Callable[[str], None]) -> tuple[dict[str, Any], str]:
    """(report, text) of the benchmark ``args`` ask for."""
    if args.suite == "all":
        from .bench_all import render_all, run_all

        report = run_all(pairs=args.pairs, device=args.device, loop_iterations=args.loop_iterations,
                         progress=progress)
        return report, render_all(report)
    if args.suite == "core":
        from .bench_core import render_table, run_core

        report = run_core(batches=tuple(args.batches), loop_iterations=args.loop_iterations, pairs=args.pairs,
                          device=args.device, progress=progress)
        return report, render_table(report)
    if args.suite == "iqa":
        from .bench_iqa import render_iqa, run_iqa

        report = run_iqa(pairs=args.pairs, device=args.device, progress=progress)
        return report, render_iqa(report)
    if args.suite == "recognition":
        from .bench_recognition import render_recognition, run_recognition

        report = run_recognition(pairs=args.pairs, device=args.device, progress=progress)
        return report, render_recognition(report)
    if args.survey_size is not None:
        from .bench_seismic import render_survey_size, run_survey_size

        workers = worker_counts(args.workers)[0] if args.workers is not None else 2
        report = run_survey_size(survey_sizes(args.survey_size), workers=workers, device=args.device,
                                 progress=progress)
        return report, render_survey_size(report)
    if args.workers is not None:
        from .bench_seismic import render_seismic_workers, run_seismic_workers

        report = run_seismic_workers(worker_counts(args.workers), pairs=args.pairs, progress=progress)
        return report, render_seismic_workers(report)
    from .bench_seismic import render_seismic, run_seismic

    report = run_seismic(pairs=args.pairs, device=args.device, progress=progress)
    return report, render_seismic(report)


def _check_survey_size(args: argparse.Namespace) -> None:
    """Refuse --survey-size outside the seismic benchmark, with several worker counts, or of no size."""
    if args.suite != "seismic":
        raise BadInput(f"--survey-size runs the seismic benchmark on surveys of a given size, not '{args.suite}'; "
                       "use it with 'rather bench seismic'")
    if args.workers is not None and len(worker_counts(args.workers)) != 1:
        raise BadInput(f"--workers with --survey-size is the size of one Dask cluster, e.g. 2; got '{args.workers}'")
    survey_sizes(args.survey_size)


def run(args: argparse.Namespace) -> int:
    from .bench_method import machine_at_end, machine_at_start, machine_lines

    progress = Progress.for_command(json=args.json, asked=args.progress).note
    if args.workers is not None and args.suite != "seismic":
        raise BadInput(f"--workers compares Dask worker counts of the seismic benchmark, not of '{args.suite}'; "
                       "use it with 'rather bench seismic'")
    if args.survey_size is not None:
        _check_survey_size(args)
    if args.workers is not None:
        worker_counts(args.workers)  # refused before any work
    check_device(args.device)
    machine = machine_at_start(args.device)
    report, text = measure(args, progress)
    report["machine"] = machine = machine_at_end(machine)
    print(json.dumps(report, indent=2) if args.json else "\n".join([*machine_lines(machine), text]))
    return 0
