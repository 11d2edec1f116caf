"""Tests for official_like.common.distribute_utils.

Multi-worker and TPU set-up change process-wide TensorFlow state (collective
runtime, remote eager context), so those cases run in a child interpreter.
"""
import json
import os
import socket
import subprocess
import sys
import textwrap
import types

import pytest
import tensorflow as tf

from official_like.common import distribute_utils as du

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_VALID = ("['default', 'mirrored', 'multi_worker_mirrored', 'off', "
          "'one_device', 'tpu']")


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _run_child(code, env_updates=None, timeout=60):
  """Runs `code` in a fresh interpreter; parses its last stdout line."""
  env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
  env.update({"TF_CPP_MIN_LOG_LEVEL": "3"}, **(env_updates or {}))
  proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                        cwd=_REPO_ROOT, env=env, capture_output=True,
                        text=True, timeout=timeout)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return json.loads(proc.stdout.strip().splitlines()[-1])


def _fake_strategy(task_type, task_id, cluster, chief):
  resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
      tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
  return types.SimpleNamespace(
      cluster_resolver=resolver,
      extended=types.SimpleNamespace(should_checkpoint=chief))


@pytest.mark.parametrize("name", ["off", "default", "OFF", "Default"])
def test_default_names_give_default_strategy(name):
  assert du.get_distribution_strategy(name) is tf.distribute.get_strategy()


@pytest.mark.parametrize("name", ["one_device", "One_Device"])
def test_one_device_on_cpu(name):
  strategy = du.get_distribution_strategy(name, num_gpus=0)
  assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
  assert strategy.extended.worker_devices[0].endswith("/device:CPU:0")


@pytest.mark.parametrize("name", ["mirrored", "MIRRORED"])
def test_mirrored_without_gpus_uses_cpu0_only(name):
  strategy = du.get_distribution_strategy(name, num_gpus=0)
  assert isinstance(strategy, tf.distribute.MirroredStrategy)
  assert strategy.num_replicas_in_sync == 1
  assert strategy.extended.worker_devices[0].endswith("/device:CPU:0")


def test_unknown_name_lists_valid_names():
  with pytest.raises(ValueError) as err:
    du.get_distribution_strategy("bogus", num_gpus=-1)
  assert str(err.value) == (
      "distribution_strategy: unknown strategy 'bogus'; valid strategies: "
      "default, mirrored, multi_worker_mirrored, off, one_device, tpu "
      "(case-insensitive)")


def test_yaml_false_gets_quoting_hint():
  with pytest.raises(ValueError,
                     match="quote it: 'off'"):
    du.get_distribution_strategy(False)


@pytest.mark.parametrize("name", ["parameter_server", "Parameter_Server"])
def test_parameter_server_rejected(name):
  with pytest.raises(ValueError, match="'parameter_server' is not supported: the Orbit "
                     "loop of official_like.*'multi_worker_mirrored'"):
    du.get_distribution_strategy(name)


def test_negative_num_gpus():
  with pytest.raises(ValueError, match=r"^num_gpus must be >= 0, got -1\.$"):
    du.get_distribution_strategy("mirrored", num_gpus=-1)


@pytest.mark.parametrize("name", ["mirrored", "one_device"])
def test_more_gpus_than_visible(name):
  visible = len(tf.config.list_physical_devices("GPU"))
  if name == "one_device" and visible:
    pytest.skip("host has a GPU; one_device cannot ask for more than one")
  with pytest.raises(ValueError) as err:
    du.get_distribution_strategy(name, num_gpus=visible + 1)
  assert f"num_gpus={visible + 1}" in str(err.value)
  assert f"only {visible} GPU(s) are visible" in str(err.value)


@pytest.mark.parametrize("name", ["off", "one_device"])
def test_single_device_names_reject_several_gpus(name):
  with pytest.raises(ValueError, match="num_gpus=2; use 'mirrored'"):
    du.get_distribution_strategy(name, num_gpus=2)


def test_mirrored_all_reduce_alg():
  ops = du._mirrored_cross_device_ops("HIERARCHICAL_COPY", num_packs=2)
  assert isinstance(ops, tf.distribute.HierarchicalCopyAllReduce)
  assert du._mirrored_cross_device_ops("auto", 1) is None
  with pytest.raises(ValueError, match="all_reduce_alg='ring' is not valid "
                     "with 'mirrored'"):
    du.get_distribution_strategy("mirrored", all_reduce_alg="ring")


def test_multi_worker_all_reduce_alg():
  impl = tf.distribute.experimental.CommunicationImplementation
  assert du._collective_options(None).implementation == impl.AUTO
  assert du._collective_options("Ring").implementation == impl.RING
  assert du._collective_options("nccl").implementation == impl.NCCL
  with pytest.raises(ValueError, match="all_reduce_alg='hierarchical_copy' "
                     "is not valid with 'multi_worker_mirrored'"):
    du.get_distribution_strategy("multi_worker_mirrored",
                                 all_reduce_alg="hierarchical_copy")


@pytest.mark.parametrize("address", [None, ""])
def test_tpu_without_address_fails_immediately(monkeypatch, address):
  for var in du._TPU_ENV_VARS:
    monkeypatch.delenv(var, raising=False)
  with pytest.raises(ValueError) as err:
    du.get_distribution_strategy("tpu", tpu_address=address)
  assert "set --tpu (runtime.tpu)" in str(err.value)


