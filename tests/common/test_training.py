"""Training: the one-stream case is the loop every checkpoint was trained with; several streams share one schedule."""
import numpy as np
import torch
import torch.nn.functional as F

from rather.common.networks import SmallCNN
from rather.common.training import train_classifier, train_streams


def tiny_model() -> SmallCNN:
    torch.manual_seed(0)
    return SmallCNN(num_classes=3, in_channels=1, width=4, pools=2)


def stream(count: int, side: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, 1, side, side)).astype(np.float32), rng.integers(0, 3, count)


def loop_before_streams(model, images, labels, *, epochs, batch_size, seed, class_weights):
    """The training loop as it stood before ``train_streams`` (commit 2f55222), the reference of the first test."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    inputs, targets = torch.as_tensor(images), torch.as_tensor(labels, dtype=torch.long)
    weight = torch.as_tensor(class_weights, dtype=torch.float32)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3,
                                                   total_steps=epochs * -(-len(inputs) // batch_size))
    losses = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for start in range(0, len(inputs), batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(inputs[batch]), targets[batch], weight=weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(inputs))
    return tuple(losses)


def parameters(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_one_stream_is_bit_identical_to_the_loop_before_streams():
    images, labels = stream(150, 20, seed=1)                       # 150 = 4 full batches of 32 and one of 22
    weights = np.array([1.0, 2.0, 0.5])
    reference = tiny_model()
    expected = loop_before_streams(reference, images, labels, epochs=3, batch_size=32, seed=5, class_weights=weights)
    model = tiny_model()
    log = train_classifier(model, images, labels, epochs=3, batch_size=32, seed=5, class_weights=weights)
    assert log.loss == expected
    assert torch.equal(parameters(model), parameters(reference))
    assert len(log.learning_rates) == 3 * 5


class ShapeLog(torch.nn.Module):
    """A tiny network that notes the shape of every batch it is given."""

    def __init__(self):
        super().__init__()
        self.net, self.shapes = tiny_model(), []

    def forward(self, inputs):
        self.shapes.append(tuple(inputs.shape))
        return self.net(inputs)


def test_two_streams_share_one_schedule_and_every_step_takes_a_batch_of_each():
    big, small = stream(100, 24, seed=2), stream(150, 12, seed=3)  # 100 / 32: 4 steps an epoch; 150 / 4: 38 a batch
    model = ShapeLog()
    log = train_streams(model, [big, small], epochs=5, batch_size=32, seed=0)
    sides = [shape[-1] for shape in model.shapes]
    assert sides == [24, 12] * 20                                   # 5 epochs x 4 steps, both sizes every step
    per_epoch = [shape[0] for shape in model.shapes[:8]]
    assert sum(per_epoch[0::2]) == 100 and sum(per_epoch[1::2]) == 150  # one pass over each stream an epoch
    rates = np.array(log.learning_rates)
    assert len(rates) == 20
    peak = int(rates.argmax())
    assert np.isclose(rates[peak], 3e-3) and np.sum(np.isclose(rates, rates[peak])) == 1  # the peak, once
    assert np.all(np.diff(rates[:peak + 1]) > 0) and np.all(np.diff(rates[peak:]) < 0)  # one warm-up, one decay
    assert rates[-1] < 0.05 * rates[peak]
    assert len(log.loss) == len(log.accuracy) == 5 and np.all(np.isfinite(log.loss))


def test_a_stream_with_fewer_inputs_than_steps_sits_out_the_last_steps():
    model = ShapeLog()
    log = train_streams(model, [stream(40, 16, seed=4), stream(3, 12, seed=5)], epochs=1, batch_size=8, seed=0)
    assert [shape[-1] for shape in model.shapes] == [16, 12] * 3 + [16, 16]  # 5 steps; the 3 small ones first
    assert np.isfinite(log.loss[0])
