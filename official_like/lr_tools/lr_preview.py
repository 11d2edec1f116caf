"""`trainer_main.py --mode=lr_preview`: the learning rate a run would follow, before running it.

A schedule is easiest to get wrong where it cannot be seen: a warmup that
outlasts the decay, a boundary past the end, a batch-scaled peak. This
tool takes the exact config a real run would take (same flags, overrides,
gin, resolution and batch scaling), builds only the schedule, and writes
into model_dir:

* `lr_schedule.png`: the curve, warmup shaded, boundaries and decay end
  marked, peak labelled;
* `lr_schedule.csv`: `step,learning_rate`, float32 values as the optimizer
  sees them (every step of runs up to 5000 steps, else the planned points);

and prints a table of the points that matter. No model is built and no
data is read; the start-up warnings of a real run (`lr_lint`) are logged.
"""
import csv
import os
from typing import Dict, List, Tuple

import numpy as np

from official_like.core import config_definitions as cfg
from official_like.core import experiment_parser
from official_like.lr_tools import figures
from official_like.modeling.optimization import lr_lint
from official_like.modeling.optimization import OptimizerFactory
from official_like.modeling.optimization import schedule_facts
from official_like.run import lr_plan

PNG, CSV = 'lr_schedule.png', 'lr_schedule.csv'
BUDGET = 5001  # Points in the CSV and the plot: every step of runs up to 5000 steps.


def describe(config) -> str:
  """'Cosine decay with linear warmup' and the like."""
  kind = config.learning_rate.type
  text = schedule_facts.facts(kind).title
  if config.warmup.type:
    text += f' with {config.warmup.type} warmup'
  return text


def key_points(config, train_steps: int) -> List[Tuple[int, str]]:
  """(step, what) of the steps where the plan changes, within [0, train_steps]."""
  kind, c = config.learning_rate.type, config.learning_rate.get()
  offset = getattr(c, 'offset', 0) or 0
  points = [(0, 'start')]
  warmup = config.warmup.get()
  if warmup is not None and getattr(warmup, 'warmup_steps', 0):
    points.append((warmup.warmup_steps, 'warmup end'))
  if offset:
    points.append((offset, 'schedule offset'))
  points += [(offset + step, what) for step, what in schedule_facts.facts(kind).key_points(c)]
  points.append((train_steps, 'end (trainer.train_steps)'))
  kept: Dict[int, str] = {}
  for step, what in points:
    if 0 <= step <= train_steps:
      kept[step] = f'{kept[step]}, {what}' if step in kept else what
  return sorted(kept.items())


def table(params: cfg.ExperimentConfig, curve: lr_plan.Curve, points) -> str:
  config = curve.config
  lines = [f'Learning-rate plan: {describe(config)}; optimizer {config.optimizer.type}, '
           f'{curve.train_steps} steps, global batch {figures.batch_of(params)}']
  scaling = config.learning_rate_scaling
  if scaling is not None:
    lines.append(f'  rates scaled ({scaling.type}) from base batch '
                 f'{scaling.base_batch_size} to {scaling.resolved_batch_size}')
  lines.append(f'  {"step":>9}  {"learning_rate":<13}  point')
  for step, value, what in points:
    lines.append(f'  {step:>9}  {value:<13.6g}  {what}')
  hi, lo = int(np.nanargmax(curve.values)), int(np.nanargmin(curve.values))
  lines.append(f'  max {curve.values[hi]:.6g} at step {curve.steps[hi]}, '
               f'min {curve.values[lo]:.6g} at step {curve.steps[lo]}')
  return '\n'.join(lines)


def write_csv(curve: lr_plan.Curve, path: str) -> None:
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['step', 'learning_rate'])
    for step, value in zip(curve.steps.tolist(), curve.values.tolist()):
      writer.writerow([step, f'{value:.9g}'])  # 9 digits round-trip a float32.


def plot(params: cfg.ExperimentConfig, curve: lr_plan.Curve, points, path: str) -> None:
  """The curve with its warmup shaded and key steps marked; readable at a glance."""
  config, steps, values = curve.config, curve.steps, curve.values
  with figures.figure(path) as ax:
    warmup = config.warmup.get()
    warmup_steps = min(getattr(warmup, 'warmup_steps', 0) or 0, curve.train_steps)
    if warmup_steps:
      ax.axvspan(0, warmup_steps, color='tab:orange', alpha=0.15,
                 label=f'warmup ({warmup.warmup_steps} steps)')
    ax.plot(steps, values, color='tab:blue', lw=2, label='learning rate')
    top = float(np.nanmax(values)) if values.size else 1.0
    marks = [(step, what) for step, _, what in points
             if step not in (0, curve.train_steps)]
    for step, _ in marks:
      ax.axvline(step, color='gray', ls='--', lw=0.8)
    if marks:  # Named on a top axis of their own, so no label covers the curve.
      named = ax.secondary_xaxis('top')
      named.set_xticks([s for s, _ in marks])
      named.set_xticklabels([w for _, w in marks], fontsize=8, rotation=25,
                            ha='left', color='dimgray')
    hi = int(np.nanargmax(values))
    ax.plot([steps[hi]], [values[hi]], 'o', color='tab:red')
    ax.annotate(f'peak {values[hi]:.4g} (step {steps[hi]})', (steps[hi], values[hi]),
                xytext=(8, 6), textcoords='offset points', fontsize=9, color='tab:red')
    ax.set_xlim(0, curve.train_steps)
    if np.nanmin(values) >= 0:
      ax.set_ylim(0, top * 1.12 if top > 0 else 1.0)
    ax.set_xlabel('training step (optimizer updates)')
    ax.set_ylabel('learning rate (per update)')
    ax.ticklabel_format(axis='y', style='sci', scilimits=(-3, 4))
    scaling = config.learning_rate_scaling
    scaled = (f' ({scaling.type}-scaled from batch {scaling.base_batch_size})'
              if scaling is not None else '')
    ax.set_title(f'{describe(config)}: {config.optimizer.type}, '
                 f'batch {figures.batch_of(params)}{scaled}, {curve.train_steps} steps')


def run(params: cfg.ExperimentConfig, model_dir: str) -> Dict[str, str]:
  """Prints the table and writes the PNG and CSV into model_dir; returns their paths."""
  experiment_parser.resolve_learning_rate(params)  # A no-op after parse_configuration.
  config, train_steps = params.trainer.optimizer_config, params.trainer.train_steps
  curve = lr_plan.planned_curve(config, train_steps, budget=BUDGET)
  lr_lint.warn(params, curve)
  points = key_points(config, train_steps)
  exact = lr_plan.evaluate(OptimizerFactory(config).build_schedule(),
                           [s for s, _ in points])
  os.makedirs(model_dir, exist_ok=True)
  paths = {'png': os.path.join(model_dir, PNG), 'csv': os.path.join(model_dir, CSV)}
  write_csv(curve, paths['csv'])
  rows = [(s, float(v), what) for (s, what), v in zip(points, exact)]
  plot(params, curve, rows, paths['png'])
  print(table(params, curve, rows))
  print(f"Wrote {paths['png']} and {paths['csv']}")
  return paths
