"""Contrastive losses as people write them: SimCLR's NT-Xent (F.normalize, a similarity matrix, an
eye(..., dtype=torch.bool) mask, masked_fill, F.cross_entropy; and the boolean-indexing variant of
the popular SimCLR repo), a CLIP-style symmetric loss with a learnable logit_scale that is
exp()-ed and clamped, and nn.TripletMarginLoss."""

import math
import sys

import numpy as np
import pytest

import ferrograd as torch
import ferrograd.nn as nn
import ferrograd.nn.functional as F

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import program_fixture  # noqa: E402


# ---- SimCLR ------------------------------------------------------------------------------------
def nt_xent_loss(z_i, z_j, temperature=0.5):
    batch_size = z_i.shape[0]
    z = torch.cat([z_i, z_j], dim=0)
    z = F.normalize(z, dim=1)
    similarity_matrix = torch.matmul(z, z.T)  # (2N, 2N) cosine similarities
    mask = torch.eye(2 * batch_size, dtype=torch.bool, device=z.device)
    similarity_matrix = similarity_matrix.masked_fill(mask, float("-inf"))  # never match yourself
    positives = torch.cat([torch.arange(batch_size, 2 * batch_size), torch.arange(0, batch_size)]).to(z.device)
    logits = similarity_matrix / temperature
    return F.cross_entropy(logits, positives)


def info_nce_loss(features, batch_size, n_views=2, temperature=0.5):
    """sthalles/SimCLR's version: boolean masks pull out the positives and negatives."""
    device = features.device
    labels = torch.cat([torch.arange(batch_size) for i in range(n_views)], dim=0)
    labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
    labels = labels.to(device)

    features = F.normalize(features, dim=1)

    similarity_matrix = torch.matmul(features, features.T)

    # discard the main diagonal from both: labels and similarities matrix
    mask = torch.eye(labels.shape[0], dtype=torch.bool).to(device)
    labels = labels[~mask].view(labels.shape[0], -1)
    similarity_matrix = similarity_matrix[~mask].view(similarity_matrix.shape[0], -1)

    # select and combine multiple positives
    positives = similarity_matrix[labels.bool()].view(labels.shape[0], -1)

    # select only the negatives the negatives
    negatives = similarity_matrix[~labels.bool()].view(similarity_matrix.shape[0], -1)

    logits = torch.cat([positives, negatives], dim=1)
    labels = torch.zeros(logits.shape[0], dtype=torch.long).to(device)

    logits = logits / temperature
    return F.cross_entropy(logits, labels)


class SimCLRNet(nn.Module):
    def __init__(self, in_dim=8, hidden=32, out_dim=16):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU())
        self.projector = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, x):
        return self.projector(self.encoder(x))


def augment(x):
    """Two random views: multiplicative jitter, additive noise, a random feature dropped."""
    scale = 1 + 0.1 * torch.randn(x.size(0), 1, device=x.device)
    keep = (torch.rand_like(x) > 0.1).float()
    return (x * scale + 0.1 * torch.randn_like(x)) * keep


def test_simclr_trains(device):
    torch.manual_seed(0)
    points = torch.randn(256, 8)
    model = SimCLRNet().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(60):
        idx = torch.randperm(256)[:32]
        x = points[idx].to(device)
        z_i, z_j = model(augment(x)), model(augment(x))
        loss = nt_xent_loss(z_i, z_j)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < np.mean(losses[:5]) - 0.5, losses[::10]
    assert losses[0] == pytest.approx(math.log(63), abs=0.6)  # near-uniform over 2N-1 candidates

    # the two views of a sample find each other among 64 embeddings
    model.eval()
    with torch.no_grad():
        x = points[:64].to(device)
        z_i = F.normalize(model(augment(x)), dim=1)
        z_j = F.normalize(model(augment(x)), dim=1)
        hits = (z_i @ z_j.t()).argmax(dim=1) == torch.arange(64, device=device)
    assert hits.float().mean().item() > 0.5  # chance is 1/64


