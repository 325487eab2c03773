"""A Transformer-encoder sequence classifier: nn.TransformerEncoder over padded token batches with
src_key_padding_mask, the PyTorch tutorial's sinusoidal PositionalEncoding buffer, masked mean
pooling, a warm-up LambdaLR, and evaluation under torch.no_grad in eval mode."""

import math
import sys

import numpy as np
import pytest

import ferrograd as torch
from ferrograd import nn
from ferrograd.utils.data import DataLoader, Dataset

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import program_fixture  # noqa: E402

PAD = 0
VOCAB = 10
MAX_LEN = 12


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)

        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        """x: Tensor, shape [batch_size, seq_len, embedding_dim] (batch_first)"""
        x = x + self.pe[: x.size(1)].transpose(0, 1)
        return self.dropout(x)


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size, d_model=32, nhead=4, num_layers=2, dim_feedforward=64, num_classes=2,
                 dropout=0.1):
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.pos_encoder = PositionalEncoding(d_model, dropout, max_len=MAX_LEN)
        encoder_layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        self.transformer_encoder = nn.TransformerEncoder(encoder_layer, num_layers)
        self.classifier = nn.Linear(d_model, num_classes)

    def forward(self, src, src_key_padding_mask):
        # src: (B, T) token ids; src_key_padding_mask: (B, T), True where padded
        x = self.embedding(src) * math.sqrt(self.d_model)
        x = self.pos_encoder(x)
        x = self.transformer_encoder(x, src_key_padding_mask=src_key_padding_mask)  # (B, T, d_model)
        keep = (~src_key_padding_mask).unsqueeze(-1).type_as(x)  # (B, T, 1)
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.classifier(pooled)


class CountDataset(Dataset):
    """Sequences of 2..12 tokens from 1..9; label 1 when token 7 occurs more often than token 3."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.items = []
        while len(self.items) < n:
            seq = rng.integers(1, VOCAB, size=rng.integers(2, MAX_LEN + 1))
            a, b = (seq == 7).sum(), (seq == 3).sum()
            if a != b:
                self.items.append((seq.tolist(), int(a > b)))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        seq, label = self.items[i]
        return torch.tensor(seq), torch.tensor(label)


def collate(batch):
    seqs, labels = zip(*batch)
    src = nn.utils.rnn.pad_sequence(list(seqs), batch_first=True, padding_value=PAD)
    return src, src == PAD, torch.stack(labels)


def test_train_classifier(device):
    torch.manual_seed(0)
    loader = DataLoader(CountDataset(384, seed=0), batch_size=32, shuffle=True, collate_fn=collate, drop_last=True)
    model = TransformerClassifier(VOCAB).to(device)
    assert len(model.transformer_encoder.layers) == 2
    assert model.transformer_encoder.layers[0] is not model.transformer_encoder.layers[1]  # deep copies
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    warmup = 10
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    criterion = nn.CrossEntropyLoss()
    losses = []
    for epoch in range(4):
        model.train()
        for src, pad_mask, labels in loader:
            src, pad_mask, labels = src.to(device), pad_mask.to(device), labels.to(device)
            logits = model(src, pad_mask)
            loss = criterion(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-3)
    assert np.mean(losses[-10:]) < 0.2 * np.mean(losses[:10]), losses[::16]

    model.eval()
    test_set = CountDataset(256, seed=1)
    correct = 0
    with torch.no_grad():
        for src, pad_mask, labels in DataLoader(test_set, batch_size=64, collate_fn=collate):
            logits = model(src.to(device), pad_mask.to(device))
            correct += (logits.argmax(-1).cpu() == labels).sum().item()
    assert correct / len(test_set) > 0.9


def test_padding_does_not_change_predictions(device):
    """Extra padding, masked out, leaves each sequence's logits unchanged (in eval mode)."""
    torch.manual_seed(0)
    model = TransformerClassifier(VOCAB).to(device).eval()
    seqs = [torch.tensor([1, 7, 7, 3]), torch.tensor([5, 2])]
    src = nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    wide = torch.cat([src, torch.zeros(2, 5, dtype=torch.long)], dim=1)
    with torch.no_grad():
        a = model(src.to(device), (src == PAD).to(device))
        b = model(wide.to(device), (wide == PAD).to(device))
        c = model(seqs[1][None].to(device), torch.zeros(1, 2, dtype=torch.bool, device=device))
    assert a.shape == (2, 2)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(a[1], c[0], atol=1e-5)


# ---- the run recorded under torch: dropout 0, so train mode is deterministic --------------------
def deterministic_run(model, device):
    model.to(device)
    data = CountDataset(6, seed=2)
    src, pad_mask, labels = collate([data[i] for i in range(len(data))])
    src, pad_mask, labels = src.to(device), pad_mask.to(device), labels.to(device)
    out = {"pe": model.pos_encoder.pe.cpu().numpy()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for step in range(3):
        logits = model(src, pad_mask)
        loss = nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            out["logits0"] = logits.detach().cpu().numpy()
            out["grad_embedding"] = model.embedding.weight.grad.cpu().numpy()
            layer = model.transformer_encoder.layers[0]
            out["grad_in_proj"] = layer.self_attn.in_proj_weight.grad.cpu().numpy()
            out["grad_linear2"] = layer.linear2.weight.grad.cpu().numpy()
        out[f"loss{step}"] = np.float32(loss.item())
        optimizer.step()
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(src, pad_mask).cpu().numpy()
    return out


REFERENCE_RUNS = {"transformer_classifier": (lambda: TransformerClassifier(VOCAB, dropout=0.0), deterministic_run)}


@pytest.mark.parametrize("name", REFERENCE_RUNS)
def test_matches_torch(name, device):
    program_fixture.check_against_torch(name, device, REFERENCE_RUNS)
