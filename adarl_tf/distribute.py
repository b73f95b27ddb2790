"""tf.distribute strategies for training: one GPU, all local GPUs, several machines.

  default       no distribution (one device).
  mirrored      `tf.distribute.MirroredStrategy`: one replica per local GPU
                (or logical CPU device), gradients all-reduced every step.
  multi_worker  `tf.distribute.MultiWorkerMirroredStrategy`: the machines
                named in the `TF_CONFIG` environment variable (JSON
                {"cluster": {"worker": ["host:port", ...]}, "task":
                {"type": "worker", "index": i}}), every worker running the
                same command.

TensorFlow backend only: under JAX the strategy flag is refused with a
message (use `--parallel_folds` for several GPUs there).

Batch size: `batch_size` is the global batch (split across the replicas)
unless `TrainConfig.batch_per_replica`, where it is the batch of each replica
and the global batch is `batch_size x replicas` (the usual way to keep each
GPU as busy as alone; the paper's recipe assumes a global 32).

What needs care under a strategy, and how it is handled:
  * The center-loss centres are moved by an `assign` inside `compute_loss`
    (Wen et al.'s rule, not a gradient). `CenterLoss.update_centers` sums
    its class counts and feature sums over the replicas (`cross_replica_sum`)
    and the centres variable has `aggregation="mean"`, so every replica
    applies the update of the whole global batch, as one device would.
  * BatchNormalization normalises each replica's batch with that replica's
    statistics (tf.distribute's and PyTorch DDP's default); the moving
    statistics are the mean over replicas. With a per-replica batch of 16 or
    more this is close to one device's batch statistics.
No TensorFlow import at module level: layers import `cross_replica_sum`,
which only touches TensorFlow when a strategy is running.
"""

import sys

import keras

STRATEGIES = ("default", "mirrored", "multi_worker")


def make_strategy(name):
    """The `tf.distribute.Strategy` called `name` (TensorFlow backend only)."""
    if name not in STRATEGIES:
        raise ValueError(f"strategy={name!r}; expected one of {STRATEGIES}")
    if keras.backend.backend() != "tensorflow":
        if name == "default":
            return None
        raise ValueError(f"--strategy={name} needs the TensorFlow backend (KERAS_BACKEND="
                         f"{keras.backend.backend()}); run with KERAS_BACKEND=tensorflow, or "
                         "use --parallel_folds to put one fold on each GPU")
    import tensorflow as tf
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def replicas(strategy):
    """Replicas taking part in each step (1 without a strategy)."""
    return 1 if strategy is None else int(strategy.num_replicas_in_sync)


def global_batch_size(batch_size, strategy, batch_per_replica):
    """The batch the input pipeline yields per step."""
    return batch_size * replicas(strategy) if batch_per_replica else batch_size


def scope(strategy):
    """`strategy.scope()`, or a no-op context without a strategy."""
    import contextlib
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def is_chief():
    """Whether this process writes the run's files (worker 0 of TF_CONFIG, or alone)."""
    import json
    import os
    task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
    return task.get("type", "worker") in ("worker", "chief") and int(task.get("index", 0)) == 0


def cross_replica_sum(*tensors):
    """Sums each tensor over the replicas of a running tf.distribute step.

    Returns the tensors unchanged outside a multi-replica step (one device,
    the JAX backend, TensorFlow not even imported).
    """
    tf = sys.modules.get("tensorflow")
    if tf is None or keras.backend.backend() != "tensorflow":
        return tensors
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return tensors
    return tuple(context.all_reduce(tf.distribute.ReduceOp.SUM, t) for t in tensors)


def scale_loss_for_replicas(loss):
    """`loss / replicas` inside a multi-replica step, `loss` otherwise.

    Keras sums the replicas' gradients and expects `compute_loss` to return
    each replica's share (its own `compute_loss` does this division; an
    override must too), and multiplies back for the reported `loss`.
    """
    tf = sys.modules.get("tensorflow")
    if tf is None or keras.backend.backend() != "tensorflow":
        return loss
    replicas_in_sync = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas_in_sync == 1 else loss * (1.0 / replicas_in_sync)


def logs_for_reduction(logs):
    """The step's logs, shaped so that Keras can reduce them over workers.

    Keras 3.15's TensorFlow trainer reduces each step's logs with
    `strategy.reduce("MEAN", value, axis=0)` under MultiWorkerMirroredStrategy,
    which fails on the scalars every metric returns ("Invalid reduction
    dimension 0 for input with 0 dimensions", tensorflow/tensorflow#72388).
    Inside such a step each value becomes shape (1,), which that reduction
    turns back into the scalar mean over the replicas; everywhere else the
    logs are returned unchanged.
    """
    tf = sys.modules.get("tensorflow")
    if tf is None or keras.backend.backend() != "tensorflow":
        return logs
    strategy = tf.distribute.get_strategy()
    if not (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and tf.distribute.in_cross_replica_context() is False
            and tf.distribute.has_strategy()):
        return logs
    return {k: tf.reshape(v, [1]) for k, v in logs.items()}


def prepare_model(model, strategy):
    """Works around Keras 3's multi-worker `fit` (call after `compile`, in the scope).

    Keras' TensorFlow trainer builds a distributed model symbolically from the
    first batch, reduced with `strategy.reduce("MEAN", batch)`, which fails
    under MultiWorkerMirroredStrategy in eager mode ("Attempt to convert a
    value (PerReplica...)"). The model here is functional (built already), so
    only the optimizer's variables remain: they are created now, in the
    scope, and Keras is told the model has no strategy of its own; then
    `model.distribute_strategy` is the strategy in force, so `fit` must run
    inside `scope(strategy)`. Single-machine strategies need none of this.
    """
    import tensorflow as tf
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        model.optimizer.build(model.trainable_variables)
        model._distribute_strategy = None
