# Seed 000 (nyan101, "추상화된 모델 만들기"): code blocks in order. Pseudo-code blocks that
# are prose placeholders are kept: they fail identically in both libraries.
# %%
import torch
import torch.nn as nn

class MyModel(nn.Module): # nn.Module 클래스의 확장이 된다
    def __init__(self):
        # super 생성자의 첫 인자로 해당 클래스를 넘긴다
        super(MyModel, self).__init__()
        # 파라미터들의 타입이 torch.tensor가 아니라 nn.Parameter임에 유의
        self.a = nn.Parameter(torch.tensor([1.]))
        self.b = nn.Parameter(torch.tensor([2.]))
        self.c = nn.Parameter(torch.tensor([3.]))
    
    def forward(self, x):
        y  = self.a * (x**2)
        y += self.b * (x**1)
        y += self.c
        return y
# %%
# fitting 대상 데이터
xs = [ 1.00,  2.00,  3.00,  4.00,  5.00,  6.00,  7.00,  8.00,  9.00 ]
ys = [ 9.15,  5.64, -0.21, -2.36, -0.91, -0.67,  2.65, 10.36, 17.13 ]

# 모델 객체 생성
model = MyModel()

# model.parameters()로 모델의 파라미터에 접근할 수 있다
# 파라미터들의 이름을 같이 보고싶다면 model.named_parameters()를 사용하자
for param in model.parameters():
    print(param)
    
y_pred = model(xs) # model.forward(xs)와 동일
# %%
criterion = nn.MSELoss()     # 처음 한 번만 정의
----------
loss = criterion(y_pred, ys) # 매 라운드(epoch)마다. *앞으로는 err 대신 loss라는 용어를 사용한다
loss.backward()
# %%
import torch.optim as optim

optimzer = optim.SGD(model.parameters(), lr=1e-4) # 정의 시점에 model.parameters()를 넘겨준다
----------
loss.backward()
optim.step()      # 파라미터 업데이트
optim.zero_grad() # 파라미터들의 grad를 0으로 초기화
# %%
# Model 클래스 구조
class MyModel(nn.Module):
    def __init__(self):
        super(MyModel, self).__init__()
        self.a = nn.Parameter(torch.tensor([1.]))
        self.b = nn.Parameter(torch.tensor([2.]))
        self.c = nn.Parameter(torch.tensor([3.]))
    
    def forward(self, x):
        y  = self.a * (x**2)
        y += self.b * (x**1)
        y += self.c
        return y

# fitting 대상 데이터
xs = torch.tensor([ 1.00,  2.00,  3.00,  4.00,  5.00,  6.00,  7.00,  8.00,  9.00 ])
ys = torch.tensor([ 9.15,  5.64, -0.21, -2.36, -0.91, -0.67,  2.65, 10.36, 17.13 ])

# model과 criterion, optimizer 선언
model = MyModel()
criterion = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=1e-4)

# 학습
for epoch in range(100000):
    y_pred = model(xs)
    loss = criterion(y_pred, ys)
    optimizer.zero_grad() # .zero_grad()의 위치는 이곳과 .step() 이후 중 어느 곳이든 상관 없음
    loss.backward()       # 인터넷의 다른 예제들과의 통일성을 위해 loss.backward() 이전에 놓았다
    optimizer.step()
    
    if(epoch % 10000):
        print(f"Loss after {epoch} steps: {loss}")
