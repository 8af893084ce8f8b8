"""The seismic benchmark: explaining a whole inline, ours against the per-patch loop, and peak memory.

Ours: ``sections.explain_section``. With the default classifier (valid
convolutions) the patches' activations come from one shift-and-stitch pass of the
trunk over the section (``rather.common.sliding``), and only the head runs per
patch; ``patchwise`` is the same function made to cut patches and run each through
the whole model in batches (five questions from one forward pass each), and the
largest difference between the two raw maps is reported. The loop: the
straightforward procedure, one patch and one question at a time, a forward and a
full backward pass each; timed over a few patches and scaled to the section (every
patch costs the same). The forward pass alone over all patches is timed too: the
limit of any patch-by-patch method; with five questions the loop costs about
fifteen forward passes per patch. The same figures at a stride equal to the
trunk's step (8: one phase, the whole trunk computed once) are reported as well. All of these run in
the same rounds (``bench_method.interleave``), the loop's few patches inside every pair, so each
ratio is a median over pairs with its min and max. Peak memory is the
resident size of a fresh process that opens a survey and explains one inline, for
two survey sizes: streaming sections keeps it independent of the survey's size.

With worker counts (``rather bench seismic --workers 1,2``): every inline of a
synthetic survey explained in blocks on a local Dask cluster of each size, as
``rather seismic explain --all --workers N`` does (pieces and ledger; the final
assembly, which is serial, is left out): blocks per second, the speed-up over the
first count (its median, min and max over interleaved pairs of runs, each on a fresh output
folder; the clusters are started once, before the pairs), and each worker's peak resident size,
for two survey sizes. Each
worker uses one torch intra-op thread, as ``OMP_NUM_THREADS=1 rather seismic
explain --all --workers N`` does (the workers take the driver's thread count).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from rather.common import BadInput, Explainer, load_model
from rather.common.sliding import SlidingWindows
from rather.seismic import classifier
from rather.common.cluster import dask_client, parts_folder, worker_peaks
from rather.seismic.blocks import VolumeJob, explain_blocks
from rather.seismic.options import DEFAULT_CHECKPOINT
from rather.seismic.patches import extract_patches, patch_grid, scale_to_unit
from rather.seismic.sections import explain_section
from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

from .bench_method import SLOW_PAIRS, Side, Spread, clock_for, interleave

PEAK_MEMORY_PROBE = """
import sys
from rather.common import BadInput, Explainer, load_model
from rather.common.memory import peak_resident
from rather.seismic.patches import scale_to_unit
from rather.seismic.sections import explain_section
from rather.seismic.segy import open_survey
model, meta = load_model(weights=sys.argv[2])
explainer = Explainer(model, layer=meta.get("layer", "features"))
with open_survey(sys.argv[1]) as survey:
    number = int(survey.inlines[len(survey.inlines) // 2])
    explain_section(explainer, scale_to_unit(survey.inline(number).values), stride=10)
print(peak_resident())
"""


def loop_per_patch(model, layer: str, patches: np.ndarray, questions: int = 5) -> None:
    """One forward and one full backward per patch and question, as a straightforward implementation does."""
    module = model.get_submodule(layer)
    device = next(model.parameters()).device
    for patch in patches:
        for question in range(questions):
            saved = {}
            handle = module.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
            model.zero_grad()
            logits = model(torch.from_numpy(patch)[None, None].to(device))
            handle.remove()
            activation = saved["a"]
            activation.retain_grad()
            if question == 0:
                logits[0, logits.argmax()].backward()
            else:
                F.cross_entropy(logits, torch.tensor([question - 1], device=device)).backward()
            weights = activation.grad.mean(dim=(2, 3), keepdim=True)
            F.relu((weights * activation).sum(1)).detach()


def peak_memory(segy: Path, weights: Path) -> int:
    completed = subprocess.run([sys.executable, "-c", PEAK_MEMORY_PROBE, str(segy), str(weights)],
                               capture_output=True, text=True, check=True)
    return int(completed.stdout.split()[-1])


def run_seismic(weights: Path = DEFAULT_CHECKPOINT, loop_patches: int = 24,
                section: tuple[int, int] = (300, 400), memory_inlines: tuple[int, ...] = (16, 64),
                patchwise: bool = True, pairs: int = SLOW_PAIRS, device: str = "cpu",
                progress: Callable[[str], None] = print) -> dict[str, Any]:
    """One synthetic inline: forward, ours, ours patchwise (when ``patchwise``), the loop on ``loop_patches``
    patches and ours at the trunk's step, in pairs; then the peak memory for each of ``memory_inlines``."""
    model, meta = load_model(weights=weights)
    model.to(device)
    layer = meta.get("layer", classifier.LAYER)
    samples, traces = section
    progress(f"making a synthetic inline of {samples} samples x {traces} traces")
    survey = make_survey(0, SurveyParameters(inlines=8, crosslines=traces, samples=samples))
    amplitude = scale_to_unit(survey.section("inline", int(survey.inlines[4])).values)
    rows, cols = patch_grid(*amplitude.shape, patch=classifier.PATCH, stride=10)
    n_patches = len(rows) * len(cols)
    explainer = Explainer(model, layer=layer)
    patches = torch.from_numpy(extract_patches(amplitude, rows, cols, classifier.PATCH)).unsqueeze(1).to(device)
    sample = extract_patches(amplitude, rows[:1], cols[:loop_patches], classifier.PATCH)
    windows = SlidingWindows.of(explainer)
    step = windows.step if windows is not None else 10
    aligned_rows, aligned_cols = patch_grid(*amplitude.shape, patch=classifier.PATCH, stride=step)
    aligned_patches = len(aligned_rows) * len(aligned_cols)
    model.requires_grad_(True)  # the loop takes parameter gradients; ours turns them off while it runs

    def forward():
        with torch.no_grad():
            for first in range(0, n_patches, 64):
                model(patches[first:first + 64])

    sides = {"forward": Side(forward), "ours": Side(lambda: explain_section(explainer, amplitude, stride=10))}
    if patchwise:
        sides["patchwise"] = Side(lambda: explain_section(explainer, amplitude, stride=10, shared=False))
    sides["loop"] = Side(lambda: loop_per_patch(model, layer, sample), scale=n_patches / len(sample),
                         subset=f"{len(sample)} of {n_patches} patches timed in every pair, scaled")
    sides["aligned"] = Side(lambda: explain_section(explainer, amplitude, stride=step))
    progress(f"{n_patches} patches at stride 10 and {aligned_patches} at stride {step}, five questions each: the "
             f"forward pass alone, ours{', ours patchwise' if patchwise else ''} and the per-patch loop on "
             f"{len(sample)} patches, in pairs")
    timings = interleave(sides, pairs=pairs, clock=clock_for(device))
    ours = timings.time("ours").median
    difference = None
    if patchwise:
        shared, alone = (explain_section(explainer, amplitude, stride=10, shared=flag).raw for flag in (True, False))
        difference = float(np.abs(shared - alone).max() / max(float(np.abs(alone).max()), 1e-30))
    memory = {}
    with tempfile.TemporaryDirectory() as folder:
        for inlines in memory_inlines:
            progress(f"peak memory explaining one inline of a {inlines} x {traces} x {samples} survey")
            path = Path(folder) / f"survey{inlines}.sgy"
            write_survey(make_survey(1, SurveyParameters(inlines=inlines, crosslines=traces, samples=samples)), path)
            memory[f"{inlines}x{traces}x{samples}"] = {"survey_bytes": path.stat().st_size,
                                            "peak_rss_bytes": peak_memory(path, weights)}
    loop = timings.time("loop").median
    return {
        "suite": "seismic", "section": list(amplitude.shape), "patches": n_patches, "stride": 10, "questions": 5,
        "pairs": timings.pairs, "subsets": timings.subsets,
        "forward_seconds": timings.time("forward").median, "ours_seconds": ours,
        "ours_patches_per_second": n_patches / ours,
        "ours_over_forward": timings.ratio("ours", "forward").as_json(), "shared_trunk": windows is not None,
        "patchwise_seconds": timings.time("patchwise").median if patchwise else None,
        "shared_max_difference": difference,
        "loop_seconds_scaled": loop, "loop_patches_timed": len(sample),
        "loop_patches_per_second": n_patches / loop, "speed_up": timings.ratio("loop", "ours").as_json(),
        "target_speed_up": 20,
        "aligned": {"stride": step, "patches": aligned_patches, "ours_seconds": timings.time("aligned").median,
                    "loop_seconds_scaled": loop * aligned_patches / n_patches,
                    "speed_up": timings.ratio("loop", "aligned", times=aligned_patches / n_patches).as_json()},
        "peak_memory": memory,
    }


def render_seismic(report: dict[str, Any]) -> str:
    """The figures, one line each; ratios as median (min-max) over the pairs."""
    aligned = report["aligned"]
    lines = [
        f"rather bench seismic: one inline of {report['section'][0]} x {report['section'][1]} samples, "
        f"{report['patches']} patches (stride {report['stride']}), 5 questions each, {report['pairs']} pairs",
        f"  forward    {report['forward_seconds']:8.2f} s   (the model alone, patch by patch)",
        f"  ours       {report['ours_seconds']:8.2f} s   {report['ours_patches_per_second']:8.1f} patches/s   "
        f"{Spread(**report['ours_over_forward']).text()} x forward"
        + ("   (shared trunk)" if report["shared_trunk"] else ""),
    ]
    if report["patchwise_seconds"] is not None:
        lines.append(f"  patchwise  {report['patchwise_seconds']:8.2f} s   (ours without the shared trunk; raw maps "
                     f"differ by {report['shared_max_difference']:.1e} of their maximum)")
    lines += [
        f"  loop*      {report['loop_seconds_scaled']:8.2f} s   {report['loop_patches_per_second']:8.1f} patches/s",
        f"  speed-up   {Spread(**report['speed_up']).text(1)} x   (target >= {report['target_speed_up']} x)",
        f"  at stride {aligned['stride']} (the trunk's step, {aligned['patches']} patches): ours "
        f"{aligned['ours_seconds']:.2f} s, loop* {aligned['loop_seconds_scaled']:.2f} s, "
        f"speed-up {Spread(**aligned['speed_up']).text(1)} x",
        f"  * loop: {report['subsets']['loop']} to the section (forward + full backward per patch per question)",
    ]
    for size, figures in report["peak_memory"].items():
        lines.append(f"  peak memory, one inline of a {size} survey ({figures['survey_bytes'] / 2**20:.0f} MiB): "
                     f"{figures['peak_rss_bytes'] / 2**20:.0f} MiB")
    return "\n".join(lines)


def _cpu_seconds() -> float:
    """User + system CPU time of this worker process so far."""
    times = os.times()
    return times.user + times.system


class BlockRuns:
    """Explains every block of ``job`` on ``client``, each call into a fresh output folder (a ledger left by
    an earlier call would skip its blocks); keeps the wall seconds of every call, warm-up included."""

    def __init__(self, client, job: VolumeJob, numbers: list[int], folder: Path):
        self.client, self.job, self.numbers, self.folder = client, job, numbers, folder
        self.wall: list[float] = []

    def __call__(self) -> None:
        start = time.perf_counter()
        explain_blocks(self.client, self.job, self.numbers, parts_folder(self.folder / f"out{len(self.wall)}"))
        self.wall.append(time.perf_counter() - start)


def run_seismic_workers(counts: list[int], weights: Path = DEFAULT_CHECKPOINT, block_lines: int = 2,
                        threads: int = 1, stride: int = 10, sizes: tuple[int, ...] = (8, 16), crosslines: int = 120,
                        samples: int = 150, pairs: int = SLOW_PAIRS,
                        progress: Callable[[str], None] = print) -> dict[str, Any]:
    """For each survey size, every block explained on a local cluster of each worker count, the counts in
    interleaved pairs (the clusters started before the pairs)."""
    model, meta = load_model(weights=weights)
    explainer = Explainer(model, layer=meta.get("layer", classifier.LAYER))
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for inlines in sizes:
            path = Path(folder) / f"survey{inlines}.sgy"
            write_survey(make_survey(2, SurveyParameters(inlines=inlines, crosslines=crosslines, samples=samples)),
                         path)
            job = VolumeJob(survey=str(path), model=str(Path(weights).resolve()),
                            model_checksum=explainer.model_checksum, layer=explainer.layer_name, kind="inline",
                            patch=int(meta.get("patch", classifier.PATCH)), stride=stride, iline=189, xline=193,
                            device="cpu", block_lines=block_lines, threads=threads)
            numbers = list(range(100, 100 + inlines))
            blocks = -(-inlines // block_lines)
            progress(f"{inlines} x {crosslines} x {samples} survey, {blocks} blocks of {block_lines} inlines, "
                     f"{' and '.join(map(str, counts))} worker(s), in pairs")
            with ExitStack() as stack, warnings.catch_warnings():
                # the clusters live side by side: the second one's dashboard takes another port, and says so
                warnings.filterwarnings("ignore", message="Port .* is already in use")
                clients = {workers: stack.enter_context(dask_client(workers)) for workers in counts}
                calls = {workers: BlockRuns(client, job, numbers, Path(folder) / f"{inlines}_{workers}")
                         for workers, client in clients.items()}
                cpu_before = {workers: client.run(_cpu_seconds) for workers, client in clients.items()}
                timings = interleave({str(workers): Side(call) for workers, call in calls.items()}, pairs=pairs)
                for workers, client in clients.items():
                    cpu = sum(after - cpu_before[workers][worker] for worker, after in client.run(_cpu_seconds).items())
                    wall = sum(calls[workers].wall)
                    seconds = timings.time(str(workers)).median
                    runs.append({"inlines": inlines, "survey_bytes": path.stat().st_size, "workers": workers,
                                 "blocks": blocks, "seconds": seconds, "blocks_per_second": blocks / seconds,
                                 "pairs": timings.pairs, "runs": len(calls[workers].wall),
                                 "worker_cpu_seconds_per_block": cpu / (blocks * len(calls[workers].wall)),
                                 "cores_used": cpu / wall,
                                 "speed_up": timings.ratio(str(counts[0]), str(workers)).as_json(),
                                 "peak_rss_bytes_per_worker": worker_peaks(client)})
    return {"suite": "seismic-workers", "cpus": len(os.sched_getaffinity(0)), "threads_per_worker": threads,
            "section": [samples, crosslines], "stride": stride, "block_lines": block_lines, "runs": runs,
            "target_speed_up": 1.7}


def render_seismic_workers(report: dict[str, Any]) -> str:
    """One line per survey size and worker count; the speed-up as median (min-max) over the pairs."""
    section = report["section"]
    lines = [f"rather bench seismic --workers: {report['cpus']} CPUs, {report['threads_per_worker']} torch thread(s) "
             f"per worker; inlines of {section[0]} x {section[1]} samples, stride {report['stride']}, "
             f"{report['block_lines']} inlines per block; seconds: median of the pairs"]
    for run in report["runs"]:
        peaks = ", ".join(f"{peak / 2**20:.0f}" for peak in run["peak_rss_bytes_per_worker"])
        lines.append(f"  {run['inlines']:3d} inlines ({run['survey_bytes'] / 2**20:5.1f} MiB)  "
                     f"{run['workers']} worker(s)  {run['seconds']:7.1f} s  {run['blocks_per_second']:6.3f} blocks/s  "
                     f"speed-up {Spread(**run['speed_up']).text()} x  cores used {run['cores_used']:.2f}  "
                     f"{run['worker_cpu_seconds_per_block']:5.2f} CPU s/block  peak per worker {peaks} MiB  "
                     f"({run['pairs']} pairs)")
    lines.append(f"  target: speed-up >= {report['target_speed_up']} x with 2 workers on 2 cores; cores used: the "
                 "workers' CPU seconds over wall seconds (below the worker count: the cores were busy elsewhere); "
                 "CPU s/block: the work per block, the same for any worker count when nothing is lost to splitting")
    return "\n".join(lines)


TILE_INLINES = 8
"""Inlines of the synthetic tile a survey-size benchmark repeats along the inlines (``write_tiled_survey``)."""
MOVING_FIELDS = {1: "traces", 5: "traces", 21: "traces", 9: "inline", 189: "inline", 77: "north", 85: "north",
                 185: "north"}
"""Trace-header words that grow with the inline, by what they count: trace sequence numbers and CDP (1, 5, 21),
field record and inline (9, 189), Y coordinates of source, group and CDP (77, 85, 185) on the unrotated grid."""


def write_tiled_survey(path: Path, size: tuple[int, int, int], seed: int = 3) -> Path:
    """A synthetic survey of ``size`` written as SEG-Y, a tile of ``TILE_INLINES`` inlines repeated along the inlines.

    ``make_survey`` holds the whole volume (and its geology) in memory, which the F3 size
    would not fit in here; a benchmark needs the size and realistic sections, not new
    geology in every inline. So a tile is drawn once and its traces are written again and
    again, one inline at a time, with the inline numbers, trace sequence numbers and the Y
    coordinates moved on: a survey ``open_survey`` reads as any other, in memory one inline.
    """
    inlines, crosslines, samples = size
    tile_inlines = min(inlines, TILE_INLINES)
    parameters = SurveyParameters(inlines=tile_inlines, crosslines=crosslines, samples=samples)
    tile_path = path.with_name(f"{path.stem}.tile.sgy")
    write_survey(make_survey(seed, parameters), tile_path)
    head = 3600  # textual and binary headers: the synthetic survey has no extended textual header
    tile = np.fromfile(tile_path, dtype=np.uint8, offset=head).reshape(tile_inlines, crosslines, -1)
    step = {"traces": crosslines, "inline": 1, "north": round(parameters.bin_size_m * 100)}  # per inline (cm)
    with open(tile_path, "rb") as source, open(path, "wb") as target:
        target.write(source.read(head))
        for inline in range(inlines):
            traces = tile[inline % tile_inlines].copy()
            shift = inline - inline % tile_inlines
            for byte, counts in MOVING_FIELDS.items():
                words = traces[:, byte - 1:byte + 3].copy().view(">i4")[:, 0] + shift * step[counts]
                traces[:, byte - 1:byte + 3] = words.astype(">i4").view(np.uint8).reshape(-1, 4)
            target.write(traces.tobytes())
    tile_path.unlink()
    path.with_name(f"{path.stem}.tile.labels.h5").unlink()
    return path


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def run_survey_size(sizes: list[tuple[int, int, int]], workers: int = 2, stride: int = 10, device: str = "cpu",
                    formats: str = "zarr", block_lines: int = 1,
                    progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Each survey size through ``rather seismic explain --all --format zarr --figures none`` on a fresh local Dask
    cluster.

    The command runs as a process of its own (``OMP_NUM_THREADS=1``: one torch thread per
    worker, as with ``--workers``), on a cluster started here for it (``--scheduler``), so
    that afterwards the workers' peak resident sizes can be read and the command's own
    (the driver's) is its process's. Traces per second count the whole command, the
    serial assembly of the outputs included. Blocks of ``block_lines`` inlines (one by default)
    keep every worker busy on a small survey too, and make each block's work the same
    whatever the survey's size: a peak that grows with the size is the job's, not the block's.
    No figures: the driver draws them one after the other, 1.5 to 3 s a line here (at the F3
    size, 651 figures would add 15 to 30 minutes); ``--figures every:N`` is what a survey needs.
    """
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / "survey.sgy"
            progress(f"writing a synthetic survey of {size[0]} x {size[1]} x {size[2]}")
            write_tiled_survey(path, size)
            out = Path(folder) / "out"
            command = [sys.executable, "-m", "rather.suites.cli", "seismic", "explain", str(path), "--all",
                       "--stride", str(stride), "--format", formats, "--device", device, "--block-lines",
                       str(block_lines), "--figures", "none", "--out", str(out)]
            progress(f"explaining its {size[0]} inlines on {workers} worker(s)")
            with dask_client(workers) as client:
                start = time.perf_counter()
                driver = subprocess.Popen(command + ["--scheduler", client.scheduler.address],
                                          env={**os.environ, "OMP_NUM_THREADS": "1"},
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                _, status, usage = os.wait4(driver.pid, 0)
                seconds = time.perf_counter() - start
                error = driver.stderr.read().decode(errors="replace").strip()
                driver.stderr.close()
                if os.waitstatus_to_exitcode(status) != 0:
                    raise BadInput(f"rather seismic explain failed on the {size[0]} x {size[1]} x {size[2]} survey: "
                                   f"{error.splitlines()[-1] if error else 'no message'}")
                peaks = worker_peaks(client)
            survey_bytes = path.stat().st_size
            stores = {name: _folder_bytes(out / name) if (out / name).is_dir() else (out / name).stat().st_size
                      for name in ("explanations.zarr", "explanations.nc", "explanations.h5") if (out / name).exists()}
            runs.append({"size": list(size), "survey_bytes": survey_bytes, "seconds": seconds,
                         "traces_per_second": size[0] * size[1] / seconds,
                         "peak_rss_bytes_per_worker": peaks, "driver_peak_rss_bytes": usage.ru_maxrss * 1024,
                         "output_bytes": _folder_bytes(out), "store_bytes": stores})
            shutil.rmtree(out)
            path.unlink()
    return {"suite": "seismic-survey-size", "workers": workers, "threads_per_worker": 1, "stride": stride,
            "block_lines": block_lines,
            "formats": formats, "device": device, "cpus": len(os.sched_getaffinity(0)), "runs": runs,
            "target_peak_rss_bytes_per_worker": 2**30, "target_zarr_over_input": 1.5}


def render_survey_size(report: dict[str, Any]) -> str:
    """One line per survey size; output bytes as multiples of the input's."""
    lines = [f"rather bench seismic --survey-size: rather seismic explain --all --format {report['formats']} "
             f"--figures none on a "
             f"local Dask cluster of {report['workers']} worker(s), {report['threads_per_worker']} torch thread each, "
             f"{report['cpus']} CPUs, stride {report['stride']}, {report['block_lines']} inline(s) per block, device "
             f"{report['device']}"]
    for run in report["runs"]:
        inlines, crosslines, samples = run["size"]
        peaks = ", ".join(f"{peak / 2**20:.0f}" for peak in run["peak_rss_bytes_per_worker"])
        stores = ", ".join(f"{name} {size / run['survey_bytes']:.2f} x" for name, size in run["store_bytes"].items())
        lines.append(f"  {inlines} x {crosslines} x {samples} ({run['survey_bytes'] / 2**20:.0f} MiB): "
                     f"{run['seconds']:.1f} s, {run['traces_per_second']:.0f} traces/s, peak per worker {peaks} MiB, "
                     f"driver {run['driver_peak_rss_bytes'] / 2**20:.0f} MiB; outputs "
                     f"{run['output_bytes'] / run['survey_bytes']:.2f} x the input ({stores})")
    goal = report["target_peak_rss_bytes_per_worker"] / 2**30
    lines.append(f"  goal: peak per worker flat in survey size and <= {goal:g} GiB; explanations.zarr <= "
                 f"{report['target_zarr_over_input']:g} x the input")
    return "\n".join(lines)
