# Seed 001 (hamin-chang, "파이토치로 학습하기2 - 파라미터 최적화"): notebook cells in order.
# Expression-only cells print their value as a notebook would (print(...) added).
# %%
import torch
t_c = [0.5,  14.0, 15.0, 28.0, 11.0,  8.0,  3.0, -4.0,  6.0, 13.0, 21.0] # 섭씨 온도
t_u = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4] # 미지의 온도
t_c = torch.tensor(t_c) # 리스트를 텐서로 변환
t_u = torch.tensor(t_u)
t_un = t_u * 0.1
def model(t_u,w,b): # 차례대로 입력텐서, 가중치 파라미터, 편향값 파라미터
  return w * t_u + b 

def loss_fn(t_p, t_c): # 차례대로 출력값 , 정답값
  squared_diffs = (t_p - t_c)**2
  return squared_diffs.mean()
# %%
params = torch.tensor([1.0,0.0], requires_grad=True) # 파라미터 텐서 초기화
# %%
print(params.grad is None)
# %%
loss = loss_fn(model(t_u,*params),t_c)
loss.backward()

print(params.grad)
# %%
if params.grad is not None:
  params.grad.zero_() # zero에 _가 붙었기 때문에 텐서가 아예 바뀐다!
# %%
def training_loop(n_epochs, learning_rate, params, t_u,t_c):
  for epoch in range(1,n_epochs+1):
    if params.grad is not None:  # loss.backward() 호출 전 아무 위치 가능
      params.grad.zero_() 
    
    t_p = model(t_u, *params)
    loss = loss_fn(t_p, t_c)
    loss.backward()

    with torch.no_grad():  # 이 부분은 처음 보지만 이 글 밑에서 다룬다.
      params -= learning_rate * params.grad

    if epoch % 500 ==0 :
      print(f'Epoch {epoch}, Loss {float(loss)}')
  
  return params
# %%
print(training_loop(n_epochs=5000,
              learning_rate=1e-2,
              params = torch.tensor([1.0,0.0], requires_grad=True),
              t_u = t_un, # 정규화된 입력 사용
              t_c = t_c))
# %%
import torch.optim as optim

dir(optim)
# %%
params = torch.tensor([1.0,0.0], requires_grad=True)
learning_rate = 1e-5 
optimizer = optim.SGD([params],lr=learning_rate) # 옵티마이저 인스턴스
 
t_p = model(t_u, *params)
loss = loss_fn(t_p,t_c)
loss.backward()

optimizer.step()

print(params)
# %%
params = torch.tensor([1.0,0.0], requires_grad=True)
learning_rate = 1e-5 
optimizer = optim.SGD([params],lr=learning_rate) # 옵티마이저 인스턴스
 
t_p = model(t_u, *params)
loss = loss_fn(t_p,t_c)

optimizer.zero_grad() # backward 앞에만 위치하면 OK
loss.backward()
optimizer.step()

print(params)
# %%
def training_loop(n_epochs, optimizer, params, t_u,t_c):
  for epoch in range(1,n_epochs+1):
    t_p = model(t_u, *params)
    loss = loss_fn(t_p, t_c)

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    if epoch % 500 ==0 :
      print(f'Epoch {epoch}, Loss {float(loss)}')
  
  return params
# %%
params = torch.tensor([1.0,0.0],requires_grad=True) # 파라미터 초기화
learning_rate = 1e-2
optimizer = optim.SGD([params],lr=learning_rate)

print(training_loop(n_epochs=5000,
              optimizer=optimizer,
              params=params,
              t_u=t_un,
              t_c=t_c))
# %%
params = torch.tensor([1.0,0.0],requires_grad=True) # 파라미터 초기화
learning_rate = 1e-1 # 학습률 올림
optimizer = optim.Adam([params],lr=learning_rate)

print(training_loop(n_epochs=2000,
              optimizer=optimizer,
              params=params,
              t_u=t_u, # 정규화X 입력 사용
              t_c=t_c))
# %%
n_samples = t_u.shape[0]
n_val = int(0.2*n_samples) # 전체 데이터의 20%만 검증셋으로 떼어낸다.

shuffled_indices = torch.randperm(n_samples)

# 인덱스 텐서
train_indices = shuffled_indices[:-n_val]
val_indices = shuffled_indices[-n_val:]

train_t_u = t_u[train_indices]
train_t_c = t_c[train_indices]

val_t_u = t_u[val_indices]
val_t_c = t_c[val_indices]

train_t_un = 0.1 * train_t_u
val_t_un = 0.1 * val_t_u
# %%
def training_loop(n_epochs, optimizer, params, train_t_u, val_t_u,
                  train_t_c, val_t_c):
    for epoch in range(1, n_epochs + 1):
        train_t_p = model(train_t_u, *params) 
        train_loss = loss_fn(train_t_p, train_t_c)
                             
        val_t_p = model(val_t_u, *params) 
        val_loss = loss_fn(val_t_p, val_t_c)
        
        optimizer.zero_grad()
        train_loss.backward() 
        # 검증 데이터로는 학습하면 안되기 때문에 val_loss.backward()는 없다.
        optimizer.step()

        if epoch <= 3 or epoch % 500 == 0:
            print(f"Epoch {epoch}, Training loss {train_loss.item():.4f},"
                  f" Validation loss {val_loss.item():.4f}")
            
    return params
# %%
params = torch.tensor([1.0, 0.0], requires_grad=True)
learning_rate = 1e-2
optimizer = optim.SGD([params], lr=learning_rate)

print(training_loop(
    n_epochs = 3000, 
    optimizer = optimizer,
    params = params,
    train_t_u = train_t_un, 
    val_t_u = val_t_un, 
    train_t_c = train_t_c,
    val_t_c = val_t_c))
# %%
def training_loop(n_epochs,optimizer,params,train_t_u,val_t_u,train_t_c,val_t_c):
  for epoch in range(1,n_epochs+1):
    train_t_p = model(train_t_u,*params)
    train_loss = loss_fn(train_t_p,train_t_c)

    with torch.no_grad(): # 자동미분 끄는 콘텍스트 관리자
      val_t_p = model(val_t_u,*params)
      val_loss = loss_fn(val_t_p,val_t_c)
      assert val_loss.requires_grad == False # 이 블록 내에서 requires_grad=False로 설정을 강제한다는 상황을 점검

    optimizer.zero_grad()
    train_loss.backward()
    optimizer.step()
# %%
def calc_forward(t_u,t_c,is_train):
  with torch.set_grad_enabled(is_train):
    t_p = model(t_u,*params)
    loss = loss_fn(t_p,t_c)
  return loss
# %%
print(training_loop(100, optim.SGD([params], lr=1e-2), params, train_t_un, val_t_un, train_t_c, val_t_c))
print(calc_forward(train_t_un, train_t_c, True).requires_grad, calc_forward(val_t_un, val_t_c, False).requires_grad)
