"""Builds a `tf.distribute.Strategy` from runtime settings.

The trainer reads `RuntimeConfig` fields (`distribution_strategy`, `num_gpus`,
`tpu`, `worker_hosts`, `task_index`, `all_reduce_alg`, `num_packs`) and hands
them to this module, so the names and semantics follow TF Model Garden's
`official.common.distribute_utils`. Where Model Garden would let TensorFlow fail
late (a missing GPU, an unreachable TPU) we check early and raise a short error
that names the setting to fix, because a wrong flag should not cost a stack
trace from deep inside the runtime or a hung job.
"""

import contextlib
import json
import os
import socket

import tensorflow as tf

from official_like.common import strategy_names

_TPU_ENV_VARS = ("TPU_NAME", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "TPU_CONFIG")
_TPU_PROBE_TIMEOUT_S = 5.0
_WORKER_TMP = ".worker_tmp"


def _check_gpus(name, num_gpus):
  """Fails early when more GPUs are requested than this host has."""
  available = len(tf.config.list_physical_devices("GPU"))
  if num_gpus > available:
    raise ValueError(
        f"distribution_strategy={name!r} asks for num_gpus={num_gpus}, but "
        f"only {available} GPU(s) are visible on this host.")


def _mirrored_cross_device_ops(all_reduce_alg, num_packs):
  """Maps `all_reduce_alg` to MirroredStrategy's cross-device reduction."""
  alg = (all_reduce_alg or "auto").lower()
  if alg == "auto":
    return None
  ops = {"nccl": tf.distribute.NcclAllReduce,
         "hierarchical_copy": tf.distribute.HierarchicalCopyAllReduce}
  if alg not in ops:
    raise ValueError(
        f"all_reduce_alg={all_reduce_alg!r} is not valid with 'mirrored'; "
        f"use one of [None, 'auto', 'hierarchical_copy', 'nccl'].")
  return ops[alg](num_packs=num_packs)


def _collective_options(all_reduce_alg):
  """Maps `all_reduce_alg` to multi-worker collective communication options."""
  impl = tf.distribute.experimental.CommunicationImplementation
  choices = {"auto": impl.AUTO, "ring": impl.RING, "nccl": impl.NCCL}
  alg = (all_reduce_alg or "auto").lower()
  if alg not in choices:
    raise ValueError(
        f"all_reduce_alg={all_reduce_alg!r} is not valid with "
        f"'multi_worker_mirrored'; use one of [None, 'auto', 'nccl', 'ring'].")
  return tf.distribute.experimental.CommunicationOptions(
      implementation=choices[alg])


def _tpu_error(tpu_address, err):
  first_line = (str(err).strip().splitlines() or [""])[0]
  if len(first_line) > 200:
    first_line = first_line[:200] + "..."
  return RuntimeError(
      f"Could not initialise the TPU given by --tpu (runtime.tpu) = "
      f"{tpu_address!r}: {type(err).__name__}: {first_line}")


def _probe_grpc(master, tpu_address):
  """Fails fast if a `grpc://host:port` TPU worker does not accept TCP.

  TensorFlow retries a refused gRPC connection for minutes without a word,
  so a typo in the address would otherwise look like a hung job.
  """
  host, _, port = master[len("grpc://"):].rpartition(":")
  if not host or not port.isdigit():
    return
  try:
    socket.create_connection((host, int(port)), _TPU_PROBE_TIMEOUT_S).close()
  except OSError as e:
    raise _tpu_error(tpu_address, e) from e


def _tpu_strategy(tpu_address):
  """Connects to and initialises the TPU system, then wraps it in a strategy.

  As in Model Garden, 'local' (and '' when an env var such as TPU_NAME names
  the TPU) is initialised in place; any other value is a Cloud TPU name or
  `grpc://` address that is connected to first. An empty address with no such
  env var fails at once instead of asking the resolver to guess.
  """
  address = tpu_address or ""
  if not address and not any(os.environ.get(v) for v in _TPU_ENV_VARS):
    raise ValueError(
        "distribution_strategy='tpu' needs a TPU: set --tpu (runtime.tpu) to "
        "a Cloud TPU name, 'grpc://host:port' or 'local'; it is empty and "
        f"none of {list(_TPU_ENV_VARS)} is set.")
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
  except Exception as e:  # Cloud TPU lookups raise ValueError/OSError/HTTP.
    raise _tpu_error(tpu_address, e) from e
  master = resolver.master()
  if master.startswith("grpc://"):
    _probe_grpc(master, tpu_address)
  try:
    if address not in ("", "local"):
      tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
  except (tf.errors.OpError, ValueError, RuntimeError) as e:
    raise _tpu_error(tpu_address, e) from e
  return tf.distribute.TPUStrategy(resolver)


