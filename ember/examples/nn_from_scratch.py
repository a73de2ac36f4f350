"""Seed 004: "What is torch.nn really?" — MNIST from raw tensors to ``nn.Sequential``.

The tutorial downloads ``mnist.pkl.gz`` (50,000 train / 10,000 validation digits). Offline,
this example writes a file of the same layout from ember's embedded digits (4,000 train /
1,000 validation) to ``--path`` first, then runs the tutorial's steps: a hand-written
log-softmax model, ``F.cross_entropy``, ``nn.Module``, ``nn.Linear``, ``optim``,
``TensorDataset``, ``DataLoader``, validation, ``fit()``, a CNN and ``nn.Sequential``.

Run: ``python -m ember.examples.nn_from_scratch [--epochs 2]``.

One fix to the tutorial's code: it indents ``model = Mnist_Logistic()`` inside the class
body, which fails with NameError (in torch too); here it stands after the class.
"""
from __future__ import annotations

import argparse
import gzip
import math
import pickle
from pathlib import Path

import numpy as np

import ember
import ember.nn.functional as F
from ember import nn, optim
from ember.utils.data import DataLoader, TensorDataset


def write_embedded_pickle(path: Path) -> None:
    """Write ((x_train, y_train), (x_valid, y_valid), None) like the tutorial's file."""
    from ember.vision import datasets
    xtr, ytr = datasets.load_embedded_mnist(train=True, flatten=True, dtype=ember.float32)
    xva, yva = datasets.load_embedded_mnist(train=False, flatten=True, dtype=ember.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        pickle.dump(((xtr.numpy(), ytr.numpy()), (xva.numpy(), yva.numpy()), None), f,
                    protocol=2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", default="data/mnist/mnist.pkl.gz")
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args(argv)
    path = Path(args.path)
    if not path.exists():
        write_embedded_pickle(path)
    with gzip.open(path.as_posix(), "rb") as f:
        ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding="latin-1")

    x_train, y_train, x_valid, y_valid = map(ember.tensor, (x_train, y_train, x_valid, y_valid))
    n, c = x_train.shape
    print(x_train.shape, y_train.min(), y_train.max())
    ember.manual_seed(0)

    # --- from scratch ---------------------------------------------------------------------
    weights = ember.randn(784, 10) / math.sqrt(784)
    weights.requires_grad_()
    bias = ember.zeros(10, requires_grad=True)

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    bs = 64
    xb = x_train[0:bs]
    preds = model(xb)
    print(preds[0], preds.shape)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    loss_func = nll
    yb = y_train[0:bs]
    print(loss_func(preds, yb))

    def accuracy(out, yb):
        preds = ember.argmax(out, dim=1)
        return (preds == yb).float().mean()

    print(accuracy(preds, yb))
    lr, epochs = 0.5, args.epochs
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            with ember.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    print("from scratch:", loss_func(model(xb), yb), accuracy(model(xb), yb))

    # --- nn.functional, nn.Module, nn.Linear, optim -----------------------------------------
    loss_func = F.cross_entropy

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 10)

        def forward(self, xb):
            return self.lin(xb)

    def get_model():
        model = Mnist_Logistic()
        return model, optim.SGD(model.parameters(), lr=lr)

    # --- Dataset, DataLoader, validation, fit() -----------------------------------------------
    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)
            model.eval()
            with ember.no_grad():
                losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            print(epoch, val_loss)

    def get_data(train_ds, valid_ds, bs):
        return (DataLoader(train_ds, batch_size=bs, shuffle=True),
                DataLoader(valid_ds, batch_size=bs * 2))

    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model, opt = get_model()
    print("logistic:")
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    # --- CNN ---------------------------------------------------------------------------------
    class Mnist_CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))

    lr = 0.1
    model = Mnist_CNN()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    print("CNN:")
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    # --- nn.Sequential -----------------------------------------------------------------------
    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            return self.func(x)

    def preprocess(x):
        return x.view(-1, 1, 28, 28)

    model = nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(4),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    print(model)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    print("Sequential:")
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    model.eval()
    with ember.no_grad():
        acc = sum(accuracy(model(xb), yb).item() * len(yb) for xb, yb in valid_dl) / len(valid_ds)
    print(f"validation accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