def test_the_two_nt_xent_forms_agree(device):
    torch.manual_seed(0)
    z_i = torch.randn(6, 5, device=device, requires_grad=True)
    z_j = torch.randn(6, 5, device=device, requires_grad=True)
    a = nt_xent_loss(z_i, z_j, temperature=0.2)
    (ga,) = torch.autograd.grad(a, z_i)
    b = info_nce_loss(torch.cat([z_i, z_j], dim=0), batch_size=6, temperature=0.2)
    (gb,) = torch.autograd.grad(b, z_i)
    assert a.shape == () and b.shape == ()
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(ga, gb, atol=1e-5)


# ---- CLIP --------------------------------------------------------------------------------------
class TinyCLIP(nn.Module):
    def __init__(self, image_dim=12, vocab_size=24, width=32, embed_dim=16):
        super().__init__()
        self.visual = nn.Sequential(nn.Linear(image_dim, width), nn.GELU(), nn.Linear(width, embed_dim))
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, embed_dim))
        nn.init.normal_(self.text_projection, std=width ** -0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, text):
        x = self.ln_final(self.token_embedding(text).mean(dim=1))
        return x @ self.text_projection

    def forward(self, image, text):
        image_features = self.encode_image(image)
        text_features = self.encode_text(text)

        # normalized features
        image_features = image_features / image_features.norm(dim=1, keepdim=True)
        text_features = text_features / text_features.norm(dim=1, keepdim=True)

        # cosine similarity as logits
        logit_scale = self.logit_scale.exp()
        logits_per_image = logit_scale * image_features @ text_features.t()
        logits_per_text = logits_per_image.t()

        # shape = [global_batch_size, global_batch_size]
        return logits_per_image, logits_per_text


def clip_loss(logits_per_image, logits_per_text):
    labels = torch.arange(logits_per_image.shape[0], device=logits_per_image.device, dtype=torch.long)
    return (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)) / 2


N_CONCEPTS = 8


def clip_pairs(rng, n):
    """n (image, caption) pairs: concept c has a prototype image and owns tokens 3c..3c+2."""
    prototypes = np.random.default_rng(99).standard_normal((N_CONCEPTS, 12)).astype(np.float32)
    concepts = np.concatenate([rng.permutation(N_CONCEPTS) for _ in range(n // N_CONCEPTS)])
    images = prototypes[concepts] + 0.3 * rng.standard_normal((len(concepts), 12)).astype(np.float32)
    captions = 3 * concepts[:, None] + rng.integers(0, 3, size=(len(concepts), 4))
    return torch.from_numpy(images), torch.from_numpy(captions.astype(np.int64))


def test_clip_trains(device):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = TinyCLIP().to(device)
    assert model.logit_scale.shape == () and model.logit_scale.dtype == torch.float32
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in model.named_parameters() if n != "logit_scale"]},
        {"params": [model.logit_scale], "lr": 0.3, "weight_decay": 0.0},
    ], lr=3e-3, weight_decay=0.1)
    losses, scales = [], []
    for step in range(60):
        images, texts = clip_pairs(rng, N_CONCEPTS)  # a batch holds each concept once
        images, texts = images.to(device), texts.to(device)
        logits_per_image, logits_per_text = model(images, texts)
        loss = clip_loss(logits_per_image, logits_per_text)
        optimizer.zero_grad()
        loss.backward()
        assert model.logit_scale.grad.shape == ()
        optimizer.step()
        # clamp to 100 as in the CLIP paper
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
        scales.append(model.logit_scale.item())
    assert np.mean(losses[-5:]) < 0.1 * losses[0], losses[::10]
    assert max(scales) <= math.log(100) + 1e-6
    assert scales[-1] > math.log(1 / 0.07)  # the temperature sharpened as the pairs separated

    model.eval()
    with torch.no_grad():
        images, texts = clip_pairs(np.random.default_rng(1), 4 * N_CONCEPTS)
        logits_per_image, _ = model(images.to(device), texts.to(device))
        probs = logits_per_image.softmax(dim=-1)
    assert tuple(probs.shape) == (32, 32)
    assert torch.allclose(probs.sum(-1), torch.ones(32, device=device), atol=1e-5)
    # zero-shot style: the caption with the highest score is of the image's concept
    best = probs.argmax(dim=-1).cpu()
    concept_of = texts[:, 0] // 3
    assert (concept_of[best] == concept_of).float().mean().item() > 0.9