def get_distribution_strategy(distribution_strategy="mirrored",
                              num_gpus=0,
                              all_reduce_alg=None,
                              num_packs=1,
                              tpu_address=None,
                              **kwargs):
  """Returns the strategy named by `distribution_strategy` (case-insensitive).

  Names: 'off'/'default' give the default strategy; 'one_device' places the
  model on GPU:0 if `num_gpus` is 1 else CPU:0; 'mirrored' replicates over
  `num_gpus` GPUs, or over the single device CPU:0 when `num_gpus` is 0 (as in
  Model Garden, extra logical CPUs are not used); 'multi_worker_mirrored'
  reads the cluster from TF_CONFIG (see `configure_cluster`); 'tpu' connects
  to `tpu_address`. 'parameter_server' is rejected because the Orbit trainer
  never creates the ClusterCoordinator that strategy needs.

  `all_reduce_alg` picks the reduction: None/'auto', 'nccl' or
  'hierarchical_copy' for 'mirrored' (with `num_packs`), None/'auto', 'ring'
  or 'nccl' for 'multi_worker_mirrored'. `kwargs` absorbs other runtime
  fields so callers can pass a whole config section.

  Raises:
    ValueError: a bad name, GPU count or `all_reduce_alg`, checked before
      any device is touched; or 'tpu' with no address.
    RuntimeError: the TPU could not be reached or initialised.
  """
  del kwargs
  try:
    name = strategy_names.normalize(distribution_strategy)
  except ValueError as e:
    raise ValueError(f'distribution_strategy: {e}') from None
  if num_gpus < 0:
    raise ValueError(f"num_gpus must be >= 0, got {num_gpus}.")

  if name in strategy_names.DEFAULT_NAMES:
    if num_gpus > 1:
      raise ValueError(
          f"distribution_strategy={name!r} runs on one device but "
          f"num_gpus={num_gpus}; use 'mirrored' for several GPUs.")
    return tf.distribute.get_strategy()
  if name == "one_device":
    if num_gpus > 1:
      raise ValueError(
          f"distribution_strategy='one_device' uses one device but "
          f"num_gpus={num_gpus}; use 'mirrored' for several GPUs.")
    _check_gpus(name, num_gpus)
    return tf.distribute.OneDeviceStrategy(
        "/device:GPU:0" if num_gpus else "/device:CPU:0")
  if name == "mirrored":
    cross_device_ops = _mirrored_cross_device_ops(all_reduce_alg, num_packs)
    _check_gpus(name, num_gpus)
    devices = ([f"/device:GPU:{i}" for i in range(num_gpus)]
               if num_gpus else ["/device:CPU:0"])
    return tf.distribute.MirroredStrategy(
        devices=devices, cross_device_ops=cross_device_ops)
  if name == "multi_worker_mirrored":
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=_collective_options(all_reduce_alg))
  return _tpu_strategy(tpu_address)


def configure_cluster(worker_hosts=None, task_index=-1):
  """Sets TF_CONFIG from `worker_hosts` and returns the number of workers.

  An existing TF_CONFIG wins (cluster managers set it) and is only read.
  Otherwise `worker_hosts` ('host:port,host:port') becomes a cluster of
  'worker' tasks whose index 0 acts as chief, as in Model Garden; this must
  run before the multi-worker strategy is built because it reads TF_CONFIG.
  `task_index` -1 means "unset" and is only allowed for a single worker.
  """
  existing = os.environ.get("TF_CONFIG")
  if existing:
    try:
      cluster = json.loads(existing).get("cluster", {})
    except (ValueError, AttributeError) as e:
      raise ValueError(f"TF_CONFIG is not a JSON object: {existing!r}") from e
    return max(1, len(cluster.get("chief", []) + cluster.get("worker", [])))
  workers = [h.strip() for h in (worker_hosts or "").split(",") if h.strip()]
  if not workers:
    return 1
  if task_index == -1 and len(workers) == 1:
    task_index = 0
  if not 0 <= task_index < len(workers):
    raise ValueError(
        f"task_index={task_index} is out of range for {len(workers)} "
        f"worker_hosts; it must be in [0, {len(workers) - 1}].")
  os.environ["TF_CONFIG"] = json.dumps({
      "cluster": {"worker": workers},
      "task": {"type": "worker", "index": task_index},
  })
  return len(workers)


def write_dir(model_dir, strategy):
  """Directory this task should write checkpoints and summaries to.

  Every MultiWorkerMirrored worker must run the save ops (they hold
  collectives), but only the chief's files are kept; others write to a
  private scratch directory so they never clobber the chief's.
  """
  if strategy.extended.should_checkpoint:
    return model_dir
  resolver = strategy.cluster_resolver
  return os.path.join(model_dir, _WORKER_TMP,
                      f"{resolver.task_type}_{resolver.task_id}")


def remove_worker_dir(model_dir, strategy):
  """Deletes a non-chief task's scratch directory; no-op on the chief."""
  path = write_dir(model_dir, strategy)
  if path != model_dir and tf.io.gfile.exists(path):
    tf.io.gfile.rmtree(path)


def get_strategy_scope(strategy):
  """`strategy.scope()`, or a scope that does nothing when `strategy` is None (TFM's helper)."""
  return strategy.scope() if strategy else contextlib.nullcontext()
