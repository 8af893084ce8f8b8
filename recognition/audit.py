"""Auditing a fine-grained classifier: how often it errs, between which classes, and why.

1. Every image once through the model: accuracy, per-class accuracy, top-k,
   expected calibration error, the confusion matrix and the most confused pairs.
2. For each of the top pairs (A, B), the images of A or B where the model errs
   between them or hesitates (A and B are its two best classes): Why A?
   Why A, rather than B? Why B, rather than A? (named-P contrasts: logit margins).
3. Do the maps point at what tells the classes apart? On correctly classified
   images, P the prediction and Q its closest rival (the look-alike on the
   synthetic set, else the runner-up): the energy share and the pointing game of
   the contrast map (Why P, rather than Q?) and of Grad-CAM (Why P?) on the
   ground truth (the differing part of a synthetic bird, or the object box);
   deletion and insertion curves of the margin y_P - y_Q and of P alone, ranked
   by the contrast map, by Grad-CAM and by a random map; the part-swap check;
   and the sanity checks of Adebayo et al. (2018): cascading and independent
   randomisation of the whole network, and the random-logit check.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from rather.common import BadModel, Explainer, ExplanationResult, Rather, Why
from rather.common.metrics import box_masks, confusion_matrix, energy_share, pointing_game
from rather.common.perturbation import perturbation_curves, random_maps
from rather.common.progress import SILENT, Progress
from rather.common import sanity

from .data import Preprocess
from .options import AuditOptions
from .synthetic import PARTS, differing_parts
from .truth import closest_look_alike, swap_truth

MAPS = ("contrast", "gradcam", "random")
POINT_TOLERANCE = 15 / 224
"""The part pointing game's tolerance, as a share of the input's longer side: 15 pixels at 224 x 224, as in
the pointing game of Zhang et al. (ECCV 2016)."""


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    """ECE (Guo et al., ICML 2017): sum over equal-width confidence bins of |B|/N |accuracy(B) - confidence(B)|.

    Confidence is the top probability; bin b holds confidences in (b/bins, (b+1)/bins].
    """
    confidence, predicted = probs.double().max(dim=1)
    correct = (predicted == labels).double()
    which = (torch.ceil(confidence * bins).long() - 1).clamp(0, bins - 1)
    counts = torch.bincount(which, minlength=bins).double()
    gap = torch.bincount(which, weights=correct - confidence, minlength=bins).abs()
    return float(gap.sum() / max(len(labels), 1)) if counts.sum() else float("nan")


def most_confused(confusion: np.ndarray, count: int) -> list[tuple[int, int]]:
    """The ``count`` class pairs (a < b) with the most errors between them, both ways; ties by class order."""
    both = np.triu(confusion + confusion.T, k=1)
    a, b = np.nonzero(both)
    order = np.lexsort((b, a, -both[a, b]))[:count]
    return [(int(a[i]), int(b[i])) for i in order]


def classification_report(logits: torch.Tensor, labels: np.ndarray, class_names, options: AuditOptions) -> dict:
    """Accuracy, per-class accuracy (None for absent classes), top-k, ECE, confusion and most confused pairs."""
    classes = logits.shape[1]
    truth = torch.from_numpy(labels)
    predicted = logits.argmax(1)
    confusion = confusion_matrix(labels, predicted.numpy(), classes)
    totals = confusion.sum(1)
    k = min(options.top_k, classes)
    top = logits.topk(k, dim=1).indices
    pairs = []
    for a, b in most_confused(confusion, options.pairs):
        pairs.append({"a": a, "b": b, "a_name": class_names[a], "b_name": class_names[b],
                      "a_as_b": int(confusion[a, b]), "b_as_a": int(confusion[b, a]),
                      "count": int(confusion[a, b] + confusion[b, a])})
    return {
        "images": len(labels),
        "accuracy": float((predicted == truth).double().mean()),
        "per_class_accuracy": [float(confusion[c, c] / totals[c]) if totals[c] else None for c in range(classes)],
        "top_k": {f"top_{j}": float((top[:, :j] == truth[:, None]).any(1).double().mean()) for j in sorted({1, k})},
        "ece": expected_calibration_error(logits.softmax(1), truth, options.bins),
        "confusion": confusion.tolist(),
        "most_confused": pairs,
    }


def hesitations(logits: torch.Tensor, labels: np.ndarray, a: int, b: int) -> torch.Tensor:
    """Images of class a or b where the model errs between them or ranks them first and second,
    most ambiguous (smallest |y_a - y_b|) first."""
    truth = torch.from_numpy(labels)
    predicted = logits.argmax(1)
    top_two = logits.topk(2, dim=1).indices
    mine = (truth == a) | (truth == b)
    errs = mine & ((predicted == a) | (predicted == b)) & (predicted != truth)
    torn = mine & (((top_two[:, 0] == a) & (top_two[:, 1] == b)) | ((top_two[:, 0] == b) & (top_two[:, 1] == a)))
    chosen = torch.nonzero(errs | torn)[:, 0]
    return chosen[(logits[chosen, a] - logits[chosen, b]).abs().argsort(stable=True)]


def forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's float logits of the batch ``x`` (eval mode, no gradients), on the CPU; a model that cannot
    take these images is refused."""
    model.eval()
    try:
        with torch.no_grad():
            return model(x).float().cpu()
    except RuntimeError:  # e.g. a checkpoint whose model takes one channel, or larger images
        raise BadModel(f"the model does not run on RGB images of {x.shape[-2]} x {x.shape[-1]} pixels (it "
                       "takes another number of channels, or larger images); give a model for RGB images, "
                       "or --size H W that it takes") from None


