"""Seeds 002/003: linear regression y = 2x + 1 with ``nn.Linear``, ``MSELoss`` and SGD,
including the old ``Variable`` API and ``.data.numpy()``.

Run: ``python -m ember.examples.linear_regression``.
"""
import numpy as np

import ember
from ember import nn
from ember.autograd import Variable


class LinearRegression(nn.Module):
    def __init__(self, inputSize, outputSize):
        super(LinearRegression, self).__init__()
        self.linear = ember.nn.Linear(inputSize, outputSize)

    def forward(self, x):
        return self.linear(x)


def main():
    x_values = [i for i in range(11)]
    x_train = np.array(x_values, dtype=np.float32).reshape(-1, 1)
    y_values = [2 * i + 1 for i in x_values]
    y_train = np.array(y_values, dtype=np.float32).reshape(-1, 1)

    ember.manual_seed(0)
    model = LinearRegression(1, 1)
    if ember.cuda.is_available():
        model.cuda()
    criterion = ember.nn.MSELoss()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(100):
        inputs = Variable(ember.from_numpy(x_train))
        labels = Variable(ember.from_numpy(y_train))
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        print(loss)
        loss.backward()
        optimizer.step()
        print('epoch {}, loss {}'.format(epoch, loss.item()))

    with ember.no_grad():
        predicted = model(Variable(ember.from_numpy(x_train))).data.numpy()
        print(predicted)
    for p in model.parameters():
        if p.requires_grad:
            print(p.name, p.data)


if __name__ == "__main__":
    main()
