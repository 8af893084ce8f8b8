"""Small random networks shaped like the real ones, shared by the tests."""
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from torch import nn

from rather.common.networks import ResNetLike, VGGLike


def randomise_batchnorm(model: nn.Module, seed: int) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            size = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(size, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(size, generator=generator))
            module.weight.data.copy_(1 + 0.2 * torch.randn(size, generator=generator))
            module.bias.data.copy_(0.1 * torch.randn(size, generator=generator))
    return model


def make_resnet(num_classes: int = 10, seed: int = 0) -> ResNetLike:
    torch.manual_seed(seed)
    model = ResNetLike(blocks=(1, 1), widths=(8, 16), num_classes=num_classes, bottleneck=False, stem=8)
    with torch.no_grad():
        model.fc.weight.mul_(8.0)  # confident predictions, as a trained network makes
    return randomise_batchnorm(model, seed).eval()


def make_vgg(num_classes: int = 10, seed: int = 0) -> VGGLike:
    torch.manual_seed(seed)
    return VGGLike(config=(8, "M", 16, "M", 16, 16), num_classes=num_classes, hidden=32, pooled=2).eval()


@pytest.fixture
def resnet():
    """ResNet-style (GAP + linear head), 10 classes; explain at 'layer2' (16 x 4 x 4 for 32 x 32 inputs)."""
    return make_resnet()


@pytest.fixture
def vgg():
    """VGG-style (flatten + FC stack head), 10 classes; explain at 'features.7' (16 x 8 x 8)."""
    return make_vgg()


@pytest.fixture
def regression():
    """ResNet-style network with one output: a score."""
    return make_resnet(num_classes=1, seed=3)


@pytest.fixture
def images():
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(7))


# A model left exactly as it was: what explaining must guarantee.

def snapshot(model):
    """Everything of a model that explaining must not change."""
    return {
        "state": {name: tensor.clone() for name, tensor in model.state_dict().items()},
        "requires_grad": [param.requires_grad for param in model.parameters()],
        "training": [module.training for module in model.modules()],
        "hooks": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules()),
        "grads": [param.grad for param in model.parameters()],
    }


@contextmanager
def left_untouched(model):
    """Asserts on leaving (also when the block raised an expected error) that ``model`` is as it was."""
    before = snapshot(model)
    try:
        yield
    finally:
        after = snapshot(model)
        assert after["requires_grad"] == before["requires_grad"]
        assert after["training"] == before["training"]
        assert after["hooks"] == before["hooks"]
        assert all(grad is None for grad in after["grads"])
        for name, tensor in before["state"].items():
            assert torch.equal(after["state"][name], tensor), name


@pytest.fixture
def untouched():
    """``with untouched(model): ...`` fails unless the model's parameters, buffers, modes and hooks are unchanged."""
    return left_untouched


QUALITY_MODELS = '''
"""Small quality models of a user's kind, for rather iqa's --model module:factory (written by tests/conftest.py)."""
import torch
from torch import nn


class LpipsLike(nn.Module):
    """A learned distance like LPIPS: model(dist, ref) -> (N, 1, 1, 1), lower is better; one shared trunk."""

    def __init__(self, width=4):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU())
        self.lin = nn.Conv2d(2 * width, 1, 1, bias=False)

    def forward(self, dist, ref):
        a, b = self.features(dist), self.features(ref)
        a = a / (a.norm(dim=1, keepdim=True) + 1e-6)
        b = b / (b.norm(dim=1, keepdim=True) + 1e-6)
        return nn.functional.conv2d((a - b) ** 2, self.lin.weight.abs()).mean(dim=(2, 3), keepdim=True)


class TinyNR(nn.Module):
    """A no-reference model: model(img) -> (N,) in (0, 1), higher is better."""

    def __init__(self, width=4):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(2 * width, 1)

    def forward(self, image):
        return torch.sigmoid(self.head(self.features(image).mean(dim=(2, 3))))[:, 0]


def lpips_like(width=4, seed=0):
    torch.manual_seed(seed)
    return LpipsLike(width)


def tiny_nr(width=4, seed=0):
    torch.manual_seed(seed)
    return TinyNR(width)
'''


