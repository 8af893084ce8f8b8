"""The Explainer: one forward pass, then every question through the head at once."""
from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence, Union

import torch
from torch import nn

from .capture import ActivationCapture, LastLinearProbe, explaining, find_layer
from .errors import BadInput, BadModel
from .gradients import ChannelSums, analytic_head, gradient_chunks, questions_per_chunk
from .maps import FeatureGrid
from .memory import out_of_memory
from .messages import error_reason
from .methods import INPUT, METHODS, Method
from .models import model_checksum
from .questions import Directions, Question, resolve, task_of
from .results import ExplanationResult, Upsampling
from .tokens import Reshape, on_grid
from .trunks import feature_grid, model_trunk

HEADS = ("auto", "linear", "autograd")

Inputs = Union[torch.Tensor, tuple]
"""What ``Explainer.__call__`` takes as x: one tensor, or a tuple of the model's positional inputs."""

OutputSpec = Union[None, str, int, Callable[[Any], torch.Tensor]]
"""Where the logits are in what the model returns: itself (None), a key or attribute, an index, or a function."""


class Answers(NamedTuple):
    """One batch's answers before they become an ``ExplanationResult`` (``Explainer.answers``).

    raw: (N, Q, h, w) maps at the layer's resolution (put together by ``assemble`` where given);
    outputs: the model's outputs, detached; directions: the questions resolved against them;
    gradient_path: the path the gradients took; was_training: the model was in train mode.
    """

    raw: torch.Tensor
    outputs: torch.Tensor
    directions: Directions
    gradient_path: str
    was_training: bool


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

    Several inputs: ``ex((dist, ref), q)`` runs ``model(dist, ref)`` and draws the maps
    over input ``explain_input`` (default 0: ``dist``); an input method takes its gradient
    there. ``ex(x, q, forward_kwargs={"mask": m})`` adds keyword inputs to every call.

    Outputs: the model's output y is logits (N, C) or scores (N,) / (N, 1); an output whose
    items hold one number each, (N, 1, 1, 1) say, is a score, and (N, C, 1, 1) is (N, C).
    A model that returns something else names its logits with ``output=``: a key
    (``"logits"`` of a dict), an attribute, an index (of a tuple) or a function of the output.

    Dense outputs (segmentation logits y (N, C, H, W)): each question names a region R,
    ``Why(region=R)``, ``Rather(q, region=R)``, and its loss is summed over R's pixels,
    ``J = sum_i w_i J(y_i)`` (``questions``; masks from ``regions``). The maps are those of
    that J, at the same cost: one forward pass, one batched product for all questions.

    Transformers: a layer giving tokens A (N, T, D) is laid out on a grid before the maps,
    A -> (N, D, g, g), by ``reshape="auto"`` (T = g^2 patch tokens, after a class token or
    not) or by ``reshape=f`` for anything else (Swin's (N, H, W, D): ``lambda t: t.permute(0, 3, 1, 2)``).
    dJ/dA is taken at the tokens and laid out the same way, so every method applies as is;
    ``f`` must take a batch of any size (the gradients of several questions come through it).

    Volumes: a ``Conv3d`` layer's activation A (N, K, d, h, w) over inputs (N, C, D, H, W)
    gives maps (N, Q, D, H, W): GAP and the sums run over d, h and w, the maps are resized
    trilinearly and normalised per volume; every method applies (the closed-form linear head
    and the trunk grid are 2-D only: volumes take the autograd path, stretched).

    Args:
        model: any ``nn.Module`` giving logits (N, C), scores (N,) / (N, 1) or dense logits (N, C, H, W).
        layer: dotted module name or the module; not needed by input methods.
        method: a name in ``METHODS`` or a ``Method``.
        call: which call of a module that runs several times per forward.
        head: "auto", "linear" or "autograd" (see above).
        memory_budget: bytes of gradients held at once; bounds the question chunk.
        assemble: for a model that runs the layer on T tiles of each input (a patch-based
            quality network, say: the activation's batch is N * T, input n's tiles at rows
            n T .. n T + T - 1), a function ``(raw (N T, Q, h, w), input shape) -> (N, Q, h', w')``
            that puts each input's tile maps together; its output is upsampled and normalised as usual.
        explain_input: which of the model's positional inputs the maps are drawn over.
        output: where the logits (or scores) are in the model's output (see above); None: the output itself.
        reshape: None, "auto" or a function laying a layer's tokens out as (N, K, h, w) (see above).
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
        explain_input: int = 0,
        output: OutputSpec = None,
        reshape: Reshape = None,
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
        if not isinstance(explain_input, int) or isinstance(explain_input, bool) or explain_input < 0:
            raise BadModel(f"explain_input must be a non-negative integer (which of the model's inputs); "
                           f"got {explain_input!r}")
        if not (output is None or callable(output) or isinstance(output, str)
                or isinstance(output, int) and not isinstance(output, bool)):
            raise BadModel(f"output must be a key or attribute name, an index or a function of the model's output; "
                           f"got {type(output).__name__}")
        if not (reshape is None or reshape == "auto" or callable(reshape)):
            raise BadModel(f"reshape must be 'auto' or a function that lays tokens out as (N, K, h, w); "
                           f"got {reshape!r}")
        if reshape is not None and method.source == INPUT:
            raise BadModel(f"reshape lays out a layer's tokens; method '{method.name}' works at the input: "
                           "leave it out")
        self.model = model
        self.output = output
        self.reshape = reshape
        self.method = method
        self.call = call
        self.head = head
        self.memory_budget = memory_budget
        self.assemble = assemble
        self.explain_input = explain_input
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
        x: Inputs,
        questions: Union[Question, Sequence[Question]],
        *,
        ids: Optional[Sequence[str]] = None,
        class_names: Sequence[str] = (),
        forward_kwargs: Optional[Mapping[str, Any]] = None,
    ) -> ExplanationResult:
        """Explain a batch: x (N, C, H, W), or a tuple of inputs for ``model(*x, **forward_kwargs)``.

        Every question is asked of every input; the maps are over ``x[explain_input]``.
        """
        inputs = self._checked_inputs(x, ids)
        answers = self._answers(inputs, questions, forward_kwargs)
        notes = ("the model was in train mode: explained in eval mode, then restored",) if answers.was_training else ()
        return self._result(Upsampling(tuple(inputs[self.explain_input].shape[2:]), self.grid), answers.raw,
                            answers.directions, answers.outputs, gradient_path=answers.gradient_path, ids=ids,
                            notes=notes, class_names=class_names)

    def answers(
        self,
        x: Inputs,
        questions: Union[Question, Sequence[Question]],
        *,
        forward_kwargs: Optional[Mapping[str, Any]] = None,
    ) -> Answers:
        """What ``__call__`` makes its result of, without the result: for a caller that puts the raw maps of many
        batches together itself (windows blended over an image, then ``stitched``) and needs neither full-size
        maps nor a result (with its notes) per batch."""
        return self._answers(self._checked_inputs(x, None), questions, forward_kwargs)

    def _answers(self, inputs: tuple, questions: Union[Question, Sequence[Question]],
                 forward_kwargs: Optional[Mapping[str, Any]]) -> Answers:
        """One forward pass over the checked ``inputs``, then every question through the head."""
        kwargs = self._checked_kwargs(forward_kwargs)
        explained = inputs[self.explain_input]
        probe = LastLinearProbe(self.model, enabled=self.layer is not None and self.head != "autograd")
        with explaining(self.model) as was_training, probe:
            if self.layer is None:
                source = explained.clone().requires_grad_(True)
                outputs = self._forward(_replaced(inputs, self.explain_input, source), kwargs)
            else:
                with ActivationCapture(self.layer, self.call, self.layer_name,
                                       tokens=self.reshape is not None) as capture:
                    outputs = self._forward(inputs, kwargs)
                source = capture.checked_activation()
            raw, directions, gradient_path = self._raw_maps(outputs, source, questions, probe)
        raw = self._per_input(raw, explained.shape)
        if raw.dim() != explained.dim():
            raise BadModel(f"layer '{self.layer_name}' gives maps over {tuple(raw.shape[2:])} for inputs over "
                           f"{tuple(explained.shape[2:])}: pick a layer of the same kind (Conv3d for a volume "
                           "(N, C, D, H, W), Conv2d for images)")
        return Answers(raw, outputs.detach(), directions, gradient_path, was_training)

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
            outputs=outputs.detach().reshape(raw.shape[0], -1) if outputs.dim() <= 2 else outputs.detach(),
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

    def _checked_inputs(self, x: Inputs, ids: Optional[Sequence[str]]) -> tuple:
        """x as a tuple of the model's inputs on its device; the explained one checked as an image batch."""
        inputs = x if isinstance(x, tuple) else (x,)
        if not inputs:
            raise BadInput("x is an empty tuple; give the input tensor, or a tuple of the model's inputs")
        if self.explain_input >= len(inputs):
            raise BadInput(f"explain_input={self.explain_input}, but x holds {len(inputs)} input(s); "
                           f"use 0..{len(inputs) - 1}")
        name = "input" if len(inputs) == 1 else f"input {self.explain_input} of x (explain_input)"
        explained = self._checked_input(inputs[self.explain_input], name)
        for index, item in enumerate(inputs):
            if index != self.explain_input and isinstance(item, torch.Tensor) and item.is_floating_point() \
                    and not all_finite(item):
                raise BadInput(f"input {index} of x holds {int((~torch.isfinite(item)).sum())} NaN or Inf values; "
                               "clean or mask them first")
        if ids is not None and len(ids) != explained.shape[0]:
            raise BadInput(f"{len(ids)} ids for {explained.shape[0]} inputs; give one id per input")
        return tuple(explained if index == self.explain_input else self._on_device(item)
                     for index, item in enumerate(inputs))

    def _checked_input(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """The input the maps are drawn over: a finite floating batch (N, C, H, W) or (N, C, D, H, W), detached,
        on the device."""
        if not isinstance(x, torch.Tensor):
            raise BadInput(
                f"{name} must be a torch.Tensor of shape (N, C, H, W); got {type(x).__name__} "
                "(convert with torch.as_tensor(x, dtype=torch.float32))"
            )
        if x.dim() not in (4, 5):
            hint = " (add the batch dimension: x.unsqueeze(0))" if x.dim() == 3 else \
                " (or (N, C, D, H, W) for a volume)"
            raise BadInput(f"{name} must have shape (N, C, H, W); got {tuple(x.shape)}{hint}")
        if not x.is_floating_point():
            raise BadInput(f"{name} must be floating point; got {x.dtype} (scale it, e.g. x.float() / 255)")
        if x.shape[0] == 0 or min(x.shape[2:]) == 0:
            raise BadInput(f"{name} is empty: shape {tuple(x.shape)}")
        if not all_finite(x):
            raise BadInput(f"{name} holds {int((~torch.isfinite(x)).sum())} NaN or Inf values; "
                           "clean or mask them first")
        return x.detach().to(self.device)

    def _checked_kwargs(self, forward_kwargs: Optional[Mapping[str, Any]]) -> dict:
        """The keyword inputs of every call, tensors on the model's device."""
        if forward_kwargs is None:
            return {}
        if not isinstance(forward_kwargs, Mapping) or not all(isinstance(key, str) for key in forward_kwargs):
            raise BadInput(f"forward_kwargs must be a dict of keyword inputs (name -> value); "
                           f"got {type(forward_kwargs).__name__}")
        return {key: self._on_device(value) for key, value in forward_kwargs.items()}

    def _on_device(self, value: Any) -> Any:
        """A tensor detached and on the model's device; anything else as it is."""
        return value.detach().to(self.device) if isinstance(value, torch.Tensor) else value

    def _forward(self, inputs: tuple, kwargs: dict) -> torch.Tensor:
        """The model's output for the inputs, checked: logits (N, C) or scores (N,)."""
        n = inputs[self.explain_input].shape[0]
        try:
            outputs = self.model(*inputs, **kwargs)
        except (RuntimeError, TypeError) as error:
            if out_of_memory(error):
                raise  # not a shape the model refuses: the command says what was asked and what to do
            reason = error_reason(str(error)) or type(error).__name__  # one line, channels named in our words
            raise BadInput(f"the model cannot run on {_shapes(inputs)}: {reason}") from None
        outputs = _shaped(self._picked(outputs), n)
        if not outputs.is_floating_point() or not torch.isfinite(outputs).all():
            raise BadModel("model output holds NaN or Inf (or is not floating point); check the model and its weights")
        return outputs

    def _picked(self, returned: Any) -> Any:
        """The part of the model's output that ``output=`` names (all of it when None)."""
        spec, found = self.output, type(returned).__name__
        if spec is None:
            return returned
        if callable(spec):
            try:
                return spec(returned)
            except (KeyError, IndexError, AttributeError, TypeError) as error:
                raise BadModel(f"output=function failed on the model's output ({found}): {type(error).__name__}: "
                               f"{error}; pass a function that takes what the model returns") from None
        if isinstance(spec, str):
            if isinstance(returned, Mapping):
                if spec in returned:
                    return returned[spec]
                keys = ", ".join(repr(key) for key in returned)
                raise BadModel(f"output='{spec}': the model returns a {found} without that key; its keys: {keys}")
            if hasattr(returned, spec):
                return getattr(returned, spec)
            raise BadModel(f"output='{spec}': the model's output ({found}) has no key or attribute '{spec}'; "
                           "pass one it has, an index or a function")
        if isinstance(returned, (tuple, list)) and -len(returned) <= spec < len(returned):
            return returned[spec]
        size = f"{len(returned)} items; use 0..{len(returned) - 1}" if isinstance(returned, (tuple, list)) \
            else "no items to index"
        raise BadModel(f"output={spec}: the model's output ({found}) has {size}")

    def _raw_maps(self, outputs, source, questions, probe):
        """(N, Q, h, w) raw maps, the resolved questions, and the gradient path taken."""
        where = "the input" if self.layer is None else f"layer '{self.layer_name}'"
        if not outputs.requires_grad:
            raise BadModel(
                f"no gradient path from the model's output to {where}: the output is computed without "
                "gradients after it (detach, argmax, no_grad?) or does not use it"
            )
        y = outputs if outputs.dim() > 2 else outputs.reshape(outputs.shape[0], -1)
        directions = resolve(questions, y.detach())
        head = None
        if self.layer is not None and self.head != "autograd":
            flat = y.dim() == 2 and source.dim() == 4 and self.reshape is None  # the closed forms' shapes
            head = analytic_head(probe, source, y, self._channel_sums, self.method.mean_gradient) if flat else None
            if head is None and self.head == "linear":
                flatten = " (nor flatten + linear, for gradcam)" if self.method.mean_gradient else ""
                raise BadModel(
                    f"head='linear' was asked, but the head after layer '{self.layer_name}' is not "
                    f"global-average-pool + linear{flatten} on this input; use head='auto'"
                )
        grid = self._on_grid(source.detach(), y.shape[0])
        chunk = questions_per_chunk(source, self.memory_budget)
        raw = torch.empty((grid.shape[0], directions.v.shape[1], *grid.shape[2:]), dtype=grid.dtype, device=grid.device)
        for start, grads, at in gradient_chunks(y, source, directions.v, chunk, where, head, self.method.mean_gradient):
            if self.reshape is not None:  # no analytic head here: ``at`` is the activation, laid out as ``grid``
                pairs = grads.shape[:2]  # (inputs, questions): the layout runs on a batch of both
                grads, at = self._on_grid(grads.flatten(0, 1), pairs.numel()).unflatten(0, pairs), grid
            raw[:, start:start + grads.shape[1]] = self.method.raw_maps(grads, at)
        return raw, directions, head.name if head is not None else "autograd"

    def _on_grid(self, activation: torch.Tensor, batch: int) -> torch.Tensor:
        """The activation (or its gradients, ``batch`` items) laid out by ``reshape`` as (batch, K, h, w)."""
        if self.reshape is not None and activation.dim() == 3 and activation.shape[0] != batch \
                and activation.shape[1] == batch:
            raise BadModel(f"layer '{self.layer_name}' gives tokens of shape {tuple(activation.shape)}, the batch "
                           "second (T, N, D); explain a batch-first layer (nn.TransformerEncoderLayer(..., "
                           "batch_first=True))")
        return on_grid(activation, self.reshape, f"layer '{self.layer_name}'")


def all_finite(x: torch.Tensor) -> bool:
    """Whether every value of the floating tensor x is finite, in one reading pass when it is: the sum of finite
    values is finite unless it overflows, so the full element-wise test runs only on a sum that is not."""
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def _replaced(inputs: tuple, index: int, value: torch.Tensor) -> tuple:
    """``inputs`` with item ``index`` replaced by ``value``."""
    return inputs[:index] + (value,) + inputs[index + 1:]


def _shapes(inputs: tuple) -> str:
    """The inputs' shapes in words: "an input of shape (1, 5, 32, 32)", "inputs of shapes (2, 3, 8, 8), (2,)"."""
    shapes = [str(tuple(item.shape)) if isinstance(item, torch.Tensor) else type(item).__name__ for item in inputs]
    return f"an input of shape {shapes[0]}" if len(shapes) == 1 else f"inputs of shapes {', '.join(shapes)}"


def _shaped(outputs: Any, n: int) -> torch.Tensor:
    """The output as logits (N, C), scores (N,) / (N, 1) or dense logits (N, C, *S), S = (H, W) or (D, H, W).

    One number per input is a score, and (N, C, 1, 1) is (N, C).
    """
    if not isinstance(outputs, torch.Tensor):
        hints = {dict: "a key, output='logits'", tuple: "an index, output=0", list: "an index, output=0"}
        hint = next((text for kind, text in hints.items() if isinstance(outputs, kind)),
                    "an attribute name or a function")
        raise BadModel(f"model output must be logits (N, C) or scores (N,) for a batch of N = {n}; got "
                       f"{type(outputs).__name__}; name the logits with Explainer(..., output=...): {hint}")
    if outputs.dim() >= 1 and outputs.shape[0] == n:
        if outputs.dim() > 2 and outputs[0].numel() == 1:
            return outputs.reshape(n, 1)
        if outputs.dim() in (4, 5) and all(size == 1 for size in outputs.shape[2:]):
            return outputs.reshape(n, -1)
        if outputs.dim() in (1, 2, 4, 5):
            return outputs
    raise BadModel(f"model output must be logits (N, C), scores (N,) or dense logits (N, C, H, W) for a batch of "
                   f"N = {n}; got shape {tuple(outputs.shape)}")
