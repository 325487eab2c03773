"""CLIP (open_clip names): state_dict against open_clip's ViT-B-32, numerical parity with a seeded
tiny open_clip CLIP (encode_image / encode_text, forward, the contrastive loss and its gradients,
QuickGELU), logit_scale init, zero-shot classifier weights against open_clip's
build_zero_shot_classifier, tokenizers, tower locking and parameter groups, loading an open_clip
model directory, features_only, wgpu, bad input.
Fixtures: tests/fixtures/gen/models/gen_mixer_clip.py (no PyTorch needed here)."""

import json
import math
import pathlib

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd.models import create_model, list_models, parameter_groups
from ferrograd.models import clip as C

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
TOL = dict(rtol=1e-4, atol=1e-4)
NAMES = json.loads((FIX / "clip_names.json").read_text())
CFG = NAMES["tiny_config"]  # embed 16; vision 16×16, patch 8, width 32, 2 layers; text ctx 16, vocab 259
WEIGHTS = FIX / "clip_tiny.safetensors"
TEXTS = ["a photo of a cat.", "dog", "", "A Very Long Sentence That Will Be Truncated Here"]
CLASSNAMES = ["cat", "dog", "car", "bird", "plane", "ship", "frog", "horse", "deer", "truck", "tree", "café"]
TEMPLATES = ["a photo of a {}.", "a drawing of a {}."]


@pytest.fixture(scope="module")
def ref():
    with np.load(FIX / "clip_tiny.npz") as z:
        return {k: z[k] for k in z.files}


def tiny(**kw):
    model = C.CLIP(**CFG, **kw)
    fg.models.load_pretrained(model, str(WEIGHTS))
    return model


def entries(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def contrastive_loss(img, txt, scale, device="cpu"):
    logits = scale * img @ txt.T
    labels = fg.arange(img.shape[0]).to(device)
    return logits, (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


# ---- names, shapes, init ------------------------------------------------------------------------

def test_vit_b32_state_dict_equals_open_clip():
    with fg.nn.init.no_init_weights():  # names and shapes only: skip the init
        model = create_model("clip_vit_b32")
    assert entries(model) == NAMES["ViT-B-32"]  # names, order and shapes
    assert "attn_mask" not in model.state_dict() and tuple(model.attn_mask.shape) == (77, 77)  # non-persistent
    assert sum(p.numel() for p in model.parameters()) == 151_277_313


def test_tiny_state_dict_and_registry():
    assert entries(C.CLIP(**CFG)) == NAMES["tiny"]
    assert {"clip_vit_b32", "clip_vit_b16", "clip_vit_l14", "clip_tiny"} <= set(list_models("clip*"))
    assert sum(p.numel() for p in create_model("clip_tiny").parameters()) == 234_433


def test_logit_scale_init():
    model = C.CLIP(**CFG)
    assert model.logit_scale.shape == ()
    assert model.logit_scale.item() == pytest.approx(NAMES["init_logit_scale"], abs=1e-6)
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07), abs=1e-6)
    assert model.logit_scale.exp().item() == pytest.approx(1 / 0.07, rel=1e-6)
    assert C.CLIP(**CFG, nonscalar_logit_scale=True).logit_scale.shape == (1,)
    assert model.attn_mask.numpy()[0, 1] == -np.inf and model.attn_mask.numpy()[1, 0] == 0


# ---- numerical parity with open_clip ----------------------------------------------------------

