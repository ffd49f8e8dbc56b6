"""Train the bundled reference networks (Keras and PyTorch) with fixed seeds and a progress bar."""

import logging

import numpy as np
from tqdm import tqdm

from pipelines.config import Framework, Task, TrainConfig
from pipelines.models.builder import seed

log = logging.getLogger(__name__)


def fit_keras(
    model, inputs: np.ndarray, targets: np.ndarray, task: Task, train: TrainConfig
) -> None:
    """Adam with cosine decay; MSE for images, cross-entropy on logits for classes.
    Deterministic: seeded shuffling, and TensorFlow ops that give the same bits every run."""
    import keras
    import tensorflow as tf
    from tqdm.keras import TqdmCallback  # imports keras: only where Keras trains

    seed(Framework.tf, train.seed)
    tf.config.experimental.enable_op_determinism()
    steps = train.epochs * -(-len(inputs) // train.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(train.learning_rate, max(steps, 1))
    loss = (
        keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if task is Task.classification
        else keras.losses.MeanSquaredError()
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)

    model.fit(
        inputs,
        targets,
        batch_size=train.batch_size,
        epochs=train.epochs,
        shuffle=True,
        verbose=0,
        # one bar per epoch with the loss, like the torch loop's bar
        callbacks=[TqdmCallback(train.epochs, verbose=0, tqdm_class=tqdm, desc="train keras")],
    )


def fit_torch(
    module, inputs: np.ndarray, targets: np.ndarray, task: Task, train: TrainConfig
) -> None:
    """The same recipe as :func:`fit_keras`, for the PyTorch twin (NCHW inputs)."""
    import torch

    seed(Framework.torch, train.seed)
    x = torch.from_numpy(inputs).permute(0, 3, 1, 2).contiguous()
    if task is Task.classification:
        y = torch.from_numpy(targets).long()
        loss_fn: torch.nn.Module = torch.nn.CrossEntropyLoss()
    else:
        y = torch.from_numpy(targets).permute(0, 3, 1, 2).contiguous()
        loss_fn = torch.nn.MSELoss()
    batches = -(-len(x) // train.batch_size)
    optimizer = torch.optim.Adam(module.parameters(), lr=train.learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, max(train.epochs * batches, 1)
    )
    module.train()
    with tqdm(range(train.epochs), desc="train torch", unit="epoch") as bar:
        for _ in bar:
            order = torch.randperm(len(x))
            total = 0.0
            for start in range(0, len(x), train.batch_size):
                index = order[start : start + train.batch_size]
                optimizer.zero_grad()
                loss = loss_fn(module(x[index]), y[index])
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.item() * len(index)
            bar.set_postfix(loss=f"{total / len(x):.5f}")
    module.eval()
