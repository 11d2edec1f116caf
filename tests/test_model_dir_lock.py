"""model_dir_lock on remote paths: not locked, said in the log, nothing written locally."""
import os

import pytest

from official_like.run import model_dir_lock


def test_a_remote_model_dir_is_not_locked_and_nothing_is_written(tmp_path, monkeypatch, caplog):
  monkeypatch.chdir(tmp_path)
  model_dir = 'gs://bucket/run'
  model_dir_lock.check_free(model_dir)
  with caplog.at_level('INFO'):
    with model_dir_lock.ModelDirLock(model_dir) as lock:
      assert not lock.held
  assert 'Not locking gs://bucket/run: flock needs a local filesystem' in caplog.text
  assert os.listdir(tmp_path) == []


def test_a_local_model_dir_is_locked_while_held(tmp_path):
  model_dir = str(tmp_path / 'run')
  with model_dir_lock.ModelDirLock(model_dir) as lock:
    assert lock.held
    with pytest.raises(model_dir_lock.ModelDirInUseError, match=f'pid {os.getpid()} on host'):
      model_dir_lock.check_free(model_dir)
  model_dir_lock.check_free(model_dir)
