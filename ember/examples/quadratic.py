"""Seed 000: fit y = a x^2 + b x + c with an ``nn.Module``, ``nn.MSELoss`` and ``optim.SGD``.

Run: ``python -m ember.examples.quadratic [--epochs N]``.
"""
import argparse

import ember
import ember.nn as nn
import ember.optim as optim


class MyModel(nn.Module):
    def __init__(self):
        super(MyModel, self).__init__()
        self.a = nn.Parameter(ember.tensor([1.]))
        self.b = nn.Parameter(ember.tensor([2.]))
        self.c = nn.Parameter(ember.tensor([3.]))

    def forward(self, x):
        y = self.a * (x ** 2)
        y += self.b * (x ** 1)
        y += self.c
        return y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100000)
    ap.add_argument("--every", type=int, default=10000, help="print every N epochs")
    args = ap.parse_args(argv)
    xs = ember.tensor([1.00, 2.00, 3.00, 4.00, 5.00, 6.00, 7.00, 8.00, 9.00])
    ys = ember.tensor([9.15, 5.64, -0.21, -2.36, -0.91, -0.67, 2.65, 10.36, 17.13])
    model = MyModel()
    for name, param in model.named_parameters():
        print(name, param)
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=1e-4)
    for epoch in range(args.epochs):
        y_pred = model(xs)
        loss = criterion(y_pred, ys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % args.every == 0:
            print(f"Loss after {epoch} steps: {loss}")
    print("a, b, c =", [round(p.item(), 4) for p in model.parameters()])


if __name__ == "__main__":
    main()
