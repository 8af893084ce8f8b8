"""Transformers: token activations laid out on a grid (issue 14, item 3).

The reference hooks the encoder block, takes ``torch.autograd.grad`` of the loss at its
tokens, drops the class token, puts the patch tokens in their places and makes
Grad-CAM by hand; nothing of rather is used in it.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rather.common import METHODS, BadModel, Explainer, Rather, Why
from rather.common.tokens import square_grid


class TinyViT(nn.Module):
    """A vision transformer from torch.nn: 4 x 4 patches of a 16 x 16 image, a class token or mean pooling."""

    def __init__(self, class_token=True, width=16, classes=5):
        super().__init__()
        torch.manual_seed(9)
        self.patches = nn.Conv2d(3, width, 4, stride=4)
        self.class_token = nn.Parameter(torch.randn(1, 1, width)) if class_token else None
        self.position = nn.Parameter(0.1 * torch.randn(1, 16 + class_token, width))
        layer = nn.TransformerEncoderLayer(width, 2, 2 * width, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        tokens = self.patches(x).flatten(2).transpose(1, 2)
        if self.class_token is not None:
            tokens = torch.cat([self.class_token.expand(len(x), -1, -1), tokens], dim=1)
        tokens = self.encoder(tokens + self.position)
        pooled = tokens[:, 0] if self.class_token is not None else tokens.mean(dim=1)
        return self.head(self.norm(pooled))


class TinySwin(nn.Module):
    """Activations laid out (N, H, W, D), as Swin's stages give them."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(10)
        self.patches = nn.Conv2d(3, 8, 4, stride=4)
        self.stage = nn.Sequential(nn.LayerNorm(8), nn.Linear(8, 8), nn.GELU())
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        tokens = self.stage(self.patches(x).permute(0, 2, 3, 1))  # (N, H, W, D)
        return self.head(tokens.amax(dim=(1, 2)))


@pytest.fixture
def pictures():
    return torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(5))


def hand_token_gradcam(model, layer, x, loss_of_output, to_grid):
    """Raw Grad-CAM (N, g, g) at the tokens of ``layer``, laid out by ``to_grid``, by hand."""
    saved = []
    handle = layer.register_forward_hook(lambda module, args, output: saved.append(output))
    loss = loss_of_output(model(x))
    handle.remove()
    (gradient,) = torch.autograd.grad(loss, saved[0])
    activation, gradient = to_grid(saved[0].detach()), to_grid(gradient)
    return F.relu((gradient.mean(dim=(2, 3), keepdim=True) * activation).sum(dim=1))


def patch_tokens(tokens):
    """By hand: drop the class token if there is one (17 tokens), the 16 others as a 4 x 4 grid."""
    return tokens[:, -16:].reshape(len(tokens), 4, 4, -1).permute(0, 3, 1, 2)


@pytest.mark.parametrize("class_token", [True, False])
def test_a_vision_transformer_is_explained_on_its_patch_grid(class_token, pictures):
    model = TinyViT(class_token).eval()
    layer = model.encoder.layers[0]
    q = 3
    expected = hand_token_gradcam(model, layer, pictures, lambda y: F.cross_entropy(y, torch.full((2,), q),
                                                                                    reduction="sum"), patch_tokens)
    result = Explainer(model, layer="encoder.layers.0", reshape="auto")(pictures, [Rather(q), Why()])
    assert expected.amax() > 0, "an empty reference map would prove nothing"
    torch.testing.assert_close(result.raw[:, 0], expected, rtol=1e-4, atol=1e-5)
    assert result.raw.shape == (2, 2, 4, 4) and result.maps.shape == (2, 2, 16, 16)


@pytest.mark.parametrize("method", [name for name, method in METHODS.items() if method.source == "layer"])
def test_every_layer_method_works_on_tokens_and_equals_one_question_at_a_time(method, pictures):
    explainer = Explainer(TinyViT().eval(), layer="encoder.layers.0", reshape="auto", method=method)
    together = explainer(pictures, Rather.all())
    for q in range(5):
        torch.testing.assert_close(together.raw[:, q], explainer(pictures, Rather(q)).raw[:, 0], rtol=1e-4, atol=1e-6)


