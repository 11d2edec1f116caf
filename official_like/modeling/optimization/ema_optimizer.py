"""An optimizer wrapper that keeps exponential moving averages of the weights.

Averaged weights usually evaluate better than the last iterate, so training
keeps a shadow average of every weight and evaluation or export swaps it in.
The wrapped optimizer does all the training; after each of its steps the
averages move towards the new weights:

  average -= (1 - decay) * (average - weight)

with `decay = 0` (the average copies the weight) while
`iterations < start_step`, and afterwards `average_decay`, or with
`dynamic_decay` `min(average_decay, (1 + n) / (10 + n))` where
`n = iterations - start_step`, so early averages forget their start quickly.
`iterations` is the wrapped optimizer's counter, read after its step.

Matches TFM's `ExponentialMovingAverage` number for number, including the
averages starting at zero (not at the weights) and the slot name `average`
and dependency name `ema_base_optimizer`, so TFM checkpoints restore here.

Usage: `opt = ExponentialMovingAverage(inner)`, `opt.shadow_copy(model)`
once the model is built, train with `opt`, and bracket evaluation with
`opt.swap_weights()` (the second call swaps back). Hyperparameters such as
`learning_rate` and `iterations` belong to the wrapped optimizer and are
forwarded to it.

Gradient processing: by default the wrapper passes gradients through
untouched, so the inner optimizer aggregates, clips and transforms them as
configured. If the wrapper itself is given `clipnorm`, `clipvalue`,
`global_clipnorm`, `gradient_transformers` or `gradient_aggregator`, it
processes gradients exactly like a Keras optimizer (aggregate, then clip and
transform) and hands the inner optimizer the aggregated result. (TFM accepts
these arguments and ignores them.)
"""
import tensorflow as tf
import tf_keras


def _move_towards(average, value, rate):
  return average.assign_sub(tf.cast(rate, average.dtype) * (average - value))


def _assign(variable, value):
  return variable.assign(value)


@tf_keras.utils.register_keras_serializable(package='official_like')
class ExponentialMovingAverage(tf_keras.optimizers.legacy.Optimizer):
  """Trains with `optimizer` and averages the weights (see module doc)."""

  _HAS_AGGREGATE_GRAD = True

  def __init__(self,
               optimizer,
               trainable_weights_only=True,
               average_decay=0.99,
               start_step=0,
               dynamic_decay=True,
               name='ExponentialMovingAverage',
               **kwargs):
    super().__init__(name, **kwargs)
    self._optimizer = optimizer
    self._track_trackable(optimizer, 'ema_base_optimizer')
    self._custom_aggregator = kwargs.get('gradient_aggregator') is not None
    self._trainable_weights_only = trainable_weights_only
    self._average_decay = average_decay
    self._start_step = start_step
    self._dynamic_decay = dynamic_decay
    self._model_weights = None
    self._average_weights = None

  def shadow_copy(self, model):
    """Creates the averages of `model`'s (trainable) variables."""
    if self._trainable_weights_only:
      self._model_weights = list(model.trainable_variables)
    else:
      self._model_weights = list(model.variables)
    self._average_weights = [
        self.add_slot(var, 'average', initializer='zeros')
        for var in self._model_weights
    ]

  @property
  def has_shadow_copy(self):
    """Whether `shadow_copy` has created the averages."""
    return self._model_weights is not None

  def _check_shadow_copy(self):
    if not self.has_shadow_copy:
      raise ValueError('ExponentialMovingAverage has no averages yet; call '
                       'shadow_copy(model) first.')

  def _processes_gradients(self):
    return bool(self._custom_aggregator or self.gradient_transformers or
                self.clipnorm is not None or self.clipvalue is not None or
                self.global_clipnorm is not None)

  def apply_gradients(self, grads_and_vars, name=None,
                      experimental_aggregate_gradients=True):
    """Applies the inner optimizer's step, then updates the averages."""
    self._check_shadow_copy()
    if self._processes_gradients():
      grads_and_vars = [(g, v) for g, v in grads_and_vars if g is not None]
      if experimental_aggregate_gradients:
        grads_and_vars = self._aggregate_gradients(grads_and_vars)
      grads_and_vars = self._transform_gradients(grads_and_vars)
      experimental_aggregate_gradients = False
    train_op = self._optimizer.apply_gradients(
        grads_and_vars, name=name,
        experimental_aggregate_gradients=experimental_aggregate_gradients)
    tf.__internal__.distribute.interim.maybe_merge_call(
        self._update_averages, tf.distribute.get_strategy())
    return train_op

  def _new_weight_share(self):
    """`1 - decay` for this step, in TFM's float32 arithmetic."""
    step = tf.cast(self.iterations, tf.float32)
    start = tf.constant(self._start_step, tf.float32)
    decay = tf.constant(self._average_decay, tf.float32)
    if self._dynamic_decay:
      n = step - start
      decay = tf.minimum(decay, (1.0 + n) / (10.0 + n))
    return tf.where(step < start, 1.0, 1.0 - decay)

  def _update_averages(self, strategy):
    share = self._new_weight_share()
    for average, var in zip(self._average_weights, self._model_weights):
      strategy.extended.update(average, _move_towards, args=(var, share),
                               group=False)

  def swap_weights(self):
    """Exchanges the model weights and their averages, exactly.

    Call it in cross-replica context (or with no strategy at all); calling it
    again swaps back. Values are copied, not computed, so both directions
    are bit-exact.
    """
    self._check_shadow_copy()
    if (tf.distribute.has_strategy() and
        not tf.distribute.in_cross_replica_context()):
      raise ValueError('swap_weights() must be called in cross-replica '
                       'context, not inside strategy.run().')
    strategy = tf.distribute.get_strategy()
    for average, var in zip(self._average_weights, self._model_weights):
      average_value = average.read_value()
      var_value = var.read_value()
      strategy.extended.update(var, _assign, args=(average_value,))
      strategy.extended.update(average, _assign, args=(var_value,))

  def assign_average_vars(self, var_list):
    """Overwrites each variable in `var_list` that has an average with it.

    Unlike `swap_weights`, the training weights are lost; for export.
    """
    self._check_shadow_copy()
    averages = {var.ref(): average for var, average
                in zip(self._model_weights, self._average_weights)}
    return tf.group([var.assign(averages[var.ref()]) for var in var_list
                     if var.ref() in averages])

  def _create_all_weights(self, var_list):
    """Creates the inner optimizer's state, e.g. before restoring it."""
    self._optimizer._create_all_weights(var_list)  # pylint: disable=protected-access

  @property
  def iterations(self):
    return self._optimizer.iterations

  @iterations.setter
  def iterations(self, variable):
    self._optimizer.iterations = variable

  @property
  def learning_rate(self):
    return self._optimizer.learning_rate

  @learning_rate.setter
  def learning_rate(self, value):
    self._optimizer.learning_rate = value

  lr = learning_rate

  @property
  def weights(self):
    """The inner optimizer's weights followed by the averages."""
    return self._optimizer.weights + self._weights

  def variables(self):
    return self.weights

  def get_config(self):
    config = super().get_config()
    config.update({
        'optimizer': tf_keras.optimizers.serialize(self._optimizer),
        'trainable_weights_only': self._trainable_weights_only,
        'average_decay': self._average_decay,
        'start_step': self._start_step,
        'dynamic_decay': self._dynamic_decay,
    })
    return config

  @classmethod
  def from_config(cls, config, custom_objects=None):
    config = dict(config)
    optimizer = tf_keras.optimizers.deserialize(
        config.pop('optimizer'), custom_objects=custom_objects)
    return cls(optimizer, **config)
