"""`trainer_main.py --mode=lr_find`: a learning-rate range test (Smith 2017; fastai, Lightning).

Picking a peak rate by trial runs costs whole trainings; the range test
costs ~100 steps. A throwaway model (built by the task, warm-started from
`task.init_checkpoint` when set) trains with the run's optimizer and its
settings, but with the rate rising exponentially from MIN_LR to MAX_LR
(TFM's own `exponential` schedule, so nothing new is built). The loss is
smoothed with a bias-corrected EMA (beta 0.98), and the test stops as soon
as it exceeds 4x the best smoothed loss, i.e. once training diverges.

Suggested rate: the rate of the lowest smoothed loss, divided by 10
(fastai's original rule). Steepest descent of the smoothed loss (Lightning's
rule) is printed too, but not chosen: over a 100-step test the EMA averages
the last ~50 steps, i.e. rates up to 1000x lower, so the smoothed curve
lags and its steepest point lands late, on rates close to divergence (on
digits_mlp: 0.29, where training is unstable, against 0.087 for min / 10,
which trains well). The lag moves the minimum too, but the factor 10 more
than covers it.

Writes `lr_find.csv` (step, learning_rate, loss, smoothed_loss) and
`lr_find.png` into model_dir, and nothing else: no checkpoint, no summary,
no params.yaml. The run's own checkpoints are neither read nor touched.
"""
import copy
import csv
import dataclasses
import os

import numpy as np
import orbit
import tensorflow as tf

from official_like.core import base_task
from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.core import figures
from official_like.core import seeding
from official_like.core import train_utils
from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import lr_resolution

MIN_LR, MAX_LR, STEPS = 1e-6, 1.0, 100
BETA, DIVERGED = 0.98, 4.0
PNG, CSV = 'lr_find.png', 'lr_find.csv'


@dataclasses.dataclass
class RangeTest:
  """Per step: the rate used, the loss, the smoothed loss; then the verdict."""
  learning_rates: np.ndarray
  losses: np.ndarray
  smoothed: np.ndarray
  suggestion: float  # min_loss_rate / 10
  min_loss_rate: float
  steepest_rate: float  # Steepest descent of the smoothed loss (NaN: too few points).
  stopped_early: bool


def probe_config(config: OptimizationConfig, min_lr: float, max_lr: float,
                 steps: int) -> OptimizationConfig:
  """The run's optimizer with an exponential rise from min_lr to max_lr over `steps`."""
  return OptimizationConfig({
      'optimizer': config.optimizer.as_dict(),
      'learning_rate': {'type': 'exponential', 'exponential': {
          'initial_learning_rate': min_lr, 'decay_steps': max(steps - 1, 1),
          'decay_rate': max_lr / min_lr}}})


def smooth(losses, beta: float = BETA) -> np.ndarray:
  """Bias-corrected exponential moving average (as Adam corrects its moments)."""
  out, average = [], 0.0
  for i, loss in enumerate(losses):
    average = beta * average + (1 - beta) * loss
    out.append(average / (1 - beta ** (i + 1)))
  return np.asarray(out)


def steepest_descent(learning_rates, smoothed) -> float:
  """The rate where the smoothed loss falls fastest against log(lr), before its minimum.

  The first tenth of the points is skipped: the EMA is still starting up.
  NaN when fewer than three points are left.
  """
  lowest = int(np.nanargmin(smoothed))
  first = max(1, len(smoothed) // 10)
  if lowest - first < 3:
    return float('nan')
  slope = np.gradient(smoothed, np.log(learning_rates))
  return float(learning_rates[first + int(np.argmin(slope[first:lowest + 1]))])


def range_test(params: cfg.ExperimentConfig, task: base_task.Task,
               strategy: tf.distribute.Strategy, min_lr: float = MIN_LR,
               max_lr: float = MAX_LR, steps: int = STEPS) -> RangeTest:
  """Trains a fresh model for up to `steps` steps at exponentially rising rates."""
  probe = copy.deepcopy(params)
  object.__setattr__(probe, '_locked', False)
  probe.trainer.optimizer_config = probe_config(
      params.trainer.optimizer_config, min_lr, max_lr, steps)
  seed = getattr(params.runtime, 'seed', None)
  with strategy.scope(), seeding.seeded(seed):
    model = task.build_model()
    optimizer = train_utils.create_optimizer(task, probe)
    task.initialize(model)
    dataset = orbit.utils.make_distributed_dataset(
        strategy, task.build_inputs, seeding.with_data_seed(params.task.train_data, seed))

  @tf.function
  def train_step(iterator):
    def step_fn(inputs):
      return task.train_step(inputs, model=model, optimizer=optimizer, metrics=[])[task.loss]
    losses = strategy.run(step_fn, args=(next(iterator),))
    return strategy.reduce(tf.distribute.ReduceOp.MEAN, losses, axis=None)

  iterator = iter(dataset)
  rates, losses, stopped = [], [], False
  with strategy.scope():
    for step in range(steps):
      rates.append(float(base_trainer.learning_rate_at(optimizer, step)))
      losses.append(float(train_step(iterator)))
      smoothed = smooth(losses)
      if not np.isfinite(losses[-1]) or smoothed[-1] > DIVERGED * np.nanmin(smoothed):
        stopped = step < steps - 1
        break
  rates, losses = np.asarray(rates), np.asarray(losses)
  smoothed = smooth(losses)
  lowest = float(rates[int(np.nanargmin(smoothed))])
  return RangeTest(rates, losses, smoothed, lowest / 10, lowest,
                   steepest_descent(rates, smoothed), stopped)


def write_csv(result: RangeTest, path: str) -> None:
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['step', 'learning_rate', 'loss', 'smoothed_loss'])
    for i, row in enumerate(zip(result.learning_rates, result.losses, result.smoothed)):
      writer.writerow([i] + [f'{x:.9g}' for x in row])