def test_a_reshape_function_lays_out_swin_activations(pictures):
    model = TinySwin().eval()
    to_grid = lambda tokens: tokens.permute(0, 3, 1, 2)  # noqa: E731
    expected = hand_token_gradcam(model, model.stage, pictures, lambda y: y[:, 1].sum(), to_grid)
    result = Explainer(model, layer="stage", reshape=to_grid)(pictures, Why(1))
    torch.testing.assert_close(result.raw[:, 0], expected, rtol=1e-4, atol=1e-6)
    assert result.gradient_path == "autograd"


def test_square_grid_keeps_every_patch_in_its_place():
    tokens = torch.arange(2 * 10 * 3).reshape(2, 10, 3).float()  # a class token and a 3 x 3 grid
    grid = square_grid(tokens)
    assert grid.shape == (2, 3, 3, 3)
    assert grid[1, :, 2, 0].tolist() == tokens[1, 1 + 2 * 3 + 0].tolist()
    assert square_grid(tokens[:, 1:]).equal(grid)
    conv = torch.zeros(2, 4, 5, 5)
    assert square_grid(conv) is conv


def test_a_model_with_tokens_is_left_untouched(pictures, untouched):
    model = TinyViT()
    model.train()
    with untouched(model):
        Explainer(model, layer="encoder.layers.0", reshape="auto")(pictures, Rather.all())
        with pytest.raises(BadModel):
            Explainer(model, layer="encoder.layers.0")(pictures, Why())


class PatchStrip(nn.Module):
    """Tokens that form no square grid: 4 x 5 patches."""

    def __init__(self, batch_first=True):
        super().__init__()
        torch.manual_seed(11)
        self.patches = nn.Conv2d(3, 8, 4, stride=4)
        self.block = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first)
        self.head = nn.Linear(8, 3)
        self.batch_first = batch_first

    def forward(self, x):
        tokens = self.patches(x).flatten(2).transpose(1, 2)
        if not self.batch_first:
            return self.head(self.block(tokens.transpose(0, 1)).mean(dim=0))
        return self.head(self.block(tokens).mean(dim=1))


@pytest.mark.parametrize("model, reshape, message", [
    (TinyViT(), None, r"layer 'encoder.layers.0' gives tokens of shape \(2, 17, 16\) \(N, T, D\) that form no grid; "
                      r"pass Explainer\(..., reshape='auto'\)"),
    (PatchStrip(), "auto", r"layer 'block' gives 20 tokens, shape \(2, 20, 8\) \(N, T, D\): neither a square grid "
                         r"\(g x g\) nor a class token and one; pass reshape=callable"),
    (PatchStrip(batch_first=False), "auto", r"layer 'block' gives tokens of shape \(20, 2, 8\), the batch second "
                                          r"\(T, N, D\); explain a batch-first layer"),
    (PatchStrip(), lambda t: t.reshape(len(t), 8, 4, 4), r"reshape failed on the activation of layer 'block', shape "
                                                       r"\(2, 20, 8\): .*; pass a function of a batch of any size"),
    (PatchStrip(), lambda t: t.transpose(1, 2), r"reshape made shape \(2, 8, 20\) of the activation of layer 'block', "
                                              r"shape \(2, 20, 8\); it must return \(2, K, h, w\)"),
    (PatchStrip(), lambda t: t.transpose(1, 2).reshape(8, 2, 4, 5), r"reshape made shape \(8, 2, 4, 5\)"),
])
def test_tokens_without_a_grid_are_refused(model, reshape, message):
    layer = "block" if isinstance(model, PatchStrip) else "encoder.layers.0"
    pictures = torch.randn(2, 3, 16, 20) if isinstance(model, PatchStrip) else torch.randn(2, 3, 16, 16)
    with pytest.raises(BadModel, match=message):
        Explainer(model.eval(), layer=layer, reshape=reshape)(pictures, Why())


def test_reshape_is_checked_when_the_explainer_is_made(resnet):
    with pytest.raises(BadModel, match=r"reshape must be 'auto' or a function .*; got 'square'"):
        Explainer(resnet, layer="layer2", reshape="square")
    with pytest.raises(BadModel, match=r"reshape lays out a layer's tokens; method 'gradient' works at the input"):
        Explainer(resnet, method="gradient", reshape="auto")
