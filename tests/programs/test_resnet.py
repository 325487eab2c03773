"""A small ResNet (torchvision's BasicBlock design): train on tiny images with a DataLoader, SGD with
momentum and StepLR, checkpoint with torch.save / torch.load, reload, then fine-tune on a new task
with the backbone frozen by requires_grad_(False), a replaced fc, an optimizer over
filter(lambda p: p.requires_grad, ...) and CosineAnnealingLR."""

import math
import sys

import numpy as np
import pytest

import ferrograd as torch
import ferrograd.nn as nn
import ferrograd.nn.functional as F
from ferrograd.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import program_fixture  # noqa: E402


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)

        return out


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=2, width=8):
        super().__init__()
        self.inplanes = width
        # CIFAR-style stem: small images, so a 3x3 conv and no max pool
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, 2 * width, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2 * width * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )

        layers = []
        layers.append(block(self.inplanes, planes, stride, downsample))
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))

        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)

        x = self.layer1(x)
        x = self.layer2(x)

        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)

        return x


def make_images(n, num_classes, seed):
    """Class c lights up quadrant c of an 8x8 image in channel c % 3, on top of noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=n)
    images = 0.3 * rng.standard_normal((n, 3, 8, 8)).astype(np.float32)
    for i, c in enumerate(labels):
        r, q = divmod(int(c), 2)
        images[i, c % 3, 4 * r:4 * r + 4, 4 * q:4 * q + 4] += 1.0
    return torch.from_numpy(images), torch.from_numpy(labels)  # int64 labels, as torch wants


def train_one_epoch(model, loader, criterion, optimizer, device):
    model.train()
    running_loss = 0.0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
    return running_loss / len(loader.dataset)


def evaluate(model, loader, device):
    model.eval()
    correct = 0
    total = 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
    return correct / total


def test_train_checkpoint_finetune(device, tmp_path):
    torch.manual_seed(0)
    x, y = make_images(96, 2, seed=0)
    train_loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    test_loader = DataLoader(TensorDataset(*make_images(64, 2, seed=1)), batch_size=32)

    model = ResNet(BasicBlock, [1, 1], num_classes=2).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    lrs, losses = [], []
    for epoch in range(4):
        lrs.append(scheduler.get_last_lr()[0])
        losses.append(train_one_epoch(model, train_loader, criterion, optimizer, device))
        scheduler.step()
    assert lrs == pytest.approx([0.05, 0.05, 0.025, 0.025])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)
    assert losses[-1] < 0.5 * losses[0], losses
    assert evaluate(model, test_loader, device) >= 0.9

    # batch norm kept running statistics, under torch's names
    sd = model.state_dict()
    assert {"bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
            "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var"} <= set(sd)
    assert sd["bn1.num_batches_tracked"].item() == 4 * 6
    assert not torch.allclose(sd["bn1.running_var"].cpu(), torch.ones(8))

    path = tmp_path / "resnet.pth"
    torch.save(model.state_dict(), path)

    # reload into a fresh model: same eval outputs
    model2 = ResNet(BasicBlock, [1, 1], num_classes=2)
    model2.load_state_dict(torch.load(path))
    model2.to(device)
    model.eval()
    model2.eval()
    xb, _ = next(iter(test_loader))
    with torch.no_grad():
        assert torch.allclose(model(xb.to(device)), model2(xb.to(device)), atol=1e-5)

    # fine-tune on a 4-class task: freeze the backbone, new head
    for param in model2.parameters():
        param.requires_grad_(False)
    model2.fc = nn.Linear(model2.fc.in_features, 4)
    model2.to(device)
    assert [n for n, p in model2.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    frozen = {k: v.clone() for k, v in model2.state_dict().items() if "fc" not in k and "running" not in k
              and "num_batches" not in k}
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model2.parameters()), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=6)
    x4, y4 = make_images(96, 4, seed=2)
    loader4 = DataLoader(TensorDataset(x4, y4), batch_size=16, shuffle=True)
    lrs, losses = [], []
    for epoch in range(6):
        lrs.append(scheduler.get_last_lr()[0])
        losses.append(train_one_epoch(model2, loader4, criterion, optimizer, device))
        scheduler.step()
    assert lrs == pytest.approx([0.05 * (1 + math.cos(math.pi * e / 6)) for e in range(6)])
    assert losses[-1] < 0.6 * losses[0], losses
    assert model2.conv1.weight.grad is None
    for k, v in model2.state_dict().items():
        if k in frozen:
            assert torch.equal(v, frozen[k]), k
    assert evaluate(model2, DataLoader(TensorDataset(*make_images(64, 4, seed=3)), batch_size=64), device) >= 0.85


# ---- the run recorded under torch ---------------------------------------------------------------
def make_model():
    return ResNet(BasicBlock, [1, 1], num_classes=3)


def deterministic_run(model, device):
    model.to(device)
    x, y = make_images(12, 3, seed=5)
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    out = {}
    model.eval()
    with torch.no_grad():
        out["eval_logits_init"] = model(x).cpu().numpy()
    model.train()
    for step in range(3):
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if step == 0:
            out["train_logits0"] = logits.detach().cpu().numpy()
            out["grad_conv1"] = model.conv1.weight.grad.cpu().numpy()
            out["grad_bn2_weight"] = model.layer2[0].bn2.weight.grad.cpu().numpy()
        out[f"loss{step}"] = np.float32(loss.item())
        optimizer.step()
    out["running_mean"] = model.layer1[0].bn1.running_mean.cpu().numpy()
    out["running_var"] = model.layer2[0].downsample[1].running_var.cpu().numpy()
    out["num_batches_tracked"] = model.bn1.num_batches_tracked.cpu().numpy()
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(x).cpu().numpy()
    return out


REFERENCE_RUNS = {"resnet": (make_model, deterministic_run)}


@pytest.mark.parametrize("name", REFERENCE_RUNS)
def test_matches_torch(name, device):
    program_fixture.check_against_torch(name, device, REFERENCE_RUNS, rtol=2e-4, atol=2e-5)
