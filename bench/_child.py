"""Runs one side of a benchmark in a fresh Python process and reads its result.

A fresh process per side keeps import costs, graph caches and peak memory
of one library from leaking into the other's numbers.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script: str, *args: str, timeout: float = 900) -> dict:
  """Runs `bench/<script> args...`; the child prints one JSON line last."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=ROOT)
  proc = subprocess.run([sys.executable, os.path.join(ROOT, 'bench', script), *args],
                        cwd=ROOT, env=env, capture_output=True, text=True,
                        timeout=timeout, check=False)
  if proc.returncode != 0:
    raise RuntimeError(f'{script} {args} failed:\n{proc.stderr[-3000:]}')
  return json.loads(proc.stdout.strip().splitlines()[-1])


def report(result: dict) -> None:
  """The child's side: peak memory plus `result` as the last stdout line."""
  import resource  # pylint: disable=g-import-not-at-top
  result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  print(json.dumps(result))
