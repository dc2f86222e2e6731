"""Binary-relation predictor search (BRP-NAS style, Dudziak et al. 2020), CPU-cheap.

A small GCN embeds each cell graph: each layer updates a node from its own state and
the mean of its neighbours' with separate weights (as in GraphSAGE; one shared weight
blurs which node is which and ranked a synthetic additive landscape with Kendall tau
0.58 instead of 0.86), then the node states are mean-pooled. A pairwise head gives the
logit that cell a beats cell b; it is made antisymmetric, logit(a, b) = h(a, b) -
h(b, a), so both orders of a pair agree. Round by round the predictor is fitted
(continuing from its previous weights) on pairs of trained cells, ranks the candidates
by their mean logit of beating a random reference set (log-odds do not saturate the
way win probabilities do among the best candidates), and the top k are trained. A
warm-up first fits it on pairs of N random cells ordered by the proxy."""

import numpy as np
import torch
from torch import nn

from .benchmark import Benchmark
from .encodings import GraphTensors
from .history import TrainingHistory
from .moves import Randomness
from .proxy import ProxyRanking
from .variants import BinaryPredictor

_CHUNK = 2048  # candidates scored at once, bounding the [candidates, reference, hidden] tensor


class PairwiseGCN(nn.Module):
    def __init__(self, features: int, hidden: int, layers: int):
        super().__init__()
        widths = [features] + [hidden] * (layers - 1)
        self.convs = nn.ModuleList(nn.Linear(2 * width, hidden) for width in widths)
        self.pair = nn.Linear(2 * hidden, hidden)
        self.out = nn.Linear(hidden, 1)

    def embed(self, graphs: GraphTensors, positions: np.ndarray) -> torch.Tensor:
        index = torch.from_numpy(np.asarray(positions, dtype=np.int64))
        neighbour_mean, state, mask = graphs.neighbour_mean[index], graphs.features[index], graphs.mask[index]
        for conv in self.convs:
            state = torch.relu(conv(torch.cat([state, neighbour_mean @ state], dim=-1)))
        return (state * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

    def halves(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The pair layer's input split by side: pair([a, b]) = first(a) + second(b) + bias."""
        hidden = embeddings.shape[-1]
        return embeddings @ self.pair.weight[:, :hidden].T, embeddings @ self.pair.weight[:, hidden:].T

    def beats_logit(self, a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Logit that a beats b, from their `halves` (broadcasting)."""
        a_first, a_second = a
        b_first, b_second = b
        forward = self.out(torch.relu(a_first + b_second + self.pair.bias))
        backward = self.out(torch.relu(b_first + a_second + self.pair.bias))
        return (forward - backward).squeeze(-1)


def binary_predictor(config: BinaryPredictor, benchmark: Benchmark, proxy: ProxyRanking | None,
                     history: TrainingHistory, rng: Randomness) -> None:
    graphs = benchmark.graphs
    model = PairwiseGCN(graphs.features.shape[-1], config.hidden, config.layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    if config.warmup:
        sample = rng.np.choice(benchmark.size, config.warmup, replace=False)
        _fit(model, optimizer, graphs, sample, proxy.order_key[sample], config.warmup_steps, config.batch_pairs, rng)
    else:
        for position in rng.np.choice(benchmark.size, min(config.initial, history.budget), replace=False):
            history.train(position)
    while history.remaining > 0:
        trained = np.array(history.order, dtype=np.int64)
        _fit(model, optimizer, graphs, trained, benchmark.val[trained], config.steps, config.batch_pairs, rng)
        # A random order first, so the stable sort breaks ties at random.
        candidates = rng.np.permutation(history.untrained())
        if config.pool is not None:
            candidates = candidates[: config.pool]
        reference = rng.np.choice(benchmark.size, min(config.reference, benchmark.size), replace=False)
        strength = _predicted_strength(model, graphs, candidates, reference)
        for position in candidates[np.argsort(-strength, kind="stable")][: min(config.top_k, history.remaining)]:
            history.train(position)


def _fit(model: PairwiseGCN, optimizer: torch.optim.Optimizer, graphs: GraphTensors, positions: np.ndarray,
         targets: np.ndarray, steps: int, batch: int, rng: Randomness) -> None:
    """BCE on random pairs of distinct cells, labelled 1 / 0 / 0.5 as the first's target is higher / lower / equal."""
    count = len(positions)
    if count < 2:
        return  # no pair to learn from yet
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        first = rng.np.integers(count, size=batch)
        second = (first + rng.np.integers(1, count, size=batch)) % count
        labels = (targets[first] > targets[second]) + 0.5 * (targets[first] == targets[second])
        # Embed each cell of the batch once, however many pairs it is in.
        cells, slots = np.unique(np.concatenate([first, second]), return_inverse=True)
        own_first, own_second = model.halves(model.embed(graphs, positions[cells]))
        a, b = torch.from_numpy(slots[:batch]), torch.from_numpy(slots[batch:])
        logits = model.beats_logit((own_first[a], own_second[a]), (own_first[b], own_second[b]))
        loss = loss_fn(logits, torch.from_numpy(labels.astype(np.float32)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _predicted_strength(model: PairwiseGCN, graphs: GraphTensors, candidates: np.ndarray,
                        reference: np.ndarray) -> np.ndarray:
    """Each candidate's mean logit of beating the reference cells."""
    with torch.no_grad():
        first, second = model.halves(model.embed(graphs, reference))
        opponents = (first[None], second[None])
        strength = []
        for start in range(0, len(candidates), _CHUNK):
            own_first, own_second = model.halves(model.embed(graphs, candidates[start : start + _CHUNK]))
            strength.append(model.beats_logit((own_first[:, None], own_second[:, None]), opponents).mean(1))
    return torch.cat(strength).numpy()
