"""REINFORCE with one categorical distribution per decision (edge op, NB101 edge bit or vertex op).

The policy is sampled restricted to the cells a search may still train (known to the
benchmark, untrained), i.e. from the policy's distribution conditioned on that set.
On a table covering the space, every decision vector is a known cell, so a draw is made
one decision at a time and redrawn while it hits a disallowed cell (rejection sampling:
cheap, and exactly that conditional distribution); on a partial table, or when
redraws keep failing, it is drawn directly from every allowed cell's probability.
The update is plain REINFORCE on the unconditioned log-probability with a
moving-average baseline. The reward is the validation accuracy as a fraction, so SGD
learning rates mean the same as for the warm-up's rank-normalised proxy reward in [0, 1].
"""

import numpy as np
import torch

from .benchmark import Benchmark
from .history import TrainingHistory
from .moves import Randomness, best_by_proxy
from .proxy import ProxyRanking
from .variants import Reinforce

_REDRAWS = 20  # one-decision-at-a-time draws before drawing among the allowed cells directly


class Policy:
    def __init__(self, codes: np.ndarray, choices: tuple[int, ...], config: Reinforce, covers_space: bool):
        width = max(choices)
        self.codes = codes
        self.choices = choices
        self._flat_codes = codes + np.arange(len(choices)) * width  # indices into the flattened logits
        self._position_of_code = None
        if covers_space:
            self._position_of_code = np.empty(int(np.prod(choices)), dtype=np.int64)
            self._position_of_code[np.ravel_multi_index(codes.T, choices)] = np.arange(len(codes))
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

    def sample(self, allowed: np.ndarray, count: int, rng: Randomness) -> np.ndarray:
        """`count` positions drawn (with replacement) from the policy restricted to `allowed` (a mask)."""
        with torch.no_grad():
            log_probs = self._log_softmax().numpy().astype(np.float64)
        return np.array([self._draw(log_probs, allowed, rng) for _ in range(count)], dtype=np.int64)

    def _draw(self, log_probs: np.ndarray, allowed: np.ndarray, rng: Randomness) -> int:
        if self._position_of_code is not None:
            cumulative = np.cumsum(np.exp(log_probs), axis=1)  # missing choices add 0 at the end
            for _ in range(_REDRAWS):
                uniform = rng.np.random(len(cumulative))[:, None] * cumulative[:, -1:]
                code = (cumulative < uniform).sum(axis=1)
                position = self._position_of_code[np.ravel_multi_index(code, self.choices)]
                if allowed[position]:
                    return int(position)
        candidates = np.flatnonzero(allowed)
        table = np.where(np.isfinite(log_probs), log_probs, 0.0).ravel()
        scores = table[self._flat_codes[candidates]].sum(axis=1)
        probs = np.exp(scores - scores.max())
        return int(rng.np.choice(candidates, p=probs / probs.sum()))

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
    policy = Policy(*benchmark.decisions, config, benchmark.covers_space)
    if config.warmup:
        # Proxy scores are free, so warm-up samples may repeat and cover any known cell.
        proxy_reward = proxy.rank_normalised()
        everything = np.ones(benchmark.size, dtype=bool)
        for _ in range(config.warmup):
            position = policy.sample(everything, 1, rng)[0]
            policy.reinforce(position, proxy_reward[position])
        policy.baseline = None  # accuracy rewards have another scale
    while history.remaining > 0:
        samples = policy.sample(~history.trained, max(config.move, 1), rng)
        position = best_by_proxy(np.unique(samples), proxy, rng) if config.move else int(samples[0])
        policy.reinforce(position, history.train(position) / 100)
