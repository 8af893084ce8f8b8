"""The demo's real data: the F3 inline 244 with 200 hand-labelled F3 patches, and a TID2013 pair.

Besides the synthetic data whose truth is known, ``rather demo`` explains real data,
offline: the pieces lie in the package (``REAL``, ``suites/real``), each folder with its
SOURCE.txt and LICENSE beside the data (``suites/real/README.md``).

- **seismic**: the real F3 Netherlands inline 244 (Cunha et al. 2020) is written as a
  single-inline SEG-Y file (inline 244, crosslines 300 to 1250, 0 to 1848 ms every 4 ms,
  the F3 survey's grid) and explained by the pipeline of ``rather seismic explain`` with
  the committed classifier. The inline has no labels, so its maps are shown, not checked.
  Where the classifier is wrong on real data is measured on the 100 fault and 100
  non-fault F3 patches, hand-labelled by Cunha et al., as ``rather seismic evaluate
  --patches DIR --own-size --binary fault`` measures it: fault against the rest,
  balanced accuracy beside chance (0.5).
- **iqa**: the TID2013 pair (reference I01, its copy with additive Gaussian noise at
  level 5), asked "Why s, rather than the human score?" with people's MOS on TID2013's
  0-9 scale (``--mos-scale tid2013``), as ``rather iqa explain --mode fast`` asks it. How far the
  model is from people is said in MOS points, beside the spread of people's own scores.

Each ``run_real_DOMAIN`` takes the suite's arguments (``out``, ``model``, ``device``,
``progress``) and returns the report's section (with the commands that reproduce it and
the model's checksum) and a summary; every number is read from the run, none is written
here.
"""
from __future__ import annotations

import csv
import shlex
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from rather.common.summaries import write_json

from .report import Figure, Section, Table, confusion_table

REAL = Path(__file__).resolve().parent / "real"
F3 = REAL / "f3-faults-cunha2020"
TID2013 = REAL / "tid2013-pair"

F3_INLINE, F3_FIRST_CROSSLINE, F3_INTERVAL_MS = 244, 300, 4.0
"""Where the F3 inline 244 of Cunha et al. sits: its number, the crossline of its first trace, the sample interval."""
F3_STRIDE = 16
"""Patch stride along the real inline: a multiple of 8 runs the committed classifier's trunk once over the section."""
IQA_MODE = "fast"
"""The TID2013 pair is asked on a coarser grid of windows (``rather iqa explain --mode fast``) than the paper's:
it has no truth to measure, and the demo stays quick (the synthetic pair keeps the paper's stride 4)."""
CHANCE = 0.5
"""Balanced accuracy of a guess, fault against the rest."""
CITATION = "Cunha et al. 2020, Computers & Geosciences; F3 data CC BY-SA 3.0, dGB Earth Sciences / TNO"
TID2013_CITATION = "Ponomarenko et al. 2015, Signal Processing: Image Communication; research and education only"


def shipped_files() -> list[Path]:
    """Every file of the shipped real data (the demo names them as its inputs: no output may replace them)."""
    return sorted(path for path in REAL.rglob("*") if path.is_file())


def command_line(*words: object) -> str:
    """A shell command from its words, each quoted as the shell needs."""
    return " ".join(shlex.quote(str(word)) for word in words)


def write_f3_inline(path: Path) -> Path:
    """The shipped F3 inline 244 as a single-inline SEG-Y file at ``path`` (IEEE floats; inline and crossline
    numbers at bytes 189 and 193, the CDP at 21 the crossline too); returns ``path``."""
    import segyio

    traces = np.load(F3 / "f3_inl_244.npy").astype(np.float32)  # (crosslines, samples), whole numbers
    crosslines = np.arange(len(traces)) + F3_FIRST_CROSSLINE
    spec = segyio.spec()
    spec.format, spec.sorting = 5, segyio.TraceSortingFormat.INLINE_SORTING
    spec.ilines, spec.xlines = [F3_INLINE], crosslines.tolist()
    spec.samples = np.arange(traces.shape[1]) * F3_INTERVAL_MS
    interval = int(F3_INTERVAL_MS * 1000)
    with segyio.create(str(path), spec) as file:
        file.text[0] = segyio.tools.create_text_header({
            1: f"F3 NETHERLANDS INLINE {F3_INLINE}, CROSSLINES {crosslines[0]}-{crosslines[-1]}",
            2: "FROM CUNHA ET AL. 2020 (SFD-CNN-TL), F3 DATA CC BY-SA 3.0 DGB EARTH SCIENCES / TNO",
            3: "WRITTEN BY RATHER DEMO FROM THE SHIPPED COPY; SEE SOURCE.TXT AND LICENSE"})
        file.bin.update({segyio.BinField.Interval: interval, segyio.BinField.Samples: traces.shape[1]})
        for index, crossline in enumerate(crosslines):
            file.header[index] = {segyio.TraceField.INLINE_3D: F3_INLINE,
                                  segyio.TraceField.CROSSLINE_3D: int(crossline),
                                  segyio.TraceField.CDP: int(crossline),
                                  segyio.TraceField.TRACE_SAMPLE_COUNT: traces.shape[1],
                                  segyio.TraceField.TRACE_SAMPLE_INTERVAL: interval}
            file.trace[index] = traces[index]
    return path


