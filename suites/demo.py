"""``rather demo``: the main job on the embedded default data.

A small CNN learns synthetic birds whose look-alike classes differ only in one
local mark (the colour of a wing patch, the colour of a bill). Then rather asks
it, on held-out birds: Why A? Why A, rather than its look-alike B? Why B,
rather than A? The pixels that tell A from B are known exactly (the part swap
of ``rather.recognition.synthetic``), so the demo measures how much of each
map's energy falls on them.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib import image

from rather.common import BadInput, Explainer, Rather, Why, save_checkpoint
from rather.common.figures import plot_explanation
from rather.common.metrics import energy_share, pointing_game
from rather.common.networks import SmallCNN
from rather.common.storage import staged_folder
from rather.common.training import predict, train_classifier
from rather.recognition.synthetic import CLASS_NAMES, make_set
from rather.recognition.truth import swap_truth

from .summaries import question_records, plain, write_json

NAME = "demo"
HELP = "train a small CNN on synthetic birds and explain it: Why A, rather than its look-alike B?"
EXAMPLE = "rather demo --out demo-out"

PAIRS = (("red-winged blackbird", "yellow-winged blackbird"), ("orange-billed tern", "black-billed tern"))
SIZE = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo-out", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, training and evaluation")
    parser.add_argument("--train", type=int, default=2000, help="number of training images")
    parser.add_argument("--test", type=int, default=400, help="number of held-out images")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs")
    parser.add_argument("--device", default="cpu", help="torch device for the explanations")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


QUESTIONS = ("why_a", "why_a_rather_than_b", "why_b_rather_than_a")


def truth_scores(maps: torch.Tensor, masks: torch.Tensor, keep: torch.Tensor) -> dict:
    """Energy share and pointing game of each question's maps (N, 3, S, S) on the masks, over ``keep``."""
    shares = energy_share(maps, masks[:, None])[keep]
    hits = pointing_game(maps, masks[:, None])[keep].double()
    return {
        "images": int(keep.sum()),
        "mark_area": plain(masks[keep].double().mean()),
        "energy_share": {name: plain(shares[:, j].nanmean()) for j, name in enumerate(QUESTIONS)},
        "pointing_game": {name: plain(hits[:, j].mean()) for j, name in enumerate(QUESTIONS)},
    }


def run(args: argparse.Namespace) -> int:
    for name, least in (("train", 8), ("test", 4), ("epochs", 1)):
        if getattr(args, name) < least:
            raise BadInput(f"--{name} must be at least {least}; got {getattr(args, name)}")
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    classes = np.array([CLASS_NAMES.index(name) for pair in PAIRS for name in pair])
    names = [CLASS_NAMES[c] for c in classes]
    print(f"[1/4] rendering {args.train} training and {args.test} held-out birds of {len(classes)} classes")
    train = make_set(args.train, seed=args.seed, size=SIZE, classes=classes)
    test = make_set(args.test, seed=args.seed + 10_000, size=SIZE, classes=classes)
    train_labels = np.searchsorted(classes, train.labels)  # the model's class indices
    test_labels = np.searchsorted(classes, test.labels)
    partners = test_labels ^ 1  # look-alike pairs sit side by side: 0-1, 2-3

    print(f"[2/4] training a small CNN for {args.epochs} epochs")
    kwargs = {"num_classes": len(classes), "width": 16, "pools": 2}
    model = SmallCNN(**kwargs)
    log = train_classifier(model, train.images, train_labels, epochs=args.epochs, seed=args.seed)
    predicted = predict(model, test.images).argmax(1).numpy()
    accuracy = float((predicted == test_labels).mean())
    print(f"      training accuracy {log.accuracy[-1]:.3f}, held-out accuracy {accuracy:.3f}")

    print("[3/4] explaining the held-out birds: Why A? Why A, rather than B? Why B, rather than A?")
    model = model.to(args.device)
    x = torch.from_numpy(test.images)
    a, b = torch.from_numpy(test_labels).reshape(-1, 1), torch.from_numpy(partners).reshape(-1, 1)
    ids = [f"test{i:04d}" for i in range(len(x))]
    result = Explainer(model, layer="features")(x, [Why(), Rather(b), Rather(a, p=b)], ids=ids,
                                                class_names=names).cpu()
    correct = torch.from_numpy(predicted == test_labels)
    changed = torch.from_numpy(swap_truth(test.labels, test.seeds, classes[partners], SIZE).changed)
    evaluation = truth_scores(result.maps, changed, correct)

    runner_up_is_partner = result.probs.topk(2).indices[:, 1] == b[:, 0]
    candidates = torch.nonzero(correct & runner_up_is_partner)[:, 0].tolist() or torch.nonzero(correct)[:, 0].tolist()
    showcase = candidates[0] if candidates else 0
    print(f"[4/4] writing {args.out}")
    summary = {
        "command": "demo",
        "version": result.version,
        "seed": args.seed,
        "classes": names,
        "look_alike_pairs": [list(pair) for pair in PAIRS],
        "training": {"images": args.train, "epochs": args.epochs, "final_loss": plain(log.loss[-1]),
                     "final_accuracy": plain(log.accuracy[-1])},
        "accuracy": accuracy,
        "layer": result.layer,
        "method": result.method,
        "gradient_path": result.gradient_path,
        "truth_of_explanations": evaluation,
        "showcase": {"id": ids[showcase], "questions": question_records(result, showcase)},
        "outputs": {"explanations": "explanations.h5", "figure": "figure.png", "model": "model.pt",
                    "showcase_input": "input.png"},
    }
    with staged_folder(args.out) as stage:
        rows = [showcase] + [i for i in range(len(x)) if correct[i] and i != showcase][:3]
        plot_explanation(result, x, stage / "figure.png", indices=rows)
        result.save(stage / "explanations.h5")
        save_checkpoint(stage / "model.pt", model.cpu(), "rather.common.networks:SmallCNN", kwargs,
                        {"class_names": names, "preprocess": {"size": [SIZE, SIZE], "channels": 3}})
        image.imsave(stage / "input.png", (test.images[showcase].transpose(1, 2, 0) * 255).round().astype(np.uint8))
        summary["seconds"] = round(time.perf_counter() - started, 1)
        write_json(stage / "summary.json", summary)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        share = evaluation["energy_share"]
        print(f"      energy on the differing mark ({evaluation['mark_area']:.1%} of the image): "
              f"Why A? {share['why_a']:.3f}  Why A, rather than B? {share['why_a_rather_than_b']:.3f}")
        print(f"done in {summary['seconds']} s: {Path(args.out) / 'figure.png'}")
    return 0
