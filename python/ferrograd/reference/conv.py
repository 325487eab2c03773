"""numpy references of the conv family (test oracles): direct loops over kernel taps, float64.

Arguments follow torch.nn.functional (ints or tuples; conv padding may be 'valid' / 'same').
"""

from __future__ import annotations

import numpy as np


def _pair(v, n=2):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _pads(padding, dilation, kernel):
    """((top, bottom), (left, right)) for torch's padding argument ('same' puts the odd one last)."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for d, k in zip(_pair(dilation), kernel))
    return tuple((p, p) for p in _pair(padding))


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, o, i, j] = b[o] + Σ_{c,ki,kj} xpad[n, g·Cg + c, i·s + ki·d, j·s + kj·d] · w[o, c, ki, kj]."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    O, Cg, KH, KW = w.shape
    pads = _pads(padding, dilation, (KH, KW))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    N, C, H, W = xp.shape
    OH = (H - dh * (KH - 1) - 1) // sh + 1
    OW = (W - dw * (KW - 1) - 1) // sw + 1
    Og = O // groups
    y = np.zeros((N, O, OH, OW))
    for g in range(groups):
        xg = xp[:, g * Cg:(g + 1) * Cg]
        wg = w[g * Og:(g + 1) * Og]
        for ki in range(KH):
            for kj in range(KW):
                patch = xg[:, :, ki * dh: ki * dh + sh * (OH - 1) + 1: sh, kj * dw: kj * dw + sw * (OW - 1) + 1: sw]
                y[:, g * Og:(g + 1) * Og] += np.einsum("ncij,oc->noij", patch, wg[:, :, ki, kj])
    if b is not None:
        y += np.asarray(b, np.float64).reshape(1, -1, 1, 1)
    return y


def conv2d_backward(x, w, gy, stride=1, padding=0, dilation=1, groups=1):
    """(grad_input, grad_weight, grad_bias) of sum(conv2d(x, w, b) · gy): the same tap loop, adjoint."""
    x, w, gy = (np.asarray(a, np.float64) for a in (x, w, gy))
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    O, Cg, KH, KW = w.shape
    pads = _pads(padding, dilation, (KH, KW))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    OH, OW = gy.shape[2:]
    Og = O // groups
    for g in range(groups):
        cs, os_ = slice(g * Cg, (g + 1) * Cg), slice(g * Og, (g + 1) * Og)
        for ki in range(KH):
            for kj in range(KW):
                win = (slice(None), cs, slice(ki * dh, ki * dh + sh * (OH - 1) + 1, sh), slice(kj * dw, kj * dw + sw * (OW - 1) + 1, sw))
                gxp[win] += np.einsum("noij,oc->ncij", gy[:, os_], w[os_, :, ki, kj])
                gw[os_, :, ki, kj] += np.einsum("noij,ncij->oc", gy[:, os_], xp[win])
    (t, _), (l, _) = pads
    gx = gxp[:, :, t:t + x.shape[2], l:l + x.shape[3]]
    return gx, gw, gy.sum(axis=(0, 2, 3))


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    if isinstance(padding, str):
        pad = padding
    else:
        pad = (0, _pair(padding, 1)[0])
    y = conv2d(x[:, :, None], w[:, :, None], b, (1, _pair(stride, 1)[0]), pad, (1, _pair(dilation, 1)[0]), groups)
    return y[:, :, 0]


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Scatter form: every input pixel adds w[c, o] · x[n, c, i, j] at (i·s - p + ki·d, j·s - p + kj·d)."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    N, C, H, W = x.shape
    _, Og, KH, KW = w.shape
    Cg = C // groups
    OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1
    OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1
    # Full (unpadded, uncropped) output, big enough for every tap and the output padding.
    full = np.zeros((N, Og * groups, (H - 1) * sh + dh * (KH - 1) + 1 + oph, (W - 1) * sw + dw * (KW - 1) + 1 + opw))
    for g in range(groups):
        xg = x[:, g * Cg:(g + 1) * Cg]
        wg = w[g * Cg:(g + 1) * Cg]  # (Cg, Og, KH, KW)
        for ki in range(KH):
            for kj in range(KW):
                contrib = np.einsum("ncij,co->noij", xg, wg[:, :, ki, kj])
                full[:, g * Og:(g + 1) * Og, ki * dh: ki * dh + sh * (H - 1) + 1: sh, kj * dw: kj * dw + sw * (W - 1) + 1: sw] += contrib
    y = full[:, :, ph:ph + OH, pw:pw + OW]
    if y.shape[2:] != (OH, OW):  # output padding past the last tap: zero rows/cols
        y = np.pad(y, ((0, 0), (0, 0), (0, OH - y.shape[2]), (0, OW - y.shape[3])))
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape(1, -1, 1, 1)
    return y
