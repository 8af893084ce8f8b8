"""``rather suite``: one domain's suite (explanations, evaluation, truth of the maps) on your data and model.

Each suite is a function ``(out, data, model, seed, device, progress) -> (report section,
summary)``, ``run_DOMAIN_suite`` in ``rather.suites.suite_DOMAIN`` for each domain of
``SUITES``, where ``progress(message)`` shows a progress note. ``rather demo`` runs them
all on the embedded default data. The output folder holds the suite's files under a
folder named after the domain, ``summary.json`` and ``index.html``; it is staged, so it is
complete or absent. The suites and the domains' models are imported when a suite runs:
the command's help needs only their names.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import time
from importlib import import_module
from pathlib import Path
from typing import Callable, Mapping

from rather.common import BadInput, __version__
from rather.common.progress import SILENT, Progress
from rather.common.storage import claim_outputs, staged_folder

from .model_args import add_model_arguments, model_choice

NAME = "suite"
HELP = "run one domain's suite on your data and model: explanations, evaluation, truth of the maps"
EXAMPLE = "rather suite seismic --data survey.sgy --out seismic-suite"

SUITES = ("seismic", "iqa", "recognition")
DATA_HELP = {"seismic": "a 3D SEG-Y survey (labels are read from STEM.labels.h5 beside it when present)",
             "iqa": "DISTORTED,REFERENCE image paths",
             "recognition": "FORMAT:FOLDER, FORMAT one of synthetic, cub200, stanford-cars, fgvc-aircraft, "
             "imagenet-val, imagefolder, csv (FORMAT:FILE)"}
COMMITTED = {"seismic": "rather.seismic.options", "iqa": "rather.iqa.options", "recognition": "rather.recognition.options"}
"""The module whose ``DEFAULT_CHECKPOINT`` is each suite's model when no ``--model`` is given."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("domain", choices=SUITES, help="which suite")
    parser.add_argument("--data", help="; ".join(f"{name}: {text}" for name, text in DATA_HELP.items())
                        + " (default: the embedded synthetic data)")
    parser.add_argument("--model", help="the model's checkpoint (default: the committed one); recognition with "
                        "--weights: the architecture as module:factory")
    parser.add_argument("--out", default="suite-out", help="output folder")
    parser.add_argument("--seed", type=int, default=None, help="seed of any data the suite makes")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_model_arguments(parser, with_model=False)


def suite_models(args: argparse.Namespace) -> dict:
    """The suite's model: a checkpoint (``--model``), or for recognition the classifier options of
    ``rather recognition audit`` (``--model module:factory --weights W ...``)."""
    if args.domain == "recognition":
        factory, weights = (args.model, args.weights) if args.weights else (None, args.model)
        return {"recognition": model_choice(argparse.Namespace(**{**vars(args), "model": factory,
                                                                 "weights": weights}))}
    typed = [f"--{name.replace('_', '-')}" for name in ("weights", "layer", "size", "mean", "std")
             if getattr(args, name) is not None] + (["--model-kwargs"] if args.model_kwargs != "{}" else [])
    if typed:
        raise BadInput(f"{typed[0]} is for rather suite recognition; the {args.domain} suite reads its checkpoint's "
                       "own settings (give the checkpoint as --model)")
    return {args.domain: args.model}


def suite(domain: str) -> Callable:
    """``run_DOMAIN_suite`` of ``rather.suites.suite_DOMAIN``."""
    return getattr(import_module(f"rather.suites.suite_{domain}"), f"run_{domain}_suite")


def default_model(domain: str) -> Path:
    """The committed checkpoint of ``domain``'s suite (from the domain's light options module)."""
    return import_module(COMMITTED[domain]).DEFAULT_CHECKPOINT


def data_paths(domain: str, data: str | None) -> list[Path]:
    """The files and folders a suite's ``--data`` names (see DATA_HELP), to keep outputs off them."""
    if data is None:
        return []
    if domain == "seismic":
        from rather.seismic.synthetic import labels_beside

        return [Path(data), labels_beside(data)]
    if domain == "iqa":
        return [Path(path) for path in data.split(",") if path]
    folder = data.partition(":")[2]
    return [Path(folder).expanduser()] if folder else []


