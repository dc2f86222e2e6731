"""REINFORCE with one categorical distribution per decision (edge op, NB101 edge bit or vertex op).

The policy is sampled restricted to the cells a search may still train (known to the
benchmark, untrained): exactly the policy's distribution conditioned on that set,
computed from every candidate's log-probability. The update is plain REINFORCE on the
unconditioned log-probability, with a moving-average baseline; the reward is the
validation accuracy as a fraction (so SGD learning rates mean the same as for rewards
in [0, 1], which is also the range of the warm-up's rank-normalised proxy reward).
"""

import numpy as np
import torch

from .benchmark import Benchmark
from .history import TrainingHistory
from .moves import Randomness, best_by_proxy
from .proxy import ProxyRanking
from .variants import Reinforce


class Policy:
    def __init__(self, codes: np.ndarray, choices: tuple[int, ...], config: Reinforce):
        width = max(choices)
        self.codes = codes
        # One-hot rows over the flattened logits: a cell's log-probability is a dot product.
        self.one_hot = np.zeros((len(codes), len(choices) * width))
        self.one_hot[np.arange(len(codes))[:, None], np.arange(len(choices)) * width + codes] = 1
        self.logits = torch.zeros(len(choices), width, requires_grad=True)
        # Decisions with fewer choices than the widest one get -inf logits on the missing ones.
        self.invalid = torch.arange(width)[None, :] >= torch.tensor(choices)[:, None]
        optimizer = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
        self.optimizer = optimizer([self.logits], lr=config.learning_rate)
        self.baseline_decay = config.baseline_decay
        self.baseline: float | None = None
        self._rows = torch.arange(len(choices))

    def _log_softmax(self) -> torch.Tensor:
        return torch.log_softmax(self.logits.masked_fill(self.invalid, -torch.inf), dim=1)

    def sample(self, candidates: np.ndarray, count: int, rng: Randomness) -> np.ndarray:
        """`count` candidates drawn (with replacement) from the policy restricted to `candidates`."""
        with torch.no_grad():
            table = self._log_softmax().numpy().astype(np.float64).ravel()
        # 0 * -inf would be NaN: unused choices never appear in a one-hot row, so zero them.
        log_probs = (self.one_hot @ np.where(np.isfinite(table), table, 0.0))[candidates]
        probs = np.exp(log_probs - log_probs.max())
        return rng.np.choice(candidates, size=count, p=probs / probs.sum())

    def reinforce(self, position: int, reward: float) -> None:
        # The advantage is measured against the baseline before it sees this reward.
        advantage = 0.0 if self.baseline is None else reward - self.baseline
        self.baseline = reward if self.baseline is None else (
            self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward)
        log_prob = self._log_softmax()[self._rows, torch.from_numpy(self.codes[position])].sum()
        self.optimizer.zero_grad()
        (-advantage * log_prob).backward()
        self.optimizer.step()


def reinforce(config: Reinforce, benchmark: Benchmark, proxy: ProxyRanking | None,
              history: TrainingHistory, rng: Randomness) -> None:
    policy = Policy(*benchmark.decisions, config)
    if config.warmup:
        # Proxy scores are free, so warm-up samples may repeat and cover any known cell.
        proxy_reward = proxy.rank_normalised()
        everything = np.arange(benchmark.size)
        for _ in range(config.warmup):
            position = policy.sample(everything, 1, rng)[0]
            policy.reinforce(position, proxy_reward[position])
        policy.baseline = None  # accuracy rewards have another scale
    while history.remaining > 0:
        samples = policy.sample(history.untrained(), max(config.move, 1), rng)
        position = best_by_proxy(np.unique(samples), proxy, rng) if config.move else int(samples[0])
        reward = history.train(position) / 100
        policy.reinforce(position, reward)
