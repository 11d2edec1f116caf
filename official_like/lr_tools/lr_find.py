"""`trainer_main.py --mode=lr_find`: a learning-rate range test (Smith 2017; fastai, Lightning).

Picking a peak rate by trial runs costs whole trainings; the range test
costs a few hundred steps. A throwaway model (built by the task,
warm-started from `task.init_checkpoint` when set) trains with the run's
optimizer and its settings, but with the rate rising exponentially from
MIN_LR to MAX_LR (TFM's own `exponential` schedule, so nothing new is
built). The loss is smoothed with a bias-corrected EMA whose window is a
twentieth of the test; the test stops once that (causal) average exceeds
4x its lowest value, i.e. once training diverges.

The suggestion reads a smoothed curve without lag: the same EMA run forward
and backward. A forward-only EMA of 0.98 over 100 steps averages the last
~50 steps, i.e. rates up to 1000x lower, so its minimum and its steepest
point land late, near divergence (on digits_mlp the old rule suggested the
last point; on diabetes_regression 0.057, where the loss already spikes).
On the lag-free curve, the rule is fastai's and Lightning's two landmarks,
combined: the steepest descent (slope against log(rate), measured over a
window of a thirtieth of the test so one noisy step cannot make it) and the
bottom (the lowest smoothed loss); the suggestion is their geometric mean,
halfway between "falls fastest" and "stops falling". With the default 300
steps and seeds 1 and 2 it gives 0.05-0.07 on digits_mlp (its experiment
uses a peak of 0.1), 0.066-0.074 on digits_cnn (0.05) and 0.004-0.006 on
the Adam task diabetes_regression (0.01; 0.003 trains better than 0.06).
How sure it is (`confidence`) is said from the shape: how far the loss
fell, whether it rose again after the bottom, and how far apart the two
landmarks are.

Writes `lr_find.csv` (step, learning_rate, loss, smoothed_loss) and
`lr_find.png` into model_dir, and nothing else: no checkpoint, no summary,
no params.yaml. The run's own checkpoints are neither read nor touched.
"""
import csv
import dataclasses
import os

import numpy as np
import orbit
import tensorflow as tf

from official_like.core import base_task
from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.core import train_utils
from official_like.lr_tools import figures
from official_like.modeling.optimization import lr_resolution
from official_like.modeling.optimization import OptimizationConfig
from official_like.run import seeding

MIN_LR, MAX_LR, STEPS = 1e-6, 1.0, 300
DIVERGED = 4.0
PNG, CSV = 'lr_find.png', 'lr_find.csv'


@dataclasses.dataclass
class RangeTest:
  """Per step: the rate used, the loss, the smoothed loss; then the verdict."""
  learning_rates: np.ndarray
  losses: np.ndarray
  smoothed: np.ndarray  # Lag-free: forward and backward EMA.
  suggestion: float  # Geometric mean of steepest_rate and min_loss_rate.
  min_loss_rate: float  # The bottom of the smoothed loss.
  steepest_rate: float  # Steepest descent of the smoothed loss before the bottom.
  stopped_early: bool
  confidence: str  # 'high', 'medium' or 'low'
  reason: str  # Why, in a few words.


def probe_config(config: OptimizationConfig, min_lr: float, max_lr: float,
                 steps: int) -> OptimizationConfig:
  """The run's optimizer with an exponential rise from min_lr to max_lr over `steps`."""
  return OptimizationConfig({
      'optimizer': config.optimizer.as_dict(),
      'learning_rate': {'type': 'exponential', 'exponential': {
          'initial_learning_rate': min_lr, 'decay_steps': max(steps - 1, 1),
          'decay_rate': max_lr / min_lr}}})


def beta_for(steps: int) -> float:
  """The EMA factor whose window is a twentieth of the test (at least 5 steps)."""
  return 1 - 1 / max(5.0, steps / 20)


def smooth(losses, beta: float) -> np.ndarray:
  """Bias-corrected exponential moving average (as Adam corrects its moments)."""
  out, average = [], 0.0
  for i, loss in enumerate(losses):
    average = beta * average + (1 - beta) * loss
    out.append(average / (1 - beta ** (i + 1)))
  return np.asarray(out)


def smooth_without_lag(losses, beta: float) -> np.ndarray:
  """The mean of the EMA run forward and run backward: no shift towards lower rates."""
  losses = np.asarray(losses, np.float64)
  return 0.5 * (smooth(losses, beta) + smooth(losses[::-1], beta)[::-1])


