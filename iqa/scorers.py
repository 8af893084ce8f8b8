"""Any quality model, full-reference or no-reference, behind one interface: read, score, explain.

A quality model is rather's WaDIQaM / DIQaM checkpoint or a user's network given as
``--model module:factory --weights W [--model-kwargs JSON]`` (built by
``rather.common.load_model``, the loader ``rather explain`` uses). A user's full-reference
model is called as ``model(dist, ref)`` (LPIPS, DISTS and the like), a no-reference one as
``model(dist)``; either may return (N,), (N, 1) or (N, 1, 1, 1) scores.

Images travel as one tensor: the pair stacked along the channels (N, 6, H, W), distorted
first, or the distorted image alone (N, 3, H, W); the patchwise windows are cut from it, so
that a window of a pair is a pair. ``QualityModel.inputs`` turns it into the model's
positional inputs: itself for WaDIQaM (which reads the stacked pair), ``(dist, ref)`` for a
user's full-reference model, ``(dist,)`` for a no-reference one. The explainer takes those
inputs as they are (``Explainer(model)((dist, ref), q)``, maps over ``dist``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from rather.common import BadInput, BadModel, load_model
from rather.common.capture import find_layer
from rather.common.images import read_image
from rather.common.memory import out_of_memory
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike

from .datasets import RatedSet
from .networks import PATCH, WaDIQaM
from .options import SCORE_SCALE, ModelChoice

@dataclass
class QualityModel:
    """A loaded quality model: ``network(*inputs(x))`` scores the stacked input x.

    layer, call: what is explained (None: no layer named, scoring only); tiled: WaDIQaM, which
    reads the stacked pair and cuts its own 32 x 32 tiles (image mode puts its tile maps
    together); score_range: (low, high), the scores the model gives; name: how summaries name
    the model.
    """

    network: nn.Module
    layer: Optional[str]
    call: int
    full_reference: bool
    lower_better: bool
    score_range: tuple[float, float]
    tiled: bool
    name: str
    meta: dict

    @property
    def device(self) -> torch.device:
        tensor = next(self.network.parameters(), None)
        return tensor.device if tensor is not None else torch.device("cpu")

    def inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The model's positional inputs from the stacked x: (x,) for WaDIQaM and no-reference models, else
        (dist, ref)."""
        if self.tiled or not self.full_reference:
            return (x,)
        half = x.shape[1] // 2
        return x[:, :half], x[:, half:]

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Scores (N,) of the stacked input x, in eval mode; a model that cannot run on x is BadInput."""
        self.network.eval()
        try:
            scores = self.network(*self.inputs(x.to(self.device)))
        except (RuntimeError, TypeError) as error:
            if out_of_memory(error):
                raise
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            how = "model(dist, ref)" if self.full_reference and not self.tiled else "model(x)"
            raise BadInput(f"the quality model cannot run as {how} on images of {x.shape[-2]} x {x.shape[-1]} "
                           f"pixels: {first[:200]}") from None
        if not isinstance(scores, torch.Tensor) or scores.dim() == 0 or scores.numel() != x.shape[0]:
            shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
            raise BadModel(f"a quality model must give one score per image, (N,), (N, 1) or (N, 1, 1, 1); got {shape} "
                           f"for {x.shape[0]} image(s)")
        if not torch.isfinite(scores).all():
            raise BadModel("the quality model gave NaN or Inf scores; check the model and its weights")
        return scores.reshape(x.shape[0]).cpu()


def load_quality(choice: ModelChoice) -> QualityModel:
    """The model ``choice`` names, built by ``rather.common.load_model`` and wrapped as the iqa pipelines read it."""
    if choice.factory is None and choice.kwargs:
        raise BadInput("--model-kwargs needs --model module:factory (rather's checkpoints record their own)")
    model, meta = load_model(choice.factory, choice.weights, kwargs=dict(choice.kwargs), device=choice.device)
    score_range = checked_range(choice.score_range or meta.get("score_range") or SCORE_SCALE, choice.weights)
    if choice.factory is None and not isinstance(model, WaDIQaM):
        raise BadModel(f"'{choice.weights}' is not a WaDIQaM/DIQaM checkpoint (it builds a {type(model).__name__}); "
                       "for a quality model of your own, give --model module:factory too")
    if isinstance(model, WaDIQaM):
        if choice.no_reference and model.full_reference:
            raise BadInput(f"--no-reference: '{choice.weights}' is a full-reference {type(model).__name__}; leave "
                           "--no-reference out and give the reference image")
        return QualityModel(model, choice.layer or meta.get("layer", "features"), choice.call, model.full_reference,
                            choice.lower_better, score_range, True, choice.factory or str(choice.weights), meta)
    if choice.layer is not None:
        find_layer(model, choice.layer)  # a name the model lacks is refused now, with close matches
    return QualityModel(model, choice.layer, choice.call, not choice.no_reference, choice.lower_better, score_range,
                        False, choice.factory or str(choice.weights), meta)


def checked_range(value: object, where: object) -> tuple[float, float]:
    """(low, high): two finite numbers, low < high; BadInput for a ``--score-range``, BadModel for a checkpoint's."""
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
            and value[0] < value[1]):
        return float(value[0]), float(value[1])
    raise BadInput(f"score range {value!r} (from --score-range or the meta of '{where}') must be two finite numbers, "
                   "low < high; give --score-range LOW HIGH")


