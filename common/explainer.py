"""The Explainer: one forward pass, then every question through the head at once."""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch
from torch import nn

from .capture import ActivationCapture, LastLinearProbe, explaining, find_layer
from .errors import BadInput, BadModel
from .gradients import ChannelSums, analytic_head, gradient_chunks, questions_per_chunk
from .maps import FeatureGrid
from .memory import out_of_memory
from .methods import INPUT, METHODS, Method
from .models import model_checksum
from .questions import Directions, Question, resolve, task_of
from .results import ExplanationResult, Upsampling
from .trunks import feature_grid, model_trunk

HEADS = ("auto", "linear", "autograd")


class Explainer:
    """Answers "Why P?", "What if not P?", "Why P, rather than Q?" and "Why s, rather than q?".

    For each question with loss J and a method (default Grad-CAM) the map is
    ``ReLU(sum_k alpha_k A_k)`` with ``alpha_k = GAP(dJ/dA_k)`` at the layer's
    activation A (N, K, h, w), upsampled bilinearly to the input size and
    normalised to [0, 1] per map. Upsampling stretches the cells over the input,
    except where the layer is a model's trunk of valid convolutions (``features``
    with ``classify``, see ``trunks``): there each cell sits on its receptive
    field's centre (``self.grid``).

    Cost: one forward pass. The trunk before the layer builds no graph, all
    questions go back through the head in one batched vector-Jacobian product,
    and a head ``GAP -> linear`` needs no backward pass at all (``head="auto"``
    detects and verifies it; ``"linear"`` insists on it; ``"autograd"`` never uses it).
    For Grad-CAM, a head that flattens the (pooled) activation into a Linear (VGG's)
    takes the questions back to that Linear's output only (``gradients.first_linear_head``).

    >>> ex = Explainer(model, layer="layer4")
    >>> res = ex(x, [Why(), Rather()])       # x: (N, C, H, W)
    >>> res.maps.shape                       # (N, 2, H, W)

    Args:
        model: any ``nn.Module`` giving logits (N, C) or scores (N,) / (N, 1).
        layer: dotted module name or the module; not needed by input methods.
        method: a name in ``METHODS`` or a ``Method``.
        call: which call of a module that runs several times per forward.
        head: "auto", "linear" or "autograd" (see above).
        memory_budget: bytes of gradients held at once; bounds the question chunk.
        assemble: for a model that runs the layer on T tiles of each input (a patch-based
            quality network, say: the activation's batch is N * T, input n's tiles at rows
            n T .. n T + T - 1), a function ``(raw (N T, Q, h, w), input shape) -> (N, Q, h', w')``
            that puts each input's tile maps together; its output is upsampled and normalised as usual.
    """

    def __init__(
        self,
        model: nn.Module,
        layer: Union[str, nn.Module, None] = None,
        *,
        method: Union[str, Method] = "gradcam",
        call: int = 0,
        head: str = "auto",
        memory_budget: int = 512 * 2**20,
        assemble: Optional[Callable[[torch.Tensor, torch.Size], torch.Tensor]] = None,
    ):
        if not isinstance(model, nn.Module):
            raise BadModel(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if isinstance(method, str):
            if method not in METHODS:
                raise BadModel(f"unknown method '{method}'; choose one of: {', '.join(METHODS)}")
            method = METHODS[method]
        if head not in HEADS:
            raise BadModel(f"head must be one of {', '.join(HEADS)}; got '{head}'")
        if not isinstance(call, int) or call < 0:
            raise BadModel(f"call must be a non-negative integer (which call of the layer); got {call!r}")
        self.model = model
        self.method = method
        self.call = call
        self.head = head
        self.memory_budget = memory_budget
        self.assemble = assemble
        if method.source == INPUT:
            self.layer_name, self.layer = "input", None
        elif layer is None:
            raise BadModel(f"method '{method.name}' needs a layer: Explainer(model, layer='layer4'), say")
        else:
            self.layer_name, self.layer = find_layer(model, layer)
        segments = model_trunk(model, self.layer) if call == 0 and assemble is None else None
        self.grid: Optional[FeatureGrid] = feature_grid(segments) if segments is not None else None
        self._checksum: tuple[tuple, str] = ((), "")
        self._channel_sums = ChannelSums()

    @property
    def model_checksum(self) -> str:
        """SHA-256 of the state dict, recomputed only when a tensor of it changed (version counters)."""
        key = tuple((id(t), t._version) for t in self.model.state_dict(keep_vars=True).values())
        if key != self._checksum[0]:
            self._checksum = (key, model_checksum(self.model))
        return self._checksum[1]

    @property
    def device(self) -> torch.device:
        tensor = next(self.model.parameters(), None)
        if tensor is None:
            tensor = next(self.model.buffers(), None)
        return tensor.device if tensor is not None else torch.device("cpu")

    def __call__(
        self,
        x: torch.Tensor,
        questions: Union[Question, Sequence[Question]],
        *,
        ids: Optional[Sequence[str]] = None,
        class_names: Sequence[str] = (),
    ) -> ExplanationResult:
        """Explain a batch x (N, C, H, W); every question is asked of every input."""
        x = self._checked_input(x, ids)
        probe = LastLinearProbe(self.model, enabled=self.layer is not None and self.head != "autograd")
        with explaining(self.model) as was_training, probe:
            if self.layer is None:
                source = x.detach().clone().requires_grad_(True)
                outputs = self._forward(source)
            else:
                with ActivationCapture(self.layer, self.call, self.layer_name) as capture:
                    outputs = self._forward(x)
                source = capture.checked_activation()
            raw, directions, gradient_path = self._raw_maps(outputs, source, questions, probe)
        raw = self._per_input(raw, x.shape)
        notes = ("the model was in train mode: explained in eval mode, then restored",) if was_training else ()
        return self._result(Upsampling(tuple(x.shape[-2:]), self.grid), raw, directions, outputs,
                            gradient_path=gradient_path, ids=ids, notes=notes, class_names=class_names)

    def stitched(
        self,
        raw: torch.Tensor,
        outputs: torch.Tensor,
        questions: Union[Question, Sequence[Question]],
        *,
        gradient_path: str,
        ids: Optional[Sequence[str]] = None,
        notes: Sequence[str] = (),
    ) -> ExplanationResult:
        """The result of maps put together outside the explainer, e.g. window maps blended over an image.

        raw: (N, Q, H, W) non-negative maps already over the whole inputs, one per question;
        outputs: the model's outputs for the whole inputs, (N, C) or (N,). The questions are
        resolved against ``outputs``, so P, Q and the kinds are those a direct explanation of
        the inputs would carry; each map is normalised on its own (no upsampling: the maps are
        at the inputs' size). ``gradient_path`` is the path the pieces' answers took.
        """
        outputs = outputs.detach()
        directions = resolve(questions, outputs.reshape(outputs.shape[0], -1))
        if raw.dim() != 4 or raw.shape[:2] != directions.p.shape:
            n, k = directions.p.shape
            raise BadInput(f"stitched maps must be (N, Q, H, W) = ({n}, {k}, H, W) for {n} inputs and {k} questions; "
                           f"got {tuple(raw.shape)}")
        return self._result(Upsampling(tuple(raw.shape[-2:])), raw, directions, outputs,
                            gradient_path=gradient_path, ids=ids, notes=tuple(notes))

    def _result(self, maps: Upsampling, raw: torch.Tensor, directions: Directions, outputs: torch.Tensor, *,
                gradient_path: str, ids: Optional[Sequence[str]], notes: tuple[str, ...],
                class_names: Sequence[str] = ()) -> ExplanationResult:
        """Every result of this explainer: the maps (made from ``raw`` when first read), the answers to
        ``directions``, and the explainer's settings."""
        return ExplanationResult(
            maps=maps,
            raw=raw,
            p=directions.p,
            q=directions.q,
            kinds=directions.kinds,
            outputs=outputs.detach().reshape(raw.shape[0], -1),
            task=task_of(outputs),
            layer=self.layer_name,
            method=self.method.name,
            call=self.call,
            gradient_path=gradient_path,
            ids=tuple(str(i) for i in ids) if ids is not None else (),
            notes=tuple(dict.fromkeys(directions.notes + notes)),
            class_names=tuple(class_names),
            model_checksum=self.model_checksum,
        )

    def _per_input(self, raw: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Raw maps (N, Q, h, w): as computed, or put together from tiles by ``assemble``."""
        if self.assemble is not None:
            return self.assemble(raw, shape)
        if raw.shape[0] != shape[0]:
            raise BadModel(
                f"layer '{self.layer_name}' ran on {raw.shape[0]} items for {shape[0]} inputs (the model cuts its "
                "input into tiles?); give Explainer(..., assemble=f) to put each input's tile maps together"
            )
        return raw

    def _checked_input(self, x: torch.Tensor, ids: Optional[Sequence[str]]) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise BadInput(
                f"input must be a torch.Tensor of shape (N, C, H, W); got {type(x).__name__} "
                "(convert with torch.as_tensor(x, dtype=torch.float32))"
            )
        if x.dim() != 4:
            hint = " (add the batch dimension: x.unsqueeze(0))" if x.dim() == 3 else ""
            raise BadInput(f"input must have shape (N, C, H, W); got {tuple(x.shape)}{hint}")
        if not x.is_floating_point():
            raise BadInput(f"input must be floating point; got {x.dtype} (scale it, e.g. x.float() / 255)")
        if x.shape[0] == 0 or min(x.shape[-2:]) == 0:
            raise BadInput(f"input is empty: shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise BadInput(f"input holds {int((~torch.isfinite(x)).sum())} NaN or Inf values; clean or mask them first")
        if ids is not None and len(ids) != x.shape[0]:
            raise BadInput(f"{len(ids)} ids for {x.shape[0]} inputs; give one id per input")
        return x.detach().to(self.device)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            outputs = self.model(x)
        except RuntimeError as error:
            if out_of_memory(error):
                raise  # not a shape the model refuses: the command says what was asked and what to do
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise BadInput(f"the model cannot run on an input of shape {tuple(x.shape)}: {first_line}") from None
        if not isinstance(outputs, torch.Tensor) or outputs.dim() not in (1, 2) or outputs.shape[0] != x.shape[0]:
            what = f"shape {tuple(outputs.shape)}" if isinstance(outputs, torch.Tensor) else type(outputs).__name__
            raise BadModel(
                f"model output must be logits (N, C) or scores (N,) for a batch of N = {x.shape[0]}; got {what}"
            )
        if not outputs.is_floating_point() or not torch.isfinite(outputs).all():
            raise BadModel("model output holds NaN or Inf (or is not floating point); check the model and its weights")
        return outputs

    def _raw_maps(self, outputs, source, questions, probe):
        """(N, Q, h, w) raw maps, the resolved questions, and the gradient path taken."""
        where = "the input" if self.layer is None else f"layer '{self.layer_name}'"
        if not outputs.requires_grad:
            raise BadModel(
                f"no gradient path from the model's output to {where}: the output is computed without "
                "gradients after it (detach, argmax, no_grad?) or does not use it"
            )
        y = outputs.reshape(outputs.shape[0], -1)
        directions = resolve(questions, y.detach())
        head = None
        if self.layer is not None and self.head != "autograd":
            head = analytic_head(probe, source, y, self._channel_sums, self.method.mean_gradient)
            if head is None and self.head == "linear":
                flatten = " (nor flatten + linear, for gradcam)" if self.method.mean_gradient else ""
                raise BadModel(
                    f"head='linear' was asked, but the head after layer '{self.layer_name}' is not "
                    f"global-average-pool + linear{flatten} on this input; use head='auto'"
                )
        chunk = questions_per_chunk(source, self.memory_budget)
        raw = torch.empty(
            (source.shape[0], directions.v.shape[1], *source.shape[-2:]), dtype=source.dtype, device=source.device
        )
        for start, grads, at in gradient_chunks(y, source, directions.v, chunk, where, head, self.method.mean_gradient):
            raw[:, start:start + grads.shape[1]] = self.method.raw_maps(grads, at)
        return raw, directions, head.name if head is not None else "autograd"