def file_checksum(path: str | Path) -> str:
    """SHA-256 of a file's bytes (what ``sha256sum`` prints), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_words(given) -> list[str]:
    """The model options that name ``given``: a checkpoint path, or recognition's ``ModelChoice``
    (``--model FACTORY --weights W``, or ``--model W`` for a rather checkpoint); none for the default."""
    if given is None:
        return []
    if isinstance(given, (str, Path)):
        return ["--model", str(given)]
    if given.factory:
        return ["--model", given.factory] + (["--weights", str(given.weights)] if given.weights else [])
    return ["--model", str(given.weights)] if given.weights else []


def model_file(domain: str, given) -> Path:
    """The checkpoint file a suite ran: ``given`` (a path or a ``ModelChoice``'s weights) or the committed one."""
    weights = given if isinstance(given, (str, Path)) else getattr(given, "weights", None)
    return Path(weights) if weights else default_model(domain)


def reproduce_command(domain: str, data: str | None, model, seed: int | None) -> str:
    """The ``rather suite`` command line that reproduces one domain's section on its own."""
    words = ["rather", "suite", domain, "--out", f"{domain}-suite"]
    words += [] if data is None else ["--data", data]
    words += model_words(model) + ([] if seed is None else ["--seed", str(seed)])
    return " ".join(shlex.quote(word) for word in words)


def run_suites(out: str | Path, domains: list[str], *, data: dict | None = None, model: dict | None = None,
               seed: int | None = None, device: str = "cpu", command: str, title: str,
               progress: Progress = SILENT, embed: bool = True, real: Mapping[str, Callable] | None = None) -> dict:
    """Run ``domains`` into ``out`` (staged, replacing a folder rather wrote before); write summary.json
    (its ``command`` names the command that wrote it) and index.html; return the summary.

    ``progress`` shows a bar over the suites and passes each suite its notes. The page opens with
    the findings, ends each section with the command that reproduces it and the model's checksum,
    and holds its figures inside (``embed``) or links them. ``real`` (the demo's
    ``real_data.REAL_SUITES``): per domain, a real-data section run right after the domain's
    suite, into ``DOMAIN-real``, its summary under ``real`` in summary.json.
    """
    from rather.common.summaries import write_json

    from .findings import findings
    from .report import write_report

    started = time.perf_counter()
    data, model = data or {}, model or {}
    summary = {"command": command, "version": __version__, "suites": {}}
    with staged_folder(out) as stage:
        sections = []
        for number, domain in enumerate(progress.bar(domains, desc="suites", unit="suite"), start=1):
            progress.note(f"[{number}/{len(domains)}] {domain}")
            options = {} if seed is None else {"seed": seed}
            section, summary["suites"][domain] = suite(domain)(
                stage / domain, data.get(domain), model.get(domain), device=device, progress=progress.note,
                **options)
            section.command = reproduce_command(domain, data.get(domain), model.get(domain), seed)
            section.checksum = file_checksum(model_file(domain, model.get(domain)))
            sections.append(section)
            if domain in (real or {}):
                progress.note(f"[{number}/{len(domains)}] {domain}: real data")
                section, summary.setdefault("real", {})[domain] = real[domain](
                    stage / f"{domain}-real", model.get(domain), device=device, progress=progress.note)
                sections.append(section)
        summary["seconds"] = round(time.perf_counter() - started, 1)
        write_json(stage / "summary.json", summary)
        write_report(stage / "index.html", title, sections,
                     meta=f"rather {__version__}; {summary['seconds']} s; summary.json holds every number",
                     findings=findings(summary["suites"], summary.get("real", {})), embed=embed)
    return summary


def run(args: argparse.Namespace) -> int:
    claim_outputs(folders={"--out": args.out}, inputs={"--data": data_paths(args.domain, args.data),
                                                       "--model": args.weights or args.model or default_model(args.domain)})
    summary = run_suites(args.out, [args.domain], data={args.domain: args.data}, model=suite_models(args),
                         seed=args.seed, device=args.device, command=f"suite {args.domain}",
                         title=f"rather suite {args.domain}",
                         progress=Progress.for_command(json=args.json, asked=args.progress))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {Path(args.out) / 'index.html'} in {summary['seconds']} s")
    return 0
