"""Seed 001: fit the temperature model t_c = w * t_u + b, first by hand with autograd, then
with ``optim.SGD`` and ``optim.Adam``, then with a train/validation split.

Run: ``python -m ember.examples.temperature``. The printed losses are torch's, digit for digit.
"""
import ember
import ember.optim as optim

t_c = ember.tensor([0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0])
t_u = ember.tensor([35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4])
t_un = t_u * 0.1


def model(t_u, w, b):
    return w * t_u + b


def loss_fn(t_p, t_c):
    squared_diffs = (t_p - t_c) ** 2
    return squared_diffs.mean()


def training_loop_by_hand(n_epochs, learning_rate, params, t_u, t_c):
    for epoch in range(1, n_epochs + 1):
        if params.grad is not None:
            params.grad.zero_()
        t_p = model(t_u, *params)
        loss = loss_fn(t_p, t_c)
        loss.backward()
        with ember.no_grad():
            params -= learning_rate * params.grad
        if epoch % 500 == 0:
            print(f"Epoch {epoch}, Loss {float(loss)}")
    return params


def training_loop(n_epochs, optimizer, params, t_u, t_c):
    for epoch in range(1, n_epochs + 1):
        t_p = model(t_u, *params)
        loss = loss_fn(t_p, t_c)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % 500 == 0:
            print(f"Epoch {epoch}, Loss {float(loss)}")
    return params


def training_loop_val(n_epochs, optimizer, params, train_t_u, val_t_u, train_t_c, val_t_c):
    for epoch in range(1, n_epochs + 1):
        train_loss = loss_fn(model(train_t_u, *params), train_t_c)
        with ember.no_grad():
            val_loss = loss_fn(model(val_t_u, *params), val_t_c)
            assert val_loss.requires_grad is False
        optimizer.zero_grad()
        train_loss.backward()
        optimizer.step()
        if epoch <= 3 or epoch % 500 == 0:
            print(f"Epoch {epoch}, Training loss {train_loss.item():.4f},"
                  f" Validation loss {val_loss.item():.4f}")
    return params


def main():
    params = ember.tensor([1.0, 0.0], requires_grad=True)
    print(params.grad is None)
    loss = loss_fn(model(t_u, *params), t_c)
    loss.backward()
    print(params.grad)

    print(training_loop_by_hand(5000, 1e-2, ember.tensor([1.0, 0.0], requires_grad=True),
                                t_un, t_c))

    params = ember.tensor([1.0, 0.0], requires_grad=True)
    optimizer = optim.SGD([params], lr=1e-5)
    loss = loss_fn(model(t_u, *params), t_c)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(params)

    params = ember.tensor([1.0, 0.0], requires_grad=True)
    print(training_loop(5000, optim.SGD([params], lr=1e-2), params, t_un, t_c))

    params = ember.tensor([1.0, 0.0], requires_grad=True)
    print(training_loop(2000, optim.Adam([params], lr=1e-1), params, t_u, t_c))

    ember.manual_seed(0)
    n_samples = t_u.shape[0]
    n_val = int(0.2 * n_samples)
    shuffled = ember.randperm(n_samples)
    train_idx, val_idx = shuffled[:-n_val], shuffled[-n_val:]
    params = ember.tensor([1.0, 0.0], requires_grad=True)
    print(training_loop_val(3000, optim.SGD([params], lr=1e-2), params,
                            0.1 * t_u[train_idx], 0.1 * t_u[val_idx],
                            t_c[train_idx], t_c[val_idx]))


if __name__ == "__main__":
    main()
