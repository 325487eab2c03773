"""A nanoGPT-style decoder (Karpathy's model.py, shrunk): token + position embeddings, causal
self-attention masked with a registered tril buffer, GELU MLP, LayerNorm, weight tying, AdamW with
decay / no-decay parameter groups, clip_grad_norm_, a checkpoint, and generate() with top-k
sampling through torch.multinomial."""

import inspect
import math
import sys
from dataclasses import asdict, dataclass

import numpy as np
import pytest

import ferrograd as torch
import ferrograd.nn as nn
from ferrograd.nn import functional as F

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import program_fixture  # noqa: E402


class LayerNorm(nn.Module):
    """LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False"""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        # regularization
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        # causal mask to ensure that attention is only applied to the left in the input sequence
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                             .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)

        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)

        # manual implementation of attention
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs side by side

        # output projection
        y = self.resid_dropout(self.c_proj(y))
        return y


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        x = self.dropout(x)
        return x


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


@dataclass
class GPTConfig:
    block_size: int = 8
    vocab_size: int = 16
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 16
    dropout: float = 0.0
    bias: bool = True


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None
        assert config.block_size is not None
        self.config = config

        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # with weight tying when using torch.compile() some warnings get generated:
        self.transformer.wte.weight = self.lm_head.weight  # https://paperswithcode.com/method/weight-tying

        # init all weights
        self.apply(self._init_weights)
        # apply special scaled init to the residual projections, per GPT-2 paper
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def get_num_params(self, non_embedding=True):
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size, f"Cannot forward sequence of length {t}, block size is only {self.config.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device)  # shape (t)

        # forward the GPT model itself
        tok_emb = self.transformer.wte(idx)  # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos)  # position embeddings of shape (t, n_embd)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)

        if targets is not None:
            # if we are given some desired targets also calculate the loss
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            # inference-time mini-optimization: only forward the lm_head on the very last position
            logits = self.lm_head(x[:, [-1], :])  # note: using list [-1] to preserve the time dim
            loss = None

        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        # start with all of the candidate parameters
        param_dict = {pn: p for pn, p in self.named_parameters()}
        # filter out those that do not require grad
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
        # create optim groups. Any parameters that is 2D will be weight decayed, otherwise no.
        # i.e. all weight tensors in matmuls + embeddings decay, all biases and layernorms don't.
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {"params": decay_params, "weight_decay": weight_decay},
            {"params": nodecay_params, "weight_decay": 0.0},
        ]
        num_decay_params = sum(p.numel() for p in decay_params)
        num_nodecay_params = sum(p.numel() for p in nodecay_params)
        self.num_decay_params, self.num_nodecay_params = num_decay_params, num_nodecay_params
        # Create AdamW optimizer and use the fused version if it is available
        fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == "cuda"
        extra_args = dict(fused=True) if use_fused else dict()
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
        return optimizer

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            # if the sequence context is growing too long we must crop it at block_size
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            # forward the model to get the logits for the index in the sequence
            logits, _ = self(idx_cond)
            # pluck the logits at the final step and scale by desired temperature
            logits = logits[:, -1, :] / temperature
            # optionally crop the logits to only the top k options
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
            # apply softmax to convert logits to (normalized) probabilities
            probs = F.softmax(logits, dim=-1)
            # sample from the distribution
            idx_next = torch.multinomial(probs, num_samples=1)
            # append sampled index to the running sequence and continue
            idx = torch.cat((idx, idx_next), dim=1)

        return idx


# ---- data: a cyclic token stream, sampled like nanoGPT's get_batch from a numpy array ----------
CYCLE = np.array([1, 5, 2, 7, 3, 9, 4, 11, 6, 13], dtype=np.uint16)
train_data = np.tile(CYCLE, 40)


def get_batch(batch_size, block_size, device):
    data = train_data
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([torch.from_numpy((data[i:i + block_size]).astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + block_size]).astype(np.int64)) for i in ix])
    x, y = x.to(device), y.to(device)
    return x, y


@torch.no_grad()
def estimate_loss(model, device, eval_iters=4):
    model.eval()
    losses = torch.zeros(eval_iters)
    for k in range(eval_iters):
        X, Y = get_batch(8, model.config.block_size, device)
        logits, loss = model(X, Y)
        losses[k] = loss.item()
    model.train()
    return losses.mean()


def train(model, device, max_iters, learning_rate=1e-2):
    optimizer = model.configure_optimizers(0.1, learning_rate, (0.9, 0.95), device)
    losses = []
    for it in range(max_iters):
        X, Y = get_batch(8, model.config.block_size, device)
        logits, loss = model(X, Y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return optimizer, losses


# ---- the run recorded under torch: same weights, same batches, no dropout -----------------------
def make_model():
    return GPT(GPTConfig())


def deterministic_run(model, device):
    model.to(device)
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(train_data) - 9, size=(3, 4))
    out = {}
    optimizer = model.configure_optimizers(0.1, 3e-3, (0.9, 0.95), device)
    for step, ix in enumerate(starts):
        X = torch.tensor(np.stack([train_data[i:i + 8] for i in ix]).astype(np.int64)).to(device)
        Y = torch.tensor(np.stack([train_data[i + 1:i + 9] for i in ix]).astype(np.int64)).to(device)
        logits, loss = model(X, Y)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        if step == 0:
            out["logits0"] = logits.detach().cpu().numpy()
            out["grad_wte0"] = model.transformer.wte.weight.grad.cpu().numpy()
            out["grad_ln_f_weight0"] = model.transformer.ln_f.weight.grad.cpu().numpy()
        out[f"loss{step}"] = np.float32(loss.item())
        out[f"grad_norm{step}"] = np.float32(norm.item())
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()
    with torch.no_grad():
        logits, loss = model(X)
    out["last_logits"] = logits.cpu().numpy()
    out["wpe_after"] = model.transformer.wpe.weight.detach().cpu().numpy()
    return out