def test_tpu_unreachable_fails_fast_with_flag_name():
  closed = f"grpc://127.0.0.1:{_free_port()}"
  results = _run_child(f"""
      import json, time
      from official_like.common import distribute_utils as du
      out = []
      for address in ["local", {closed!r}]:
        start = time.monotonic()
        try:
          du.get_distribution_strategy("tpu", tpu_address=address)
          out.append([address, "no error", "", 0.0])
        except Exception as e:
          out.append([address, type(e).__name__, str(e),
                      time.monotonic() - start])
          assert e.__cause__ is not None
      print(json.dumps(out))
      """)
  for address, err_type, message, elapsed in results:
    assert err_type == "RuntimeError", (address, message)
    assert message.startswith(
        f"Could not initialise the TPU given by --tpu (runtime.tpu) = "
        f"{address!r}: ")
    assert elapsed < 10, (address, elapsed)


def test_configure_cluster_sets_tf_config(monkeypatch):
  monkeypatch.delenv("TF_CONFIG", raising=False)
  n = du.configure_cluster(" 127.0.0.1:1111,127.0.0.1:2222", 1)
  assert n == 2
  assert json.loads(os.environ["TF_CONFIG"]) == {
      "cluster": {"worker": ["127.0.0.1:1111", "127.0.0.1:2222"]},
      "task": {"type": "worker", "index": 1}}


def test_configure_cluster_single_worker_and_none(monkeypatch):
  monkeypatch.delenv("TF_CONFIG", raising=False)
  assert du.configure_cluster(None, -1) == 1
  assert "TF_CONFIG" not in os.environ
  assert du.configure_cluster("127.0.0.1:1111", -1) == 1
  assert json.loads(os.environ["TF_CONFIG"])["task"] == {
      "type": "worker", "index": 0}


def test_configure_cluster_respects_existing_tf_config(monkeypatch):
  existing = json.dumps({
      "cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"], "ps": ["d:1"]},
      "task": {"type": "worker", "index": 0}})
  monkeypatch.setenv("TF_CONFIG", existing)
  assert du.configure_cluster("127.0.0.1:1111", 0) == 3
  assert os.environ["TF_CONFIG"] == existing


def test_configure_cluster_bad_tf_config(monkeypatch):
  monkeypatch.setenv("TF_CONFIG", "not json")
  with pytest.raises(ValueError, match="TF_CONFIG is not a JSON object"):
    du.configure_cluster()


@pytest.mark.parametrize("task_index", [-1, 2, 5])
def test_configure_cluster_bad_task_index(monkeypatch, task_index):
  monkeypatch.delenv("TF_CONFIG", raising=False)
  with pytest.raises(ValueError) as err:
    du.configure_cluster("127.0.0.1:1111,127.0.0.1:2222", task_index)
  assert str(err.value) == (
      f"task_index={task_index} is out of range for 2 worker_hosts; "
      f"it must be in [0, 1].")
  assert "TF_CONFIG" not in os.environ


def test_multi_worker_mirrored_single_worker_subprocess(tmp_path):
  result = _run_child(f"""
      import json
      import tensorflow as tf
      from official_like.common import distribute_utils as du
      n = du.configure_cluster("localhost:{_free_port()}", 0)
      s = du.get_distribution_strategy("multi_worker_mirrored",
                                       all_reduce_alg="ring")
      total = s.reduce("SUM", s.run(lambda: tf.constant(2.0)), axis=None)
      print(json.dumps({{
          "n": n, "mwms": isinstance(s, tf.distribute.MultiWorkerMirroredStrategy),
          "replicas": s.num_replicas_in_sync,
          "task": [s.cluster_resolver.task_type, s.cluster_resolver.task_id],
          "chief": s.extended.should_checkpoint,
          "dir": du.write_dir({str(tmp_path)!r}, s),
          "total": float(total)}}))
      """, timeout=60)
  assert result == {
      "n": 1, "mwms": True, "replicas": 1,
      "task": ["worker", 0], "chief": True, "dir": str(tmp_path),
      "total": 2.0}


def test_write_dir_follows_should_checkpoint(tmp_path):
  model_dir = str(tmp_path)
  workers = {"worker": ["a:1", "b:1"]}
  assert du.write_dir(model_dir, tf.distribute.get_strategy()) == model_dir
  assert du.write_dir(model_dir, _fake_strategy("worker", 0, workers, True)) == model_dir
  worker1 = _fake_strategy("worker", 1, workers, False)
  assert du.write_dir(model_dir, worker1) == os.path.join(
      model_dir, ".worker_tmp", "worker_1")


def test_remove_worker_dir(tmp_path):
  model_dir = str(tmp_path)
  worker1 = _fake_strategy("worker", 1, {"worker": ["a:1", "b:1"]}, False)
  scratch = du.write_dir(model_dir, worker1)
  tf.io.gfile.makedirs(scratch)
  (tmp_path / "ckpt").write_text("chief")
  du.remove_worker_dir(model_dir, worker1)
  assert not os.path.exists(scratch)
  chief = _fake_strategy("worker", 0, {"worker": ["a:1"]}, True)
  du.remove_worker_dir(model_dir, chief)
  assert (tmp_path / "ckpt").read_text() == "chief"