def steepest_descent(learning_rates, smoothed, bottom: int) -> float:
  """The rate where the smoothed loss falls fastest against log(lr), before `bottom`.

  The slope is taken over +-n/30 points. The first tenth of the points is
  skipped (the model's first steps); NaN when no point is left.
  """
  n, log_rates = len(smoothed), np.log(learning_rates)
  k = max(2, n // 30)
  first = max(k, n // 10)
  last = min(bottom, n - 1 - k)
  if last < first:
    return float('nan')
  i = np.arange(first, last + 1)
  slope = (smoothed[i + k] - smoothed[i - k]) / (log_rates[i + k] - log_rates[i - k])
  return float(learning_rates[first + int(np.argmin(slope))])


def judge(learning_rates, smoothed, bottom: int, steepest: float, stopped_early: bool):
  """(confidence, reason) from the curve's shape."""
  n = len(smoothed)
  start = float(np.median(smoothed[:max(1, n // 10)]))
  fell = (start - smoothed[bottom]) / abs(start) if start else 0.0
  rose = stopped_early or smoothed[-1] > smoothed[bottom] + 0.2 * (start - smoothed[bottom])
  spread = learning_rates[bottom] / steepest if np.isfinite(steepest) else np.inf
  reason = (f'the smoothed loss fell {fell:.0%}'
            + (' and rose again after its lowest point' if rose else
               ' and was still low at the highest rate tried') +
            (f'; lowest point {spread:.1f}x the steepest descent' if np.isfinite(spread) else
             '; no descent before the lowest point'))
  if fell >= 0.3 and rose and 1.5 <= spread <= 30:
    return 'high', reason
  if fell >= 0.1 and rose and np.isfinite(spread):
    return 'medium', reason
  return 'low', reason


def range_test(params: cfg.ExperimentConfig, task: base_task.Task,
               strategy: tf.distribute.Strategy, min_lr: float = MIN_LR,
               max_lr: float = MAX_LR, steps: int = STEPS) -> RangeTest:
  """Trains a fresh model for up to `steps` steps at exponentially rising rates."""
  probe = params.replace(trainer=params.trainer.replace(optimizer_config=probe_config(
      params.trainer.optimizer_config, min_lr, max_lr, steps)))
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
  beta, average, lowest = beta_for(steps), 0.0, np.inf
  with strategy.scope():
    for step in range(steps):
      rates.append(float(base_trainer.learning_rate_at(optimizer, step)))
      losses.append(float(train_step(iterator)))
      average = beta * average + (1 - beta) * losses[-1]
      current = average / (1 - beta ** (step + 1))
      lowest = min(lowest, current)
      if not np.isfinite(losses[-1]) or current > DIVERGED * lowest:
        stopped = step < steps - 1
        break
  return verdict(np.asarray(rates), np.asarray(losses), stopped, beta)


def verdict(rates: np.ndarray, losses: np.ndarray, stopped: bool, beta: float) -> RangeTest:
  """The suggestion and how sure it is, from the rates and losses of a test."""
  finite = np.isfinite(losses)
  if not finite.all():  # The diverged step itself says nothing about the curve.
    rates, losses = rates[finite], losses[finite]
  smoothed = smooth_without_lag(losses, beta)
  first = len(smoothed) // 10
  bottom = first + int(np.argmin(smoothed[first:]))
  steepest = steepest_descent(rates, smoothed, bottom)
  lowest = float(rates[bottom])
  suggestion = float(np.sqrt(steepest * lowest)) if np.isfinite(steepest) else lowest / 10
  confidence, reason = judge(rates, smoothed, bottom, steepest, stopped)
  return RangeTest(rates, losses, smoothed, suggestion, lowest, steepest, stopped,
                   confidence, reason)


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
    ax.plot(rates, smoothed, color='tab:blue', lw=2, label='smoothed loss')
    ax.axvline(result.suggestion, color='tab:red', ls='--', lw=1.2,
               label=f'suggested {result.suggestion:.3g} ({result.confidence} confidence)')
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
  print(f'Suggested learning rate: {result.suggestion:.3g} (between the steepest '
        f'descent at {result.steepest_rate:.3g} and the lowest loss at '
        f'{result.min_loss_rate:.3g})')
  print(f'Confidence: {result.confidence}: {result.reason}')
  if result.confidence == 'low':
    print(f'Look at the curve in {png} before using it.')
  print(f'Use it as the peak rate, e.g. --params_override '
        f'{_rate_key(params.trainer.optimizer_config)}={result.suggestion:.3g}')
  print(f'Wrote {png} and {csv_path}')
  return result