@pytest.fixture
def quality_models(tmp_path_factory, monkeypatch):
    """A user's module ``toy_quality`` on sys.path (``toy_quality:lpips_like``, ``toy_quality:tiny_nr``) and
    their weights: a dict factory name -> state dict file, outside the test's tmp_path."""
    import importlib

    folder = tmp_path_factory.mktemp("toy_quality")
    (folder / "toy_quality.py").write_text(QUALITY_MODELS)
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module("toy_quality")
    weights = {}
    for name in ("lpips_like", "tiny_nr"):
        weights[f"toy_quality:{name}"] = folder / f"{name}.pt"
        torch.save(getattr(module, name)().state_dict(), weights[f"toy_quality:{name}"])
    return weights


TID2013_LINES = {  # (reference, type, level) -> MOS, as TID2013's mos_with_names.txt lists them
    (1, 1, 1): 5.5143, (1, 1, 3): 4.9444, (1, 1, 5): 3.8649, (1, 8, 1): 5.5526, (1, 8, 3): 4.4706, (1, 8, 5): 2.8108,
    (2, 1, 1): 5.7059, (2, 1, 3): 5.0526, (2, 1, 5): 3.7632, (2, 8, 1): 5.3243, (2, 8, 3): 4.0000, (2, 8, 5): 2.5000,
    (3, 1, 1): 5.9167, (3, 1, 3): 5.0811, (3, 1, 5): 4.1026, (3, 8, 1): 5.6389, (3, 8, 3): 4.4595, (3, 8, 5): 2.7027,
}
"""Score-table lines for a small TID2013 fixture (three references, white noise and blur at levels 1, 3, 5)."""


@pytest.fixture
def rated_tree():
    """``rated_tree(root, layout)``: a small data set in TID2013's or KADID-10k's published layout under ``root``,
    three references (64 x 80 crops of scikit-image photos) with white noise and blur at three levels each."""
    import csv

    from skimage import io

    from rather.iqa.distortions import distort
    from rather.iqa.synthetic import photo

    def build(root, layout: str = "tid2013"):
        references = {1: photo("rocket")[:64, :80], 2: photo("coffee")[40:104, 60:140],
                      3: photo("chelsea")[20:84, 100:180]}
        kinds = {1: "white_noise", 8: "gaussian_blur"}
        images = root / "images" if layout == "kadid10k" else root / "distorted_images"
        images.mkdir(parents=True)
        if layout == "tid2013":
            (root / "reference_images").mkdir()
        rows = []
        for (ref, kind, level), mos in TID2013_LINES.items():
            if layout == "tid2013":
                name, reference, score = f"i{ref:02d}_{kind:02d}_{level}.bmp", f"I{ref:02d}.BMP", f"{mos:.4f}"
            else:  # KADID-10k: DMOS 1..5, higher is better
                name, reference, score = f"I{ref:02d}_{kind:02d}_{level:02d}.png", f"I{ref:02d}.png", f"{mos / 2:.2f}"
            picture = distort(references[ref], kinds[kind], level, seed=ref * 10 + level)
            io.imsave(images / name, np.rint(picture * 255).astype(np.uint8), check_contrast=False)
            rows.append((name, reference, score))
        for ref, picture in references.items():
            name = f"I{ref:02d}.BMP" if layout == "tid2013" else f"I{ref:02d}.png"
            folder = root / "reference_images" if layout == "tid2013" else images
            io.imsave(folder / name, np.rint(picture * 255).astype(np.uint8), check_contrast=False)
        if layout == "tid2013":
            (root / "mos_with_names.txt").write_text("".join(f"{score} {name}\n" for name, _, score in rows))
        else:
            with open(root / "dmos.csv", "w", newline="") as file:
                writer = csv.writer(file)
                writer.writerow(["dist_img", "ref_img", "dmos", "var"])
                writer.writerows([name, reference, score, "0.1"] for name, reference, score in rows)
        return root

    return build