def test_tokenizer_gives_the_fixture_ids(ref):
    tok = C.CharTokenizer(context_length=16)
    ids = tok(TEXTS)
    np.testing.assert_array_equal(ids.numpy(), ref["text"])
    assert ids.numpy()[3, -1] == tok.eot_token_id  # truncated, <eot> kept last
    assert ids.numpy()[2, :3].tolist() == [257, 258, 0]
    assert tok.decode(ids[0]) == "a photo of a c" and tok.decode(ids[1]) == "dog"
    assert tok("Café", context_length=8).numpy().tolist() == [[257, 100, 98, 103, 196, 170, 258, 0]]
    np.testing.assert_array_equal(tok([t.format(c) for c in CLASSNAMES for t in TEMPLATES]).numpy(),
                                  ref["zs_token_ids"])


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_parity_with_open_clip(ref, mode):
    model = getattr(tiny(), mode)()
    image, text = fg.tensor(ref["image"]), fg.tensor(ref["text"])
    with fg.no_grad():
        np.testing.assert_allclose(model.encode_image(image).numpy(), ref["image_raw"], **TOL)
        np.testing.assert_allclose(model.encode_text(text).numpy(), ref["text_raw"], **TOL)
        np.testing.assert_allclose(model.encode_text(text, normalize=True).numpy(), ref["text_features"], **TOL)
    img, txt, scale = model(image, text)
    np.testing.assert_allclose(img.detach().numpy(), ref["image_features"], **TOL)
    np.testing.assert_allclose(txt.detach().numpy(), ref["text_features"], **TOL)
    np.testing.assert_allclose(scale.item(), ref["logit_scale_exp"], rtol=1e-6)
    logits, loss = contrastive_loss(img, txt, scale)
    np.testing.assert_allclose(logits.detach().numpy(), ref["logits_per_image"], **TOL)
    per_image, per_text = model.get_logits(image, text)
    np.testing.assert_allclose(per_text.detach().numpy(), ref["logits_per_image"].T, **TOL)
    np.testing.assert_allclose(loss.item(), ref["loss"], **TOL)
    loss.backward()
    params = dict(model.named_parameters())
    grads = [k for k in ref if k.startswith("grad:")]
    assert len(grads) == 12
    for k in grads:
        np.testing.assert_allclose(params[k[5:]].grad.numpy(), ref[k], err_msg=k, **TOL)


def test_quick_gelu_parity(ref):
    model = tiny(quick_gelu=True).eval()
    with fg.no_grad():
        img, txt, _ = model(fg.tensor(ref["image"]), fg.tensor(ref["text"]))
    np.testing.assert_allclose(img.numpy(), ref["quick_image_features"], **TOL)
    np.testing.assert_allclose(txt.numpy(), ref["quick_text_features"], **TOL)


def test_forward_variants(ref):
    model = tiny().eval()
    image, text = fg.tensor(ref["image"]), fg.tensor(ref["text"])
    with fg.no_grad():
        img, txt, _ = model(image=image)
        assert txt is None and tuple(img.shape) == (4, 16)
        np.testing.assert_allclose(model.forward_head(model.forward_features(image)).numpy(), ref["image_raw"], **TOL)
        # shorter token sequences use the first positions (open_clip always pads to context_length)
        short = C.CharTokenizer(context_length=8)(["dog"])
        np.testing.assert_allclose(model.encode_text(short).numpy(), ref["text_raw"][1:2], **TOL)
    out = C.CLIP(**CFG, output_dict=True, init_logit_bias=-10.0)(image, text)
    assert list(out) == ["image_features", "text_features", "logit_scale", "logit_bias"]
    assert out["logit_bias"].item() == -10.0
    assert len(C.CLIP(**CFG, init_logit_bias=-10.0)(image, text)) == 4


# ---- zero-shot ----------------------------------------------------------------------------------

def test_zero_shot_classifier_matches_open_clip(ref):
    model = tiny().eval()
    tok = C.CharTokenizer(context_length=16)
    w = C.zero_shot_classifier(model, tok, CLASSNAMES, TEMPLATES, num_classes_per_batch=5)
    assert tuple(w.shape) == (16, 12) and not w.requires_grad
    np.testing.assert_allclose(w.numpy(), ref["zs_weights"], **TOL)
    np.testing.assert_allclose(np.linalg.norm(w.numpy(), axis=0), 1.0, rtol=1e-5)
    w_all = C.zero_shot_classifier(model, tok, CLASSNAMES, [lambda c: f"a photo of a {c}.", TEMPLATES[1]],
                                   num_classes_per_batch=None)
    np.testing.assert_allclose(w_all.numpy(), ref["zs_weights"], **TOL)
    w1 = C.zero_shot_classifier(model, tok, CLASSNAMES)  # default template "a photo of a {}."
    np.testing.assert_allclose(w1.numpy(), ref["zs_weights_one_template"], **TOL)
    if hasattr(fg.models, "zero_shot_classifier"):
        assert fg.models.zero_shot_classifier is C.zero_shot_classifier
    # zero-shot logits: normalised image features against the class weights
    logits = model.encode_image(fg.tensor(ref["image"]), normalize=True) @ w
    assert tuple(logits.shape) == (4, 12)