def run_real_seismic(out: Path, model: Optional[str] = None, device: str = "cpu",
                     progress: Callable[[str], None] = print) -> tuple[Section, dict]:
    """The real F3 inline explained, and the classifier scored on the real F3 patches (fault vs the rest)."""
    from rather.common.progress import SILENT
    from rather.seismic.options import DEFAULT_CHECKPOINT, ExplainOptions, ModelChoice
    from rather.seismic.real_training import evaluate_real
    from rather.seismic.survey_explanation import explain_survey

    from .suite_cmd import file_checksum

    out.mkdir(parents=True, exist_ok=True)
    weights = str(model or DEFAULT_CHECKPOINT)
    progress(f"seismic, real data: the F3 inline {F3_INLINE} as a SEG-Y file, explained at stride {F3_STRIDE}")
    line = write_f3_inline(out / f"f3_inline_{F3_INLINE}.sgy")
    explained = explain_survey(line, out / "explained", ExplainOptions(model=weights, device=device, stride=F3_STRIDE),
                               recorded_as=line.name)
    progress(f"seismic, real data: the classifier on the {F3.name} patches, fault against the rest")
    patches = evaluate_real(ModelChoice(weights=weights), "patches", str(F3 / "patches"),
                            device=device, own_size=True, binary="fault", progress=SILENT)
    patches["data"] = "100 fault and 100 non-fault F3 patches, 45 x 45, hand-labelled (Cunha et al. 2020)"
    summary = {"line": line.name, "inline": F3_INLINE, "model": weights,
               "predicted_counts": explained["sections"][0]["predicted_counts"], "stride": F3_STRIDE,
               "patches": patches, "chance": CHANCE, "source": CITATION,
               "outputs": {"explained": "explained/summary.json"}}
    write_json(out / "summary.json", summary)
    section = real_seismic_section(out.name, summary, explained["sections"][0]["figure"])
    section.command = (command_line("rather", "seismic", "explain", out.name + "/" + line.name, "--stride", F3_STRIDE,
                                    "--out", "f3-explained")
                       + " && " + command_line("rather", "seismic", "evaluate", "--patches", F3 / "patches",
                                               "--own-size", "--binary", "fault"))
    section.checksum = file_checksum(weights)
    return section, summary


def recalls(confusion: list[list[int]]) -> list[Optional[float]]:
    """Each true class's share predicted right (a confusion's rows are the truth); None for an empty row."""
    return [row[index] / sum(row) if sum(row) else None for index, row in enumerate(confusion)]


def real_seismic_section(folder: str, summary: dict, figure: str) -> Section:
    """The real inline's figure and predicted classes; the patches' confusion, balanced accuracy beside chance."""
    patches = summary["patches"]
    fault, rest = recalls(patches["confusion"])
    missed = patches["confusion"][0][1]
    return Section(
        "seismic-real", f"Seismic, real data: F3 inline {summary['inline']}",
        f"The real F3 Netherlands inline {summary['inline']} ({CITATION}), explained as the synthetic inline is, "
        f"by the same classifier, at stride {summary['stride']}. This line has no labels: its maps are shown, not "
        f"checked. Where the classifier is wrong on real data is measured on the {patches['patches']} hand-labelled "
        f"F3 patches below: it finds {fault:.0%} of the faults (misses {missed}) and calls {rest:.0%} of the "
        f"non-fault patches right, balanced accuracy {patches['balanced_accuracy']:.3f} where a guess scores "
        f"{summary['chance']:.1f}.",
        figures=[Figure(f"{folder}/explained/{figure}", f"Real F3 inline {summary['inline']}: amplitude, predicted "
                        "class, Why P?, and Why P, rather than Q? for each class Q (not checked: no labels)")],
        tables=[Table("seismic-real-predicted", f"Patch positions per predicted class along the real inline "
                      "(no labels: a share, not a score)", ["class", "patches"],
                      [[name, count] for name, count in summary["predicted_counts"].items()]),
                confusion_table("seismic-real-patches", f"Real F3 patches, fault against the rest: balanced "
                                f"accuracy {patches['balanced_accuracy']:.3f} (chance {summary['chance']:.2f}), fault "
                                f"recall {fault:.2f}, non-fault recall {rest:.2f}; rows true, columns predicted",
                                patches["class_names"], patches["confusion"])],
        links={"the real inline (SEG-Y)": f"{folder}/{summary['line']}",
               "Why P? as a SEG-Y attribute": f"{folder}/explained/why.sgy",
               "maps of every question (HDF5)": f"{folder}/explained/explanations.h5",
               "summary": f"{folder}/summary.json"},
    )