# ---- triplet margin ----------------------------------------------------------------------------
def test_triplet_embedding_trains(device):
    torch.manual_seed(0)
    centers = torch.randn(4, 8) * 2
    labels = torch.randint(0, 4, (512,))
    points = centers[labels] + torch.randn(512, 8)
    embed = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4)).to(device)
    criterion = nn.TripletMarginLoss(margin=1.0, p=2)
    optimizer = torch.optim.SGD(embed.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(60):
        a = torch.randint(0, 512, (64,))
        # a positive with the anchor's label, a negative with another label
        same = labels[None, :] == labels[a][:, None]
        p = torch.multinomial(same.float(), 1).squeeze(1)
        n = torch.multinomial((~same).float(), 1).squeeze(1)
        anchor, positive, negative = (embed(points[i].to(device)) for i in (a, p, n))
        loss = criterion(anchor, positive, negative)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.2 * losses[0], losses[::10]


# ---- the runs recorded under torch ------------------------------------------------------------
def _simclr_run(model, device):
    model.to(device)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((8, 8)).astype(np.float32)).to(device)
    views = [torch.from_numpy(rng.standard_normal((8, 8)).astype(np.float32) * 0.1).to(device) for _ in range(2)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    out = {}
    for step in range(3):
        z_i, z_j = model(x + views[0]), model(x + views[1])
        loss = nt_xent_loss(z_i, z_j, temperature=0.5)
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            out["info_nce0"] = np.float32(info_nce_loss(torch.cat([z_i, z_j]), 8).item())
            out["grad_projector"] = model.projector[2].weight.grad.cpu().numpy()
        out[f"loss{step}"] = np.float32(loss.item())
        optimizer.step()
    return out


def _clip_run(model, device):
    model.to(device)
    images, texts = clip_pairs(np.random.default_rng(0), N_CONCEPTS)
    images, texts = images.to(device), texts.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    out = {}
    for step in range(3):
        logits_per_image, logits_per_text = model(images, texts)
        loss = clip_loss(logits_per_image, logits_per_text)
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            out["logits_per_image0"] = logits_per_image.detach().cpu().numpy()
            out["grad_logit_scale"] = model.logit_scale.grad.cpu().numpy()
            out["grad_text_projection"] = model.text_projection.grad.cpu().numpy()
        out[f"loss{step}"] = np.float32(loss.item())
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        out[f"logit_scale{step}"] = np.float32(model.logit_scale.item())
    return out


def _triplet_run(model, device):
    model.to(device)
    rng = np.random.default_rng(0)
    a, p, n = (torch.from_numpy(rng.standard_normal((10, 8)).astype(np.float32)).to(device) for _ in range(3))
    out = {}
    for name, criterion in {
        "default": nn.TripletMarginLoss(),
        "p1_swap": nn.TripletMarginLoss(margin=0.5, p=1, swap=True),
        "none": nn.TripletMarginLoss(margin=2.0, reduction="none"),
    }.items():
        model.zero_grad()
        loss = criterion(model(a), model(p), model(n))
        loss.sum().backward()
        out[f"loss_{name}"] = loss.detach().cpu().numpy()
        out[f"grad_{name}"] = model[0].weight.grad.cpu().numpy()
    out["functional"] = np.float32(F.triplet_margin_loss(model(a), model(p), model(n), margin=1.5).item())
    return out


REFERENCE_RUNS = {
    "simclr": (SimCLRNet, _simclr_run),
    "clip": (TinyCLIP, _clip_run),
    "triplet": (lambda: nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)), _triplet_run),
}


@pytest.mark.parametrize("name", REFERENCE_RUNS)
def test_matches_torch(name, device):
    program_fixture.check_against_torch(name, device, REFERENCE_RUNS)