def all_logits(model: nn.Module, data, preprocess: Preprocess, batch_size: int, device,
               progress: Progress = SILENT) -> torch.Tensor:
    """(N, C) logits of every image of ``data``, in batches of ``batch_size`` (a bar over the images)."""
    out = []
    with progress.bar(total=len(data.labels), desc="classifying", unit="image") as bar:
        for start in range(0, len(data.labels), batch_size):
            indices = range(start, min(start + batch_size, len(data.labels)))
            shown, _ = data.load(indices)
            out.append(forward(model, preprocess.normalise(shown).to(device)))
            bar.update(len(indices))
    return torch.cat(out)


@dataclass(frozen=True)
class Scores:
    """What the audit needs of each image before it chooses which to explain: the logits (N, C) float32,
    GradTrust and the mean VOICE (N,) float64 (``score_batch``)."""

    logits: torch.Tensor
    trust: torch.Tensor
    voice: torch.Tensor

    def to_array(self) -> np.ndarray:
        """One (N, C + 2) float64 array: the logits (exact: float32 fits float64), then GradTrust, then VOICE."""
        return torch.cat([self.logits.double(), self.trust[:, None], self.voice[:, None]], dim=1).numpy()

    @classmethod
    def from_array(cls, array: np.ndarray) -> "Scores":
        """``to_array``'s inverse."""
        values = torch.from_numpy(array)
        return cls(values[:, :-2].float(), values[:, -2].clone(), values[:, -1].clone())

    @classmethod
    def concatenate(cls, parts: Sequence["Scores"]) -> "Scores":
        """The scores of consecutive batches as one."""
        return cls(*(torch.cat([getattr(part, name) for part in parts]) for name in ("logits", "trust", "voice")))


TRUST_MEMORY = 256 * 2**20
"""Bytes of all-contrast maps made at once by the trust scores (the batch shrinks for many classes)."""