def test_zero_shot_accepts_any_tokenizer(ref):
    """token ids as a numpy array or nested lists work as well as a Tensor."""
    model = tiny().eval()
    tok = C.CharTokenizer(context_length=16)
    for as_what in (lambda t: tok(t).numpy(), lambda t: tok(t).numpy().tolist()):
        w = C.zero_shot_classifier(model, as_what, CLASSNAMES, TEMPLATES)
        np.testing.assert_allclose(w.numpy(), ref["zs_weights"], **TOL)


def test_hf_tokenizer(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers, processors

    vocab = {"<pad>": 0, "a": 1, "photo": 2, "of": 3, "cat": 4, "<unk>": 5, "<|startoftext|>": 6, "<|endoftext|>": 7}
    tk = tokenizers.Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>", special_tokens=[("<|startoftext|>", 6), ("<|endoftext|>", 7)])
    tk.save(str(tmp_path / "tokenizer.json"))
    tok = C.HFTokenizer(str(tmp_path), context_length=6)
    assert tok(["a photo of cat", "cat dog"]).numpy().tolist() == [[6, 1, 2, 3, 4, 7], [6, 4, 5, 7, 0, 0]]
    assert tok("a photo of a cat").numpy().tolist() == [[6, 1, 2, 3, 1, 7]]  # truncated, <eot> last
    with pytest.raises(FileNotFoundError, match="HFTokenizer"):
        C.HFTokenizer(str(tmp_path / "missing"))


# ---- locking, groups, loading -------------------------------------------------------------------

def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_lock_towers_as_open_clip():
    model = C.CLIP(**CFG)
    model.lock_image_tower(unlocked_groups=0)
    assert not any(n.startswith("visual.") for n in trainable(model))
    assert "token_embedding.weight" in trainable(model) and "logit_scale" in trainable(model)
    model.lock_image_tower(unlocked_groups=1)
    assert {n for n in trainable(model) if n.startswith("visual.")} == {"visual.proj"}
    model.lock_image_tower(unlocked_groups=2)
    vis = {n for n in trainable(model) if n.startswith("visual.")}
    assert vis == {"visual.proj", "visual.ln_post.weight", "visual.ln_post.bias"} | {
        n for n, _ in model.named_parameters() if n.startswith("visual.transformer.resblocks.1.")}
    model = C.CLIP(**CFG)
    model.lock_text_tower(unlocked_layers=1)
    text = {n for n in trainable(model) if not n.startswith("visual.")}
    assert text == {"text_projection", "logit_scale"}
    with pytest.raises(ValueError, match="unlocked_groups"):
        model.lock_image_tower(unlocked_groups=-1)


def test_layer_groups_and_freeze():
    model = C.CLIP(**CFG)
    assert [n for n, _ in model.layer_groups()] == ["embeddings", "blocks.0", "blocks.1", "head"]
    groups = parameter_groups(model)
    assert sum(len(p) for _, p in groups) == len(list(model.parameters()))
    fg.nn.utils.freeze(model, unlocked_groups=1)
    assert trainable(model) == {"visual.proj", "visual.ln_post.weight", "visual.ln_post.bias", "ln_final.weight",
                                "ln_final.bias", "text_projection", "logit_scale"}
    assert [n for n, _ in model.visual.layer_groups()] == ["embed", "resblocks.0", "resblocks.1", "proj"]


def test_load_open_clip_directory(ref, tmp_path):
    """An open_clip hub directory: open_clip_config.json (model_cfg) + open_clip_model.safetensors;
    an old checkpoint's attn_mask entry is dropped on load."""
    from safetensors.numpy import load_file, save_file

    sd = load_file(str(WEIGHTS))
    sd["attn_mask"] = np.triu(np.full((16, 16), -np.inf, np.float32), 1)
    save_file(sd, str(tmp_path / "open_clip_model.safetensors"))
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": CFG, "preprocess_cfg": {}}))
    model = create_model("clip_tiny", pretrained=str(tmp_path)).eval()
    assert model.text_cfg["context_length"] == 16 and model.embed_dim == 16
    with fg.no_grad():
        img, txt, _ = model(fg.tensor(ref["image"]), fg.tensor(ref["text"]))
    np.testing.assert_allclose(img.numpy(), ref["image_features"], **TOL)
    np.testing.assert_allclose(txt.numpy(), ref["text_features"], **TOL)


def test_features_only(ref):
    model = create_model("clip_tiny", pretrained=str(WEIGHTS), features_only=True, embed_dim=16,
                         vision_cfg=CFG["vision_cfg"], text_cfg=CFG["text_cfg"])
    assert model.feature_info.channels() == [32, 32] and model.feature_info.reduction() == [8, 8]
    image = fg.tensor(ref["image"])
    with fg.no_grad():
        maps = model(image)
    assert [tuple(m.shape) for m in maps] == [(4, 32, 2, 2)] * 2
    with fg.no_grad():
        tokens = tiny().visual.forward_features(image)
    np.testing.assert_allclose(maps[1].numpy(), tokens.numpy()[:, 1:].reshape(4, 2, 2, 32).transpose(0, 3, 1, 2),
                               **TOL)


def test_clip_tiny_trains():
    fg.manual_seed(0)
    model = create_model("clip_tiny")
    tok = C.CharTokenizer(context_length=32)
    image, text = fg.randn(3, 3, 32, 32), tok(["a red square", "a blue circle", "a green line"])
    opt = fg.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        _, loss = contrastive_loss(*model(image, text))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < 0.1 * losses[0]  # three pairs memorised


# ---- bad input ----------------------------------------------------------------------------------

def test_bad_input_and_config(ref):
    model = C.CLIP(**CFG)
    with pytest.raises(ValueError, match=r"encode_image.*\(N, 3, 16, 16\).*\(2, 3, 32, 32\)"):
        model.encode_image(fg.randn(2, 3, 32, 32))
    with pytest.raises(TypeError, match="encode_image: image must be a Tensor"):
        model.encode_image(np.zeros((2, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match="context_length 16"):
        model.encode_text(fg.tensor(np.zeros((2, 20), np.int64)))
    with pytest.raises(TypeError, match="integer token ids"):
        model.encode_text(fg.randn(2, 16))
    with pytest.raises(TypeError, match="encode_text: text must be token ids"):
        model.encode_text("a photo of a cat")
    with pytest.raises(ValueError, match="num_classes does not apply"):
        create_model("clip_tiny", num_classes=10)
    with pytest.raises(ValueError, match="timm_model_name"):
        C.CLIP(16, dict(CFG["vision_cfg"], timm_model_name="vit_tiny"), CFG["text_cfg"])
    with pytest.raises(ValueError, match="ModifiedResNet"):
        C.CLIP(16, dict(CFG["vision_cfg"], layers=[1, 1, 1, 1]), CFG["text_cfg"])
    with pytest.raises(ValueError, match="unknown text_cfg keys"):
        C.CLIP(16, CFG["vision_cfg"], dict(CFG["text_cfg"], widht=32))
    with pytest.raises(ValueError, match="heads 3 must divide width 32"):
        C.CLIP(16, CFG["vision_cfg"], dict(CFG["text_cfg"], heads=3))
    with pytest.raises(ValueError, match="embed_dim"):
        C.CLIP(0, CFG["vision_cfg"], CFG["text_cfg"])
    tok = C.CharTokenizer(16)
    with pytest.raises(ValueError, match="classnames"):
        C.zero_shot_classifier(model, tok, [])
    with pytest.raises(ValueError, match="template"):
        C.zero_shot_classifier(model, tok, ["cat"], ["no placeholder"])
    with pytest.raises(TypeError, match="tokenizer must be callable"):
        C.zero_shot_classifier(model, None, ["cat"])
    with pytest.raises(ValueError, match="CharTokenizer: context_length"):
        C.CharTokenizer(context_length=1)


# ---- wgpu ---------------------------------------------------------------------------------------

def test_wgpu_matches_cpu(ref):
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    results = {}
    for device in ("cpu", "wgpu"):
        model = tiny().to(device)
        img, txt, scale = model(fg.tensor(ref["image"], device=device), fg.tensor(ref["text"]))
        _, loss = contrastive_loss(img, txt, scale, device)
        loss.backward()
        w = C.zero_shot_classifier(model, C.CharTokenizer(16), CLASSNAMES[:3])
        results[device] = [img.detach().numpy(), txt.detach().numpy(), loss.detach().numpy(), w.numpy(),
                           model.visual.conv1.weight.grad.numpy(), model.token_embedding.weight.grad.numpy(),
                           model.logit_scale.grad.numpy()]
    assert model.visual.proj.device.type == "wgpu" and model.attn_mask.device.type == "wgpu"
    np.testing.assert_allclose(results["wgpu"][0], ref["image_features"], **TOL)
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, **TOL)
