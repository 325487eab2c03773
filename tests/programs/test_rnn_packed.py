"""LSTM and GRU text classifiers over variable-length sequences, the way the PyTorch tutorials do it:
a Dataset of token lists, a collate_fn with nn.utils.rnn.pad_sequence, Embedding(padding_idx=0),
pack_padded_sequence(enforce_sorted=False) into the RNN, pad_packed_sequence back out."""

import sys

import numpy as np
import pytest

import ferrograd as torch
import ferrograd.nn as nn
from ferrograd.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from ferrograd.utils.data import DataLoader, Dataset

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import program_fixture  # noqa: E402

PAD_IDX = 0
VOCAB = 12


class RNNClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, num_classes, rnn_type="lstm",
                 num_layers=1, bidirectional=False):
        super().__init__()
        self.rnn_type = rnn_type
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_IDX)
        rnn_cls = nn.LSTM if rnn_type == "lstm" else nn.GRU
        self.rnn = rnn_cls(embedding_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                           bidirectional=bidirectional)
        directions = 2 if bidirectional else 1
        self.fc = nn.Linear(hidden_dim * directions, num_classes)
        self.bidirectional = bidirectional

    def forward(self, text, text_lengths):
        # text: (batch, max_len), text_lengths: (batch,) on the cpu
        embedded = self.embedding(text)
        packed_embedded = pack_padded_sequence(embedded, text_lengths.cpu(), batch_first=True,
                                               enforce_sorted=False)
        if self.rnn_type == "lstm":
            packed_output, (hidden, cell) = self.rnn(packed_embedded)
        else:
            packed_output, hidden = self.rnn(packed_embedded)
        output, output_lengths = pad_packed_sequence(packed_output, batch_first=True)
        # hidden: (num_layers * num_directions, batch, hidden_dim), in the caller's batch order
        if self.bidirectional:
            hidden = torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)
        else:
            hidden = hidden[-1]
        return self.fc(hidden), output, output_lengths


