"""The seismic benchmark: explaining a whole inline, ours against the per-patch loop, and peak memory.

Ours: ``sections.explain_section`` (patches in batches, five questions from one
forward pass each). The loop: the straightforward procedure, one patch and one
question at a time, a forward and a full backward pass each; timed over a few
patches and scaled to the section (every patch costs the same). The forward pass
alone over all patches is timed too: it is the physical limit, and with five
questions the loop costs about fifteen forward passes per patch. Peak memory is the
resident size of a fresh process that opens a survey and explains one inline, for
two survey sizes: streaming sections keeps it independent of the survey's size.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from rather.common import Explainer, load_model
from rather.seismic import classifier
from rather.seismic.patches import extract_patches, patch_grid, scale_to_unit
from rather.seismic.sections import explain_section
from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

PEAK_MEMORY_PROBE = """
import sys
from rather.common import Explainer, load_model
from rather.seismic.patches import scale_to_unit
from rather.seismic.sections import explain_section
from rather.seismic.segy import open_survey
model, meta = load_model(weights=sys.argv[2])
explainer = Explainer(model, layer=meta.get("layer", "features"))
with open_survey(sys.argv[1]) as survey:
    number = int(survey.inlines[len(survey.inlines) // 2])
    explain_section(explainer, scale_to_unit(survey.inline(number).T), stride=10)
with open("/proc/self/status") as status:  # VmHWM: this process's peak resident size since exec
    print(next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM")))
"""


def loop_per_patch(model, layer: str, patches: np.ndarray, questions: int = 5) -> None:
    """One forward and one full backward per patch and question, as a straightforward implementation does."""
    module = model.get_submodule(layer)
    for patch in patches:
        for question in range(questions):
            saved = {}
            handle = module.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
            model.zero_grad()
            logits = model(torch.from_numpy(patch)[None, None])
            handle.remove()
            activation = saved["a"]
            activation.retain_grad()
            if question == 0:
                logits[0, logits.argmax()].backward()
            else:
                F.cross_entropy(logits, torch.tensor([question - 1])).backward()
            weights = activation.grad.mean(dim=(2, 3), keepdim=True)
            F.relu((weights * activation).sum(1)).detach()


def peak_memory(segy: Path, weights: Path) -> int:
    completed = subprocess.run([sys.executable, "-c", PEAK_MEMORY_PROBE, str(segy), str(weights)],
                               capture_output=True, text=True, check=True)
    return int(completed.stdout.split()[-1])


def run_seismic(weights: Path = classifier.DEFAULT_CHECKPOINT, loop_patches: int = 24,
                progress: Callable[[str], None] = print) -> dict[str, Any]:
    model, meta = load_model(weights=weights)
    layer = meta.get("layer", classifier.LAYER)
    progress("making a synthetic inline of 300 samples x 400 traces")
    survey = make_survey(0, SurveyParameters(inlines=8, crosslines=400, samples=300))
    amplitude = scale_to_unit(survey.amplitude[4].T)
    rows, cols = patch_grid(*amplitude.shape, patch=classifier.PATCH, stride=10)
    n_patches = len(rows) * len(cols)
    explainer = Explainer(model, layer=layer)
    patches = torch.from_numpy(extract_patches(amplitude, rows, cols, classifier.PATCH)).unsqueeze(1)
    progress(f"forward pass alone over its {n_patches} patches (stride 10)")
    with torch.no_grad():
        model(patches[:64])  # warm-up
        start = time.perf_counter()
        for first in range(0, n_patches, 64):
            model(patches[first:first + 64])
        forward = time.perf_counter() - start
    progress(f"explaining its {n_patches} patches, five questions each")
    explain_section(explainer, amplitude, stride=10)  # warm-up
    start = time.perf_counter()
    explain_section(explainer, amplitude, stride=10)
    ours = time.perf_counter() - start
    progress(f"the per-patch loop on {loop_patches} patches")
    for param in model.parameters():
        param.requires_grad_(True)
    sample = extract_patches(amplitude, rows[:1], cols[:loop_patches], classifier.PATCH)
    start = time.perf_counter()
    loop_per_patch(model, layer, sample)
    loop = (time.perf_counter() - start) / len(sample) * n_patches
    memory = {}
    with tempfile.TemporaryDirectory() as folder:
        for inlines in (16, 64):
            progress(f"peak memory explaining one inline of a {inlines} x 400 x 300 survey")
            path = Path(folder) / f"survey{inlines}.sgy"
            write_survey(make_survey(1, SurveyParameters(inlines=inlines, crosslines=400, samples=300)), path)
            memory[f"{inlines}x400x300"] = {"survey_bytes": path.stat().st_size,
                                            "peak_rss_bytes": peak_memory(path, weights)}
    return {
        "suite": "seismic", "threads": torch.get_num_threads(), "section": list(amplitude.shape),
        "patches": n_patches, "stride": 10, "questions": 5,
        "forward_seconds": forward, "ours_seconds": ours, "ours_patches_per_second": n_patches / ours,
        "ours_over_forward": ours / forward,
        "loop_seconds_scaled": loop, "loop_patches_timed": len(sample),
        "loop_patches_per_second": n_patches / loop, "speed_up": loop / ours, "target_speed_up": 20,
        "peak_memory": memory,
    }


def render_seismic(report: dict[str, Any]) -> str:
    lines = [
        f"rather bench seismic: CPU, {report['threads']} threads; one inline of {report['section'][0]} x "
        f"{report['section'][1]} samples, {report['patches']} patches (stride {report['stride']}), 5 questions each",
        f"  forward    {report['forward_seconds']:8.2f} s   (the model alone: the physical limit)",
        f"  ours       {report['ours_seconds']:8.2f} s   {report['ours_patches_per_second']:8.1f} patches/s   "
        f"{report['ours_over_forward']:.2f} x forward",
        f"  loop*      {report['loop_seconds_scaled']:8.2f} s   {report['loop_patches_per_second']:8.1f} patches/s",
        f"  speed-up   {report['speed_up']:8.1f} x   (target >= {report['target_speed_up']} x)",
        f"  * loop: {report['loop_patches_timed']} patches timed (forward + full backward per patch per question), "
        "scaled to the section",
    ]
    for size, figures in report["peak_memory"].items():
        lines.append(f"  peak memory, one inline of a {size} survey ({figures['survey_bytes'] / 2**20:.0f} MiB): "
                     f"{figures['peak_rss_bytes'] / 2**20:.0f} MiB")
    return "\n".join(lines)

