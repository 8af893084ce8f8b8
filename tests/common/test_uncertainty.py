"""VOICE maps and GradTrust scores from one all-Q pass, each against a straightforward loop."""
import statistics

import pytest
import torch

from rather.common import BadInput, BadQuestion, Explainer
from rather.common.figures import plot_uncertainty
from rather.common.uncertainty import explain_uncertainty, voice_maps

CLASSES = 6


def gap_linear() -> torch.nn.Module:
    """A head GAP -> linear after layer '1' (the analytic path)."""
    torch.manual_seed(5)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, CLASSES)).eval()


def deeper_head() -> torch.nn.Module:
    """A head with a convolution after layer '1' (the autograd path)."""
    torch.manual_seed(6)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 5, 3), torch.nn.Tanh(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(5, CLASSES)).eval()


def counterfactual_gradient(model: torch.nn.Module, x: torch.Tensor, n: int, q: int) -> list[float]:
    """GAP over positions of dCE(y, q)/dA at layer '1' for input n, by plain autograd."""
    kept = {}
    handle = model[1].register_forward_hook(lambda module, inputs, output: kept.setdefault("a", output))
    logits = model(x[n:n + 1])
    handle.remove()
    loss = -torch.log_softmax(logits, dim=1)[0, q]
    (gradient,) = torch.autograd.grad(loss, kept["a"])
    return gradient[0].mean(dim=(1, 2)).tolist()


@pytest.mark.parametrize("make, path", [(gap_linear, "analytic"), (deeper_head, "autograd")])
def test_voice_is_the_variance_of_the_normalised_contrast_maps_above_the_threshold(make, path):
    model = make()
    x = torch.rand(3, 3, 14, 14)
    explainer = Explainer(model, layer="1")
    uncertain = explain_uncertainty(explainer, x, threshold=0.12, k=3)
    result = uncertain.result
    assert result.gradient_path == path and result.maps.shape == (3, CLASSES, 14, 14)
    assert int(uncertain.contrasts.sum(dim=1).max()) >= 2  # a real variance is checked
    probs = torch.softmax(model(x), dim=1).detach()
    for n in range(3):
        p = int(probs[n].argmax())
        chosen = [q for q in range(CLASSES) if q != p and float(probs[n, q]) > 0.12]
        assert uncertain.contrasts[n].nonzero().flatten().tolist() == chosen
        expected = torch.zeros(14, 14, dtype=torch.float64)
        if len(chosen) >= 2:
            for i in range(14):
                for j in range(14):
                    expected[i, j] = statistics.pvariance([float(result.maps[n, q, i, j]) for q in chosen])
        torch.testing.assert_close(uncertain.voice[n].double(), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make", [gap_linear, deeper_head])
def test_gradtrust_is_the_largest_over_the_mean_energy_of_the_top_k_counterfactual_gradients(make):
    model = make()
    x = torch.rand(2, 3, 14, 14)
    uncertain = explain_uncertainty(Explainer(model, layer="1"), x, k=4)
    probs = torch.softmax(model(x), dim=1).detach()
    for n in range(2):
        top = sorted(range(CLASSES), key=lambda c: -float(probs[n, c]))[:4]
        assert uncertain.top[n].tolist() == top
        energies = []
        for q in top:
            weights = counterfactual_gradient(model, x, n, q)
            torch.testing.assert_close(uncertain.gradients[n, q], torch.tensor(weights), rtol=1e-4, atol=1e-7)
            energies.append(statistics.pvariance([w * w for w in weights]))
        assert float(uncertain.trust[n]) == pytest.approx(max(energies) / statistics.mean(energies), rel=1e-4)
        assert 1 <= float(uncertain.trust[n]) <= 4


def test_the_explainer_is_left_as_it_was_and_records_are_plain():
    explainer = Explainer(gap_linear(), layer="1")
    method = explainer.method
    uncertain = explain_uncertainty(explainer, torch.rand(2, 3, 14, 14), ids=["a", "b"],
                                    class_names=[f"c{i}" for i in range(CLASSES)])
    assert explainer.method is method and uncertain.k == 5 and uncertain.threshold == 0.01
    record = uncertain.records(1)
    assert record["gradtrust_classes"] == [f"c{int(q)}" for q in uncertain.top[1]]
    assert record["voice_contrasts"] == [f"c{int(q)}" for q in uncertain.contrasts[1].nonzero().flatten()]
    assert record["voice_mean"] == pytest.approx(float(uncertain.voice[1].double().mean()))
    assert all(type(record[key]) is float for key in ("voice_mean", "voice_max", "voice_snr", "gradtrust"))


def test_fewer_than_two_contrasts_give_a_zero_map_and_a_note():
    uncertain = explain_uncertainty(Explainer(gap_linear(), layer="1"), torch.rand(1, 3, 14, 14), threshold=0.99)
    assert int(uncertain.contrasts.sum()) == 0 and not uncertain.voice.any() and float(uncertain.snr[0]) == 0
    assert uncertain.notes == ("input 000000: 0 class(es) other than P above probability 0.99: the VOICE map needs "
                               "two or more contrasts and is zero; lower the threshold to see one",)


def test_voice_of_one_contrast_is_zero_and_maps_agreeing_give_zero():
    maps = torch.rand(2, 4, 5, 5)
    maps[1, 1] = maps[1, 2] = maps[1, 3]
    chosen = torch.tensor([[False, True, False, False], [False, True, True, True]])
    assert not voice_maps(maps, chosen).any()


def test_the_figure_shows_each_input_and_its_voice_map(tmp_path):
    x = torch.rand(2, 3, 14, 14)
    uncertain = explain_uncertainty(Explainer(gap_linear(), layer="1"), x)
    figure = plot_uncertainty(uncertain, x, tmp_path / "u.png")
    assert (tmp_path / "u.png").stat().st_size > 0 and len(figure.axes) == 2 * 2 + 2
    assert "GradTrust" in figure.axes[1].get_title()


@pytest.mark.parametrize("options, says", [
    ({"threshold": 0}, "threshold must be a probability strictly between 0 and 1"),
    ({"threshold": 1}, "got 1"),
    ({"threshold": -0.2}, "got -0.2"),
    ({"threshold": float("nan")}, "got nan"),
    ({"threshold": True}, "got True"),
    ({"threshold": "0.1"}, "got '0.1'"),
    ({"k": 1}, "k must be a whole number from 2 to the number of classes"),
    ({"k": 0}, "got 0"),
    ({"k": 2.5}, "got 2.5"),
    ({"k": True}, "got True"),
    ({"k": CLASSES + 1}, f"from 2 to the model's {CLASSES} classes"),
])
def test_bad_arguments_are_refused_in_one_line(options, says):
    with pytest.raises(BadInput) as refused:
        explain_uncertainty(Explainer(gap_linear(), layer="1"), torch.rand(1, 3, 14, 14), **options)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_a_regression_has_no_contrasts_to_vary():
    torch.manual_seed(0)
    scorer = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                 torch.nn.Flatten(), torch.nn.Linear(4, 1)).eval()
    with pytest.raises(BadQuestion, match="cannot be asked of a regression output"):
        explain_uncertainty(Explainer(scorer, layer="1"), torch.rand(1, 3, 10, 10))