def score_batch(model: nn.Module, explainer: Explainer, data, preprocess: Preprocess, indices: Sequence[int],
                device) -> Scores:
    """The ``Scores`` of images ``indices`` of ``data``, read once: the model's logits in one forward, then
    uncertainty and trust from one all-contrast pass (``rather.common.uncertainty``: VOICE, the variance of the
    contrast maps, and GradTrust r in [1, k], the top-k classes' largest counterfactual gradient energy over
    their mean), in slices of at most ``TRUST_MEMORY`` bytes of maps.

    The same batch gives the same bits in any process with the same torch thread count: the audit runs its
    batches here, one after the other (``score_images``) or as blocks on Dask (``rather.recognition.batches``).
    """
    from rather.common.uncertainty import explain_uncertainty

    shown, _ = data.load(indices)
    x = preprocess.normalise(shown).to(device)
    logits = forward(model, x)
    pixels = preprocess.size[0] * preprocess.size[1]
    step = max(1, min(len(x), TRUST_MEMORY // (4 * logits.shape[1] * pixels)))
    trust, voice = [], []
    for start in range(0, len(x), step):
        uncertain = explain_uncertainty(explainer, x[start:start + step])
        trust.append(uncertain.trust.double().cpu())
        voice.append(uncertain.voice.double().mean(dim=(1, 2)).cpu())
    return Scores(logits, torch.cat(trust), torch.cat(voice))


def score_images(model: nn.Module, explainer: Explainer, data, preprocess: Preprocess, batches: list[list[int]],
                 device, progress: Progress = SILENT) -> Scores:
    """The ``Scores`` of the images of ``batches``, batch by batch in this process (a bar over the images)."""
    parts = []
    with progress.bar(total=sum(map(len, batches)), desc="classifying, VOICE and GradTrust", unit="image") as bar:
        for batch in batches:
            parts.append(score_batch(model, explainer, data, preprocess, batch, device))
            bar.update(len(batch))
    return Scores.concatenate(parts)


def image_record(data, logits: torch.Tensor, index: int, **classes: int) -> dict:
    """What an auditor reads about one image: its id, file, true class, prediction and its probability, and the
    probability of each of ``classes`` (key: class index), e.g. ``p_a=a, p_b=b`` for a confused pair."""
    probs = logits[index].double().softmax(0)
    predicted = int(probs.argmax())
    names = data.class_names
    return {"id": data.ids[index], "path": data.path(index), "true": names[int(data.labels[index])],
            "predicted": names[predicted], "p_predicted": round(float(probs[predicted]), 4),
            **{key: round(float(probs[value]), 4) for key, value in classes.items()}}


def explain_pairs(explainer: Explainer, data, preprocess: Preprocess, logits: torch.Tensor,
                  pairs: list[dict], options: AuditOptions) -> tuple[ExplanationResult | None, torch.Tensor, list]:
    """Why A? Why A, rather than B? Why B, rather than A? on each pair's hesitations.

    Returns the result (None if no image qualifies), the shown images and, per pair, its rows in the result.
    """
    chosen, a_of, b_of, rows, ids = [], [], [], [], []
    for number, pair in enumerate(pairs):
        picked = hesitations(logits, data.labels, pair["a"], pair["b"])[:options.per_pair].tolist()
        rows.append(list(range(len(chosen), len(chosen) + len(picked))))
        chosen += picked
        a_of += [pair["a"]] * len(picked)
        b_of += [pair["b"]] * len(picked)
        ids += [f"pair{number + 1}_{data.ids[i]}" for i in picked]
        pair["images"] = [image_record(data, logits, i, p_a=pair["a"], p_b=pair["b"]) for i in picked]
    if not chosen:
        return None, torch.empty(0), rows
    shown, _, points = data.load_with_points(chosen)
    a, b = torch.tensor(a_of)[:, None], torch.tensor(b_of)[:, None]
    result = explainer(preprocess.normalise(shown), [Why(a), Rather(b, p=a), Rather(a, p=b)], ids=ids,
                       class_names=data.class_names).cpu()
    if points is not None:
        tolerance = POINT_TOLERANCE * max(shown.shape[-2:])
        for pair, pair_rows in zip(pairs, rows):
            pair["part_pointing"] = {"tolerance_pixels": round(tolerance, 2), **{
                name: part_pointing(result.maps[pair_rows, question], points[pair_rows], data.part_names, tolerance)
                for name, question in (("contrast", 1), ("gradcam", 0))}}
    return result, shown, rows


def part_pointing(maps: torch.Tensor, points: torch.Tensor, names, tolerance: float) -> dict:
    """The pointing game per annotated part: for each part, the images where it is visible and the share of them
    whose map maximum lies within ``tolerance`` pixels of it. maps (N, H, W); points (N, parts, 2) x, y in the
    maps' pixel frame (pixel edges), NaN where hidden."""
    width = maps.shape[-1]
    peak = maps.flatten(-2).argmax(-1)
    centre = torch.stack([peak % width, peak // width], dim=-1).double() + 0.5
    distance = (points.double() - centre[:, None]).norm(dim=-1)
    visible = ~distance.isnan()
    hits = (distance <= tolerance) & visible
    return {name: {"images": int(visible[:, k].sum()),
                   "hit_rate": int(hits[:, k].sum()) / int(visible[:, k].sum()) if visible[:, k].any() else None}
            for k, name in enumerate(names)}


def truth_images(logits: torch.Tensor, data, options: AuditOptions, synthetic: bool) -> tuple[torch.Tensor, ...]:
    """Correctly classified images for the ground-truth metrics, with P and Q (look-alike or runner-up)."""
    truth = torch.from_numpy(data.labels)
    predicted = logits.argmax(1)
    q = closest_look_alike(logits, predicted) if synthetic else logits.topk(2, dim=1).indices[:, 1]
    keep = torch.nonzero((predicted == truth) & (q >= 0))[:, 0]
    keep = keep[torch.randperm(len(keep), generator=torch.Generator().manual_seed(options.seed))]
    keep = keep[:options.truth_images].sort().values
    return keep, predicted[keep], q[keep]


def mean(values: torch.Tensor) -> float | None:
    value = float(values.double().nanmean()) if values.numel() else float("nan")
    return value if np.isfinite(value) else None


def truth_report(model: nn.Module, explainer: Explainer, data, preprocess: Preprocess, logits: torch.Tensor,
                 options: AuditOptions, synthetic: bool, progress: Progress = SILENT) -> tuple[dict, dict]:
    """The ground-truth metrics (see the module docstring) and what the figures need."""
    keep, p, q = truth_images(logits, data, options, synthetic)
    if len(keep) == 0:
        return {"images": 0}, {}
    shown, boxes = data.load(keep.tolist())
    x = preprocess.normalise(shown).to(explainer.device)
    progress.note(f"explaining {len(keep)} correctly classified images: Why P? Why P, rather than Q?")
    result = explainer(x, [Rather(q[:, None]), Why()], class_names=data.class_names).cpu()
    size = tuple(x.shape[-2:])
    maps = {"contrast": result.maps[:, 0], "gradcam": result.maps[:, 1],
            "random": random_maps(len(keep), size, options.seed, cells=tuple(result.raw.shape[-2:]))}
    report: dict = {"images": len(keep), "rival": "closest look-alike" if synthetic else "runner-up"}
    figure: dict = {"shown": shown, "maps": maps, "p": p, "q": q, "probs": result.probs}
    if synthetic:
        swap = swap_truth(data.labels[keep.numpy()], data.seeds[keep.numpy()], q.numpy(), size[0])
        changed, part = torch.from_numpy(swap.changed), torch.from_numpy(swap.part)
        figure["truth"] = changed
        with torch.no_grad():
            moved = model(preprocess.normalise(torch.from_numpy(swap.swapped)).to(x.device)).argmax(1).cpu()
        report["truth"] = "pixels changed by swapping the differing part (part: the part's pixels)"
        report["truth_area"] = mean(changed.double().mean(dim=(1, 2)))
        shares = {name: energy_share(maps[name], changed) for name in MAPS[:2]}
        report["energy_share"] = {name: mean(values) for name, values in shares.items()}
        parts = [differing_parts(int(a), int(b))[0] for a, b in zip(p.tolist(), q.tolist())]
        report["energy_share_by_part"] = {
            part: {"images": parts.count(part), **{name: mean(values[[x == part for x in parts]])
                                                   for name, values in shares.items()}}
            for part in PARTS if part in parts}
        report["part_energy_share"] = {name: mean(energy_share(maps[name], part)) for name in MAPS[:2]}
        report["pointing_game"] = {name: mean(pointing_game(maps[name], changed).double()) for name in MAPS[:2]}
        report["part_pointing_game"] = {name: mean(pointing_game(maps[name], part).double()) for name in MAPS[:2]}
        report["part_swap"] = {"images": len(keep), "moved_to_b": mean((moved == q).double()),
                               "stayed_a": mean((moved == p).double())}
    else:
        inside = box_masks(boxes, size)
        known = ~torch.isnan(boxes).any(1)
        report["truth"] = "object box"
        report["box_images"] = int(known.sum())
        report["energy_share_in_box"] = {name: mean(energy_share(maps[name], inside)[known]) for name in MAPS[:2]}
        report["pointing_game_in_box"] = {name: mean(pointing_game(maps[name], inside)[known].double())
                                          for name in MAPS[:2]}
    if report.get("energy_share", {}).get("gradcam"):
        report["energy_share_ratio"] = report["energy_share"]["contrast"] / report["energy_share"]["gradcam"]
    curves = {}
    for mode, name in progress.bar([(mode, name) for mode in ("deletion", "insertion") for name in MAPS],
                                   desc=f"deletion and insertion curves ({options.steps} steps)", unit="curve"):
        curves[mode, name] = perturbation_curves(model, x, maps[name].to(x.device), p, q, mode=mode,
                                                 steps=options.steps, batch_size=options.batch_size)
    for mode in ("deletion", "insertion"):
        for score in ("margin", "probability"):
            report[f"{score}_{mode}_auc"] = {name: mean(curves[mode, name].area(score)) for name in MAPS}
    figure["curves"] = curves
    count = min(options.sanity_images, len(keep))
    report["sanity"] = sanity_report(model, explainer.layer_name, x[:count], p[:count], q[:count], options,
                                     progress)
    return report, figure


def sanity_report(model: nn.Module, layer: str, x: torch.Tensor, p: torch.Tensor, q: torch.Tensor,
                  options: AuditOptions, progress: Progress = SILENT) -> dict:
    """The sanity checks (``rather.common.sanity``) of the contrast map (Why P, rather than Q?) and Grad-CAM
    (Why P?) on ``x``: mean rank correlation with the trained model's maps per cascading and independent
    step, and with the maps of a random other class."""
    asked = [Rather(q[:, None], p=p[:, None]), Why(p[:, None])]

    def rows(steps: list) -> list[dict]:
        return [{"randomised": list(step.layers), "rank_correlation": {
            "contrast": mean(step.correlation[:, 0]), "gradcam": mean(step.correlation[:, 1])}} for step in steps]

    progress.note(f"sanity checks on {len(x)} images: cascading and independent randomisation, random logit")
    settings = {"steps": options.sanity_steps, "seed": options.seed}
    report = {"images": len(x),
              "cascade": rows(sanity.cascade(model, layer, x, asked, **settings)),
              "independent": rows(sanity.independent(model, layer, x, asked, **settings))}
    with torch.no_grad():
        classes = model(x[:1]).shape[1]
    if classes >= 3:
        r = sanity.random_classes(p, q, classes, options.seed)[:, None]
        correlation = sanity.random_logit(model, layer, x, asked, [Rather(q[:, None], p=r), Why(r)])
        report["random_logit"] = {"contrast": mean(correlation[:, 0]), "gradcam": mean(correlation[:, 1])}
    return report


def trust_report(data, scores: Scores, options: AuditOptions) -> dict:
    """The trust ranking from every image's ``scores``: the ``trust_ranked`` correct predictions of lowest
    GradTrust and the mistakes of highest GradTrust, each with its id, path, classes and both scores."""
    logits, trust, voice = scores.logits, scores.trust, scores.voice
    correct = logits.argmax(1) == torch.from_numpy(data.labels)
    rows = torch.arange(len(logits))

    def listed(chosen: torch.Tensor) -> list[dict]:
        return [{**image_record(data, logits, int(i), p_true=int(data.labels[i])),
                 "gradtrust": round(float(trust[i]), 4), "voice_mean": round(float(voice[i]), 6)} for i in chosen]

    least = rows[correct][trust[correct].argsort(stable=True)][:options.trust_ranked]
    most = rows[~correct][trust[~correct].argsort(descending=True, stable=True)][:options.trust_ranked]
    return {"score": "GradTrust (top-k counterfactual gradient energy, max over mean; 1: no class stands out)",
            "mean_gradtrust_correct": mean(trust[correct]), "mean_gradtrust_mistakes": mean(trust[~correct]),
            "least_trustworthy_correct": listed(least), "most_trustworthy_mistakes": listed(most)}