def plot(params: cfg.ExperimentConfig, result: RangeTest, path: str) -> None:
  """Smoothed loss against the rate (log scale), the suggestion and the minimum marked."""
  rates, smoothed = result.learning_rates, result.smoothed
  with figures.figure(path) as ax:
    ax.plot(rates, result.losses, color='tab:blue', alpha=0.25, lw=1, label='loss per step')
    ax.plot(rates, smoothed, color='tab:blue', lw=2, label='smoothed loss (EMA 0.98)')
    ax.axvline(result.suggestion, color='tab:red', ls='--', lw=1.2,
               label=f'suggested {result.suggestion:.3g} (lowest / 10)')
    ax.axvline(result.min_loss_rate, color='gray', ls=':', lw=1.2,
               label=f'lowest smoothed loss at {result.min_loss_rate:.3g}')
    if np.isfinite(result.steepest_rate):
      ax.axvline(result.steepest_rate, color='tab:green', ls='-.', lw=1,
                 label=f'steepest descent at {result.steepest_rate:.3g}')
    finite = smoothed[np.isfinite(smoothed)]
    start = float(finite[0])
    low = min(float(finite.min()), float(np.nanmin(np.where(
        np.isfinite(result.losses), result.losses, np.inf))))
    # From the lowest loss to a little above the start: a diverged tail is cut off.
    ax.set_ylim(low - 0.05 * abs(start - low), max(start, low) + 0.3 * abs(start - low) + 1e-9)
    ax.set_xscale('log')
    ax.set_xlabel('learning rate (log scale)')
    ax.set_ylabel('training loss')
    ax.set_title(f'Learning-rate range test: {params.trainer.optimizer_config.optimizer.type}, '
                 f'batch {figures.batch_of(params)}, {len(rates)} steps')


def _rate_key(config: OptimizationConfig) -> str:
  """Where the suggestion goes in the config: the schedule's first absolute rate."""
  kind = config.learning_rate.type
  fields = lr_resolution.rate_fields(config.learning_rate.get())
  return f'trainer.optimizer_config.learning_rate.{kind}.{fields[0] if fields else "?"}'


def run(params: cfg.ExperimentConfig, task: base_task.Task,
        strategy: tf.distribute.Strategy, model_dir: str, **kwargs) -> RangeTest:
  """Runs the test, prints the suggestion, writes the PNG and CSV into model_dir."""
  result = range_test(params, task, strategy, **kwargs)
  os.makedirs(model_dir, exist_ok=True)
  png, csv_path = os.path.join(model_dir, PNG), os.path.join(model_dir, CSV)
  write_csv(result, csv_path)
  plot(params, result, png)
  n = len(result.learning_rates)
  print(f'Learning-rate range test: {n} steps from {result.learning_rates[0]:.3g} to '
        f'{result.learning_rates[-1]:.3g}'
        + (' (stopped: the loss diverged)' if result.stopped_early else ''))
  print(f'Suggested learning rate: {result.suggestion:.3g} (the rate of the lowest '
        f'smoothed loss, {result.min_loss_rate:.3g}, / 10); steepest descent at '
        f'{result.steepest_rate:.3g}')
  if not result.stopped_early and result.min_loss_rate == result.learning_rates[-1]:
    print('The loss was still falling at the highest rate tried: the minimum, and a '
          'better suggestion, may lie higher.')
  print(f'Use it as the peak rate, e.g. --params_override '
        f'{_rate_key(params.trainer.optimizer_config)}={result.suggestion:.3g}')
  print(f'Wrote {png} and {csv_path}')
  return result