REFERENCE_RUNS = {"nanogpt": (make_model, deterministic_run)}


# ---- tests -------------------------------------------------------------------------------------
def test_weight_tying_and_param_groups():
    torch.manual_seed(0)
    model = make_model()
    assert model.lm_head.weight is model.transformer.wte.weight
    cfg = model.config
    # the tied matrix counts once
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names and "transformer.wte.weight" in names
    per_block = (3 * 16 * 16 + 3 * 16) + (16 * 16 + 16) + 2 * (2 * 16) + (4 * 16 * 16 + 4 * 16) + (4 * 16 * 16 + 16)
    total = cfg.vocab_size * 16 + cfg.block_size * 16 + cfg.n_layer * per_block + 2 * 16
    assert sum(p.numel() for p in model.parameters()) == total
    assert model.get_num_params() == total - cfg.block_size * 16
    # the mask is a buffer: in the state dict, not a parameter
    sd = model.state_dict()
    assert "transformer.h.0.attn.bias" in sd and "transformer.h.0.attn.bias" not in names
    assert tuple(sd["transformer.h.0.attn.bias"].shape) == (1, 1, 8, 8)
    assert "lm_head.weight" in sd  # torch keeps both names of a tied weight in the state dict
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")
    assert len(optimizer.param_groups) == 2
    assert optimizer.param_groups[0]["weight_decay"] == 0.1 and optimizer.param_groups[1]["weight_decay"] == 0.0
    assert optimizer.param_groups[0]["lr"] == 1e-3 and optimizer.param_groups[0]["betas"] == (0.9, 0.95)
    assert model.num_decay_params + model.num_nodecay_params == total
    # residual projections got the scaled init
    std = model.transformer.h[0].mlp.c_proj.weight.std().item()
    assert 0.5 * 0.02 / math.sqrt(4) < std < 1.5 * 0.02 / math.sqrt(4)


def test_train_generate_checkpoint(device, tmp_path):
    torch.manual_seed(1337)
    model = make_model().to(device)
    before = estimate_loss(model, device).item()
    assert abs(before - math.log(16)) < 0.3  # small init: near-uniform predictions
    optimizer, losses = train(model, device, max_iters=60)
    after = estimate_loss(model, device).item()
    assert after < 0.1 * before, (before, after, losses[::10])
    assert model.training

    # greedy decoding (top_k=1) continues the cycle the model was trained on
    start = torch.tensor([[1, 5, 2]], dtype=torch.long, device=device)
    out = model.generate(start, max_new_tokens=10, top_k=1)
    assert tuple(out.shape) == (1, 13) and out.dtype == torch.long
    expected = np.tile(CYCLE, 3)[:13]
    assert out[0].tolist() == expected.tolist(), out
    # sampling with temperature and top_k stays inside the vocabulary and is seed-reproducible
    torch.manual_seed(7)
    a = model.generate(start, max_new_tokens=12, temperature=0.8, top_k=5)
    torch.manual_seed(7)
    b = model.generate(start, max_new_tokens=12, temperature=0.8, top_k=5)
    assert tuple(a.shape) == (1, 15)  # 15 > block_size: the context was cropped
    assert torch.equal(a, b)
    assert int(a.min()) >= 0 and int(a.max()) < 16

    # checkpoint as nanoGPT's train.py writes it, reloaded into a fresh model
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "model_args": asdict(model.config),
        "iter_num": 60,
        "best_val_loss": after,
    }
    ckpt_path = tmp_path / "ckpt.pt"
    torch.save(checkpoint, ckpt_path)
    checkpoint = torch.load(ckpt_path, map_location=device)
    model2 = GPT(GPTConfig(**checkpoint["model_args"]))
    model2.load_state_dict(checkpoint["model"])
    model2.to(device)
    optimizer2 = model2.configure_optimizers(0.1, 1e-2, (0.9, 0.95), device)
    optimizer2.load_state_dict(checkpoint["optimizer"])
    assert checkpoint["iter_num"] == 60
    model.eval()
    model2.eval()
    X, Y = get_batch(4, 8, device)
    with torch.no_grad():
        l1, loss1 = model(X, Y)
        l2, loss2 = model2(X, Y)
    assert torch.allclose(l1, l2, atol=1e-6)
    assert model2.lm_head.weight is model2.transformer.wte.weight  # tying survives loading
    # training resumes from the restored optimizer state
    model2.train()
    _, loss = model2(X, Y)
    loss.backward()
    optimizer2.step()
    assert optimizer2.state_dict()["state"][0]["step"] == 61


@pytest.mark.parametrize("name", REFERENCE_RUNS)
def test_matches_torch(name, device):
    program_fixture.check_against_torch(name, device, REFERENCE_RUNS)