def tid2013_label(folder: Path = TID2013) -> dict:
    """The pair's row of ``labels.csv``: distorted and reference file names, MOS and its standard deviation."""
    with open(folder / "labels.csv", newline="", encoding="utf-8") as file:
        row = next(csv.DictReader(file))
    return {"distorted": row["dist_img"], "reference": row["ref_img"], "mos": float(row["mos"]),
            "mos_std": float(row["mos_std"])}


def run_real_iqa(out: Path, model: Optional[str] = None, device: str = "cpu",
                 progress: Callable[[str], None] = print) -> tuple[Section, dict]:
    """The TID2013 pair: Why s? and Why s, rather than the human score? (MOS on TID2013's scale)."""
    from rather.iqa.explanations import explain_pair
    from rather.iqa.options import DEFAULT_CHECKPOINT, Contrast, ExplainOptions, ModelChoice

    from .suite_cmd import file_checksum

    weights = str(model or DEFAULT_CHECKPOINT)
    label = tid2013_label()
    progress(f"iqa, real data: TID2013 {label['distorted']}, Why s, rather than people's MOS {label['mos']:.3f}?")
    explained, _ = explain_pair(TID2013 / label["distorted"], TID2013 / label["reference"],
                                [Contrast(label["mos"], people=True, scale="tid2013")], out / "explained",
                                ExplainOptions(mode=IQA_MODE, model=ModelChoice(weights=weights, device=device)),
                                recorded_as=(label["distorted"], label["reference"]))
    human = explained["questions"][1]
    model_mos = human["score_on_mos_scale"]  # the model's score as a MOS: --mos-scale tid2013 mapped backwards
    summary = {"distorted": label["distorted"], "reference": label["reference"], "model": weights,
               "score": explained["score"], "human_score": human["q"], "mos": label["mos"],
               "mos_std": label["mos_std"], "model_mos": model_mos, "gap_mos": model_mos - label["mos"],
               "reads": human["reads"], "question": human["title"], "stride": explained["stride"],
               "source": TID2013_CITATION,
               "outputs": {"explained": "explained/summary.json"}}
    write_json(out / "summary.json", summary)
    section = real_iqa_section(out.name, summary)
    section.command = command_line("rather", "iqa", "explain", TID2013 / label["distorted"],
                                   TID2013 / label["reference"], "--rather-than", "human", "--mos", label["mos"],
                                   "--mos-scale", "tid2013", "--mode", IQA_MODE, "--out", "tid2013-explained")
    section.checksum = file_checksum(weights)
    return section, summary


def real_iqa_section(folder: str, summary: dict) -> Section:
    """The TID2013 pair's figure and the model's score beside people's, the gap beside people's spread."""
    return Section(
        "iqa-real", "Image quality, real data: a TID2013 pair",
        f"TID2013's reference I01 and its copy with additive Gaussian noise at level 5 ({TID2013_CITATION}). "
        f"People scored the copy {summary['mos']:.3f} on TID2013's 0-9 scale ({summary['human_score']:.3f} on the "
        f"model's); the model scores it {summary['score']:.3f}: {summary['reads']}, {abs(summary['gap_mos']):.2f} MOS "
        f"points from people ({abs(summary['gap_mos']) / summary['mos_std']:.0f} times the spread of people's own "
        f"scores, standard deviation {summary['mos_std']:.2f}). "
        f"{summary['question']} shows where the model's evidence makes that difference (32 x 32 windows at "
        f"stride {summary['stride']}, --mode {IQA_MODE}: an approximation of the paper's stride 4).",
        figures=[Figure(f"{folder}/explained/figure.png", f"TID2013 {summary['distorted']}: distorted | reference "
                        f"| Why s? | {summary['question']}")],
        tables=[Table("iqa-real-scores", "The model against people on one real pair, in MOS points of TID2013's "
                      "0-9 scale (higher is better)", ["", "MOS"],
                      [["people", summary["mos"]], ["the model", summary["model_mos"]],
                       ["the model minus people", summary["gap_mos"]],
                       ["people's own spread (standard deviation)", summary["mos_std"]]])],
        links={"summary": f"{folder}/summary.json", "explanations (HDF5)": f"{folder}/explained/explanations.h5"},
    )


REAL_SUITES: dict[str, Callable[..., tuple[Section, dict]]] = {"seismic": run_real_seismic, "iqa": run_real_iqa}
"""Per domain, the demo's real-data section: it follows the domain's synthetic suite."""
