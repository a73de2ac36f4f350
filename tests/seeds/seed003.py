# Seed 003 ("PyTorch : AutoGrad & Optimizer"): the page lost its code formatting (line
# numbers and indentation); these are its code listings with indentation restored.
# %%
import torch
from torch import nn
from torch import Tensor
class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(
            torch.randn(in_features, out_features)
        )
        self.bias = nn.Parameter(torch.randn(out_features))
    def forward(self, x : Tensor):
        return x @ self.weights + self.bias
x = torch.randn(3, 4)
fc = MyLinear(4, 12)
print(fc(x))
# %%
print(torch.nn.Parameter(torch.Tensor([1, 2, 3])))
print(torch.Tensor([1, 2, 3]))
# %%
for name, p in fc.named_parameters():
    print(name, p.shape)
# %%
import numpy as np
x_train = np.array([[float(i)] for i in range(11)], dtype=np.float32)
y_train = np.array([[2.0 * i + 1] for i in range(11)], dtype=np.float32)
# %%
import torch
from torch.autograd import Variable
class LinearReg(torch.nn.Module):
    def __init__(self, inputSize, outputSize):
        super(LinearReg, self).__init__()
        self.linear = torch.nn.Linear(inputSize, outputSize)
    def forward(self, x):
        out = self.linear(x)
        return out
input_size = 1 # takes variable 'x'
output_size = 1 # takes variable 'y'
lr = 0.01
epochs = 100
model = LinearReg(input_size, output_size)
criterion = torch.nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
for epoch in range(epochs):
    inputs = Variable(torch.from_numpy(x_train))
    labels = Variable(torch.from_numpy(y_train))
    optimizer.zero_grad()
    outputs = model(inputs)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    print(f'epoch {epoch}, loss { loss.item() }')