def read_rgb(path: PathLike) -> np.ndarray:
    """An image file as (3, H, W) float32 in [0, 1] (grey as three equal channels), at least PATCH x PATCH."""
    image = read_image(path)
    image = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image[:3]
    if min(image.shape[-2:]) < PATCH:
        raise BadInput(f"'{path}' is {image.shape[1]} x {image.shape[2]} pixels, smaller than the model's {PATCH} x "
                       f"{PATCH} patch (the window patchwise mode explains); give images of at least {PATCH} x {PATCH}")
    return image


def read_inputs(model: QualityModel, distorted: PathLike, reference: Optional[PathLike],
                ) -> tuple[torch.Tensor, np.ndarray, Optional[np.ndarray]]:
    """``read_stack`` for ``model``: a full-reference model needs the reference, a no-reference model refuses one."""
    if model.full_reference and reference is None:
        raise BadInput("this is a full-reference model: give the reference image after the distorted one (or, for a "
                       "model that reads one image, --no-reference)")
    if not model.full_reference and reference is not None:
        raise BadInput(f"this model reads one image (--no-reference): give the distorted image alone, not "
                       f"'{reference}' too")
    return read_stack(distorted, reference)


def read_stack(distorted: PathLike, reference: Optional[PathLike],
               ) -> tuple[torch.Tensor, np.ndarray, Optional[np.ndarray]]:
    """(the stacked input (1, 6 or 3, H, W), the distorted image, the reference or None) from image files."""
    dist = read_rgb(distorted)
    if reference is None:
        return torch.from_numpy(dist)[None].float(), dist, None
    ref = read_rgb(reference)
    if dist.shape != ref.shape:
        raise BadInput(f"the distorted image is {dist.shape[1:]} (H, W) but the reference is {ref.shape[1:]}; a "
                       "full-reference score needs two images of the same size")
    return torch.from_numpy(np.concatenate([dist, ref]))[None].float(), dist, ref


def score_files(choice: ModelChoice, distorted: PathLike, reference: Optional[PathLike]) -> float:
    """The score the model ``choice`` names gives image file ``distorted`` (against ``reference``)."""
    model = load_quality(choice)
    return float(model.score(read_inputs(model, distorted, reference)[0])[0])


def score_rated(model: QualityModel, rated: RatedSet, progress: Progress = SILENT) -> np.ndarray:
    """The model's scores of a data set's images, one at a time (sizes may differ between them)."""
    return np.array([float(model.score(read_stack(r.distorted, r.reference if model.full_reference else None)[0])[0])
                     for r in progress.bar(rated.ratings, desc="scoring", unit="image")], dtype=np.float64)


def synthetic_scorer(model: QualityModel, batch_size: int = 64) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(distorted (N, 3, H, W), references) -> the model's scores (N,), in batches: what ``evaluate_synthetic`` takes."""

    def score(distorted: np.ndarray, references: np.ndarray) -> np.ndarray:
        parts = []
        for start in range(0, len(distorted), batch_size):
            x = torch.as_tensor(distorted[start:start + batch_size]).float()
            if model.full_reference:
                x = torch.cat([x, torch.as_tensor(references[start:start + batch_size]).float()], dim=1)
            parts.append(model.score(x))
        return torch.cat(parts).numpy()

    return score