class SequenceDataset(Dataset):
    """Token sequences of length 1..7 over tokens 1..11; the label says whether the last real token
    is high (> 6): a model that reads padding as input, or the wrong end, gets it wrong."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.seqs = [rng.integers(1, VOCAB, size=rng.integers(1, 8)).tolist() for _ in range(n)]
        self.labels = [int(s[-1] > 6) for s in self.seqs]

    def __len__(self):
        return len(self.seqs)

    def __getitem__(self, idx):
        return torch.tensor(self.seqs[idx], dtype=torch.long), self.labels[idx]


def collate_batch(batch):
    sequences, labels = zip(*batch)
    lengths = torch.tensor([len(seq) for seq in sequences])
    padded = pad_sequence(sequences, batch_first=True, padding_value=PAD_IDX)
    return padded, lengths, torch.tensor(labels)


CONFIGS = {
    "lstm": dict(rnn_type="lstm", bidirectional=True),
    "gru": dict(rnn_type="gru", num_layers=2),
}


@pytest.mark.parametrize("kind", CONFIGS)
def test_train_classifier(kind, device):
    torch.manual_seed(0)
    train_loader = DataLoader(SequenceDataset(256, seed=0), batch_size=32, shuffle=True, collate_fn=collate_batch)
    test_loader = DataLoader(SequenceDataset(128, seed=1), batch_size=64, collate_fn=collate_batch)
    model = RNNClassifier(VOCAB, 8, 16, 2, **CONFIGS[kind]).to(device)
    assert model.embedding.weight[PAD_IDX].abs().sum().item() == 0  # padding row starts at zero
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.CrossEntropyLoss()

    epoch_losses = []
    for epoch in range(6):
        model.train()
        total = 0.0
        for text, lengths, labels in train_loader:
            text, labels = text.to(device), labels.to(device)
            optimizer.zero_grad()
            logits, _, _ = model(text, lengths)
            loss = criterion(logits, labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            total += loss.item()
        epoch_losses.append(total / len(train_loader))
    assert epoch_losses[-1] < 0.5 * epoch_losses[0], epoch_losses

    model.eval()
    correct = 0
    with torch.no_grad():
        for text, lengths, labels in test_loader:
            logits, output, output_lengths = model(text.to(device), lengths)
            correct += (logits.argmax(dim=1) == labels.to(device)).sum().item()
            directions = 2 if kind == "lstm" else 1
            assert tuple(output.shape) == (text.size(0), int(lengths.max()), 16 * directions)
            assert torch.equal(output_lengths.cpu(), lengths)
            # positions past each sequence's length are padded with zeros
            pad = (torch.arange(output.size(1))[None, :] >= lengths[:, None]).to(device)
            assert output[pad].abs().sum().item() == 0
    assert correct / len(test_loader.dataset) > 0.9
    # padding_idx: the padding row never receives a gradient, so Adam never moves it
    assert model.embedding.weight[PAD_IDX].abs().sum().item() == 0


def test_pack_pad_roundtrip(device):
    seqs = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0, 5.0, 6.0]), torch.tensor([7.0])]
    padded = pad_sequence(seqs, batch_first=True)
    assert padded.tolist() == [[1, 2, 0, 0], [3, 4, 5, 6], [7, 0, 0, 0]]
    assert tuple(pad_sequence(seqs).shape) == (4, 3)  # time-major by default
    lengths = torch.tensor([2, 4, 1])
    packed = pack_padded_sequence(padded.to(device).unsqueeze(-1), lengths, batch_first=True, enforce_sorted=False)
    assert packed.data.squeeze(-1).tolist() == [3, 1, 7, 4, 2, 5, 6]
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1]
    assert packed.sorted_indices.tolist() == [1, 0, 2]
    assert packed.unsorted_indices.tolist() == [1, 0, 2]
    out, out_lengths = pad_packed_sequence(packed, batch_first=True, padding_value=-1.0)
    assert out.squeeze(-1).tolist() == [[1, 2, -1, -1], [3, 4, 5, 6], [7, -1, -1, -1]]
    assert out_lengths.tolist() == [2, 4, 1]
    out, _ = pad_packed_sequence(packed, batch_first=True, total_length=6)
    assert tuple(out.shape) == (3, 6, 1)
    with pytest.raises(RuntimeError):  # lengths must be sorted unless enforce_sorted=False
        pack_padded_sequence(padded.unsqueeze(-1), lengths, batch_first=True)


# ---- the runs recorded under torch ------------------------------------------------------------
def deterministic_run(model, device):
    model.to(device)
    data = SequenceDataset(6, seed=4)
    text, lengths, labels = collate_batch([data[i] for i in range(len(data))])
    text, labels = text.to(device), labels.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    out = {"lengths": lengths.numpy()}
    for step in range(3):
        optimizer.zero_grad()
        logits, output, _ = model(text, lengths)
        loss = nn.functional.cross_entropy(logits, labels)
        loss.backward()
        if step == 0:
            out["logits0"] = logits.detach().cpu().numpy()
            out["output0"] = output.detach().cpu().numpy()
            out["grad_embedding"] = model.embedding.weight.grad.cpu().numpy()
            out["grad_weight_hh_l0"] = model.rnn.weight_hh_l0.grad.cpu().numpy()
        out[f"loss{step}"] = np.float32(loss.item())
        optimizer.step()
    return out


REFERENCE_RUNS = {
    f"rnn_{kind}": (lambda kind=kind: RNNClassifier(VOCAB, 8, 16, 2, **CONFIGS[kind]), deterministic_run)
    for kind in CONFIGS
}


@pytest.mark.parametrize("name", REFERENCE_RUNS)
def test_matches_torch(name, device):
    program_fixture.check_against_torch(name, device, REFERENCE_RUNS)
