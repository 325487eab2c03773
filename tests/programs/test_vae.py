"""The VAE of pytorch/examples (vae/main.py), shrunk to 16-pixel binary patterns: reparameterize
with torch.randn_like and exp, BCE + KLD loss, Adam, evaluation under torch.no_grad, sampling."""

import sys

import numpy as np
import pytest

import ferrograd as torch
from ferrograd import nn, optim
from ferrograd.nn import functional as F
from ferrograd.utils.data import DataLoader, Dataset

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import program_fixture  # noqa: E402

D = 16  # 4x4 "images"


class VAE(nn.Module):
    def __init__(self, hidden=32, latent=2):
        super(VAE, self).__init__()

        self.fc1 = nn.Linear(D, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, D)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, D))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, D), reduction="sum")

    # see Appendix B from VAE paper:
    # Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    # https://arxiv.org/abs/1312.6114
    # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

    return BCE + KLD


class Patterns(Dataset):
    """4x4 binary images: one of four bars (two rows, two columns), a few pixels flipped."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        bars = np.zeros((4, 4, 4), dtype=np.float32)
        bars[0, 0:2, :] = bars[1, 2:4, :] = bars[2, :, 0:2] = bars[3, :, 2:4] = 1.0
        self.labels = rng.integers(0, 4, size=n)
        images = bars[self.labels]
        flips = rng.random(images.shape) < 0.05
        self.images = np.where(flips, 1.0 - images, images).astype(np.float32)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return torch.from_numpy(self.images[idx]).unsqueeze(0), int(self.labels[idx])


def train(model, optimizer, epoch, train_loader, device):
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    return train_loss / len(train_loader.dataset)


def evaluate(model, test_loader, device):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for i, (data, _) in enumerate(test_loader):
            data = data.to(device)
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()
            if i == 0:
                n = min(data.size(0), 8)
                comparison = torch.cat([data[:n], recon_batch.view(data.size(0), 1, 4, 4)[:n]])
    test_loss /= len(test_loader.dataset)
    return test_loss, comparison


def test_train_and_sample(device):
    torch.manual_seed(1)
    train_loader = DataLoader(Patterns(256, seed=0), batch_size=32, shuffle=True)
    test_loader = DataLoader(Patterns(64, seed=1), batch_size=32, shuffle=False)
    model = VAE().to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)

    first_test_loss, _ = evaluate(model, test_loader, device)
    assert first_test_loss == pytest.approx(D * np.log(2), rel=0.1)  # ~ uniform Bernoulli at init
    history = [train(model, optimizer, epoch, train_loader, device) for epoch in range(1, 16)]
    test_loss, comparison = evaluate(model, test_loader, device)
    assert history[-1] < 0.6 * history[0], history
    assert test_loss < 0.6 * first_test_loss
    assert tuple(comparison.shape) == (16, 1, 4, 4)

    with torch.no_grad():
        sample = torch.randn(64, 2).to(device)
        sample = model.decode(sample).cpu()
    assert tuple(sample.shape) == (64, D)
    assert sample.min().item() > 0 and sample.max().item() < 1
    # decoded samples look like the training bars: mostly near-binary pixels
    assert ((sample < 0.2) | (sample > 0.8)).float().mean().item() > 0.5

    # the latent code separates the four bar types
    data = torch.from_numpy(test_loader.dataset.images).to(device)
    labels = test_loader.dataset.labels
    with torch.no_grad():
        mu, logvar = model.encode(data.view(-1, D))
    mu = mu.cpu().numpy()
    centers = np.stack([mu[labels == c].mean(0) for c in range(4)])
    nearest = ((mu[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
    assert (nearest == labels).mean() > 0.9


def test_reparameterize_uses_the_global_generator(device):
    model = VAE().to(device)
    mu = torch.full((4000, 2), 3.0, device=device)
    logvar = torch.full((4000, 2), np.log(0.25), device=device)
    torch.manual_seed(123)
    z1 = model.reparameterize(mu, logvar)
    torch.manual_seed(123)
    z2 = model.reparameterize(mu, logvar)
    assert torch.equal(z1, z2)
    assert z1.shape == mu.shape and z1.dtype == torch.float32 and z1.device == mu.device
    assert abs(z1.mean().item() - 3.0) < 0.05
    assert abs(z1.std().item() - 0.5) < 0.05


# ---- the run recorded under torch: the sampling step replaced by z = mu --------------------------
def make_model():
    return VAE()


def deterministic_run(model, device):
    model.to(device)
    data = torch.from_numpy(Patterns(16, seed=3).images).to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    out = {}
    for step in range(3):
        optimizer.zero_grad()
        mu, logvar = model.encode(data.view(-1, D))
        recon = model.decode(mu)
        loss = loss_function(recon, data, mu, logvar)
        loss.backward()
        if step == 0:
            out["mu0"] = mu.detach().cpu().numpy()
            out["logvar0"] = logvar.detach().cpu().numpy()
            out["recon0"] = recon.detach().cpu().numpy()
            out["grad_fc22_weight"] = model.fc22.weight.grad.cpu().numpy()
            out["grad_fc1_bias"] = model.fc1.bias.grad.cpu().numpy()
        out[f"loss{step}"] = np.float32(loss.item())
        optimizer.step()
    with torch.no_grad():
        out["decoded"] = model.decode(torch.linspace(-2, 2, 10, device=device).view(5, 2)).cpu().numpy()
    return out


REFERENCE_RUNS = {"vae": (make_model, deterministic_run)}


@pytest.mark.parametrize("name", REFERENCE_RUNS)
def test_matches_torch(name, device):
    program_fixture.check_against_torch(name, device, REFERENCE_RUNS)
