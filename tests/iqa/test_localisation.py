"""Localisation: energy of "Why s, rather than the pristine score?" inside locally damaged regions."""
import pytest
import torch

from rather.common.metrics import energy_share
from rather.iqa.contrasts import explain_image, explain_patchwise
from rather.iqa.distortions import distort_locally
from rather.iqa.localisation import localisation
from rather.iqa.options import ModelChoice
from rather.iqa.quality_model import pairs
from rather.iqa.scorers import load_quality
from rather.iqa.synthetic import photo


def test_localisation_report_equals_a_direct_computation():
    quality = load_quality(ModelChoice())
    model = quality.network
    reference = photo("rocket")[40:104, 100:164].transpose(2, 0, 1).copy()
    report = localisation(quality, reference[None], kinds=("white_noise", "gaussian_blur"), stride=16, seed=2)
    assert list(report) == ["white_noise", "gaussian_blur"]
    damaged, mask = distort_locally(reference.transpose(1, 2, 0), "gaussian_blur", 4, seed=2 * 7919 + 0 + 1)
    with torch.no_grad():
        pristine = float(model(pairs(reference[None], reference[None]))[0])
    result, _, _ = explain_patchwise(model, pairs(damaged.transpose(2, 0, 1)[None], reference[None]), [pristine],
                                  stride=16)
    expected = float(energy_share(result.maps[0, 1], torch.from_numpy(mask)))
    assert report["gaussian_blur"]["energy_share"] == pytest.approx(expected, nan_ok=True)
    whole = explain_image(model, pairs(damaged.transpose(2, 0, 1)[None], reference[None]), [pristine])
    expected = float(energy_share(whole.maps[0, 1], torch.from_numpy(mask)))
    assert report["gaussian_blur"]["energy_share_image"] == pytest.approx(expected, nan_ok=True)
    assert report["gaussian_blur"]["area_share"] == pytest.approx(mask.mean())
    assert report["white_noise"]["images"] == 1 and 0 <= report["white_noise"]["energy_share"] <= 1
    assert report["white_noise"]["std"] == 0  # one image
