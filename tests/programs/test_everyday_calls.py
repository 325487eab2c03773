"""A grab bag of everyday tensor calls, each its own test case, compared with what real PyTorch
returns for the same code (tests/fixtures/everyday_calls.json, written by
tests/fixtures/gen/everyday_calls.py, which runs this very file under torch).

A case is a function of no arguments written against `torch`; what it returns (tensors, Python
scalars, tuples, lists, None) is compared by kind, shape, dtype and value. A case whose torch run
raised expects the same builtin exception class here. Random cases return only what does not
depend on the generator's stream (shapes, ranges, reproducibility under the same seed)."""

import builtins
import json
import math
import pathlib

import numpy as np
import pytest

import ferrograd as torch
import ferrograd.nn.functional as F

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "everyday_calls.json"

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def cases(**fns):
    CASES.update(fns)


def M():  # a float matrix, (3, 4): 0..11
    return torch.arange(12.0).reshape(3, 4)


def I():  # an int64 matrix, (3, 4): 0..11
    return torch.arange(12).reshape(3, 4)


def T3():  # a float (2, 3, 4) tensor
    return torch.arange(24.0).reshape(2, 3, 4)


V = lambda: torch.tensor([3.0, -1.0, 2.0, 0.5, -4.0])  # noqa: E731


# ---- creation ------------------------------------------------------------------------------------
cases(
    tensor_float_list=lambda: torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
    tensor_int_list=lambda: torch.tensor([1, 2, 3]),
    tensor_bool_list=lambda: torch.tensor([True, False, True]),
    tensor_mixed_int_float=lambda: torch.tensor([1, 2.5]),
    tensor_scalar=lambda: torch.tensor(3.5),
    tensor_scalar_int_shape=lambda: torch.tensor(7).shape,
    tensor_dtype_arg=lambda: torch.tensor([1, 2], dtype=torch.float32),
    tensor_from_numpy_float64=lambda: torch.tensor(np.array([0.5, 1.5])),
    zeros=lambda: torch.zeros(2, 3),
    zeros_tuple_dtype=lambda: torch.zeros((2, 3), dtype=torch.int64),
    ones_long=lambda: torch.ones(3, dtype=torch.long),
    full_float=lambda: torch.full((2, 2), 7.0),
    full_int_infers_long=lambda: torch.full((2,), 3),
    full_bool=lambda: torch.full((2,), True),
    empty_shape_dtype=lambda: (torch.empty(2, 5).shape, torch.empty(2, 5).dtype == torch.float32),
    zeros_like_keeps_dtype=lambda: torch.zeros_like(torch.ones(2, 3, dtype=torch.float64)),
    ones_like_dtype=lambda: torch.ones_like(torch.zeros(2, 2), dtype=torch.int64),
    full_like=lambda: torch.full_like(torch.zeros(3), 2.5),
    full_like_int=lambda: torch.full_like(torch.zeros(3, dtype=torch.long), 2),
    empty_like=lambda: (torch.empty_like(M()).shape, torch.empty_like(I()).dtype == torch.int64),
    new_zeros=lambda: torch.ones(2, dtype=torch.float64).new_zeros(3, 2),
    new_ones_tuple=lambda: torch.ones(2, dtype=torch.long).new_ones((2,)),
    new_full=lambda: M().new_full((2, 2), 5.0),
    new_tensor_takes_dtype=lambda: torch.ones(2, dtype=torch.float64).new_tensor([1, 2]),
    new_empty=lambda: M().new_empty(4).shape,
    arange_int=lambda: torch.arange(5),
    arange_start_end_step=lambda: torch.arange(2, 9, 2),
    arange_float_step=lambda: torch.arange(0, 1, 0.25),
    arange_float_bounds=lambda: torch.arange(1.0, 2.5, 0.5),
    arange_negative_float_step=lambda: torch.arange(5, 0, -1.5),
    arange_dtype=lambda: torch.arange(4, dtype=torch.float32),
    linspace=lambda: torch.linspace(0, 1, 5),
    linspace_steps_kw=lambda: torch.linspace(-1, 1, steps=4),
    logspace=lambda: torch.logspace(0, 2, 3),
    eye=lambda: torch.eye(3),
    eye_rect=lambda: torch.eye(2, 3),
    eye_bool=lambda: torch.eye(3, dtype=torch.bool),
    stack_dim1=lambda: torch.stack([torch.tensor([1, 2]), torch.tensor([3, 4])], dim=1),
    cat_dim_neg=lambda: torch.cat([M(), torch.zeros(3, 1)], dim=-1),
    cat_tuple=lambda: torch.cat((torch.tensor([1.0]), torch.tensor([2.0, 3.0]))),
    default_dtype=lambda: torch.get_default_dtype() == torch.float32,
)


@case
def from_numpy_shares_memory():
    a = np.zeros(3, dtype=np.float32)
    t = torch.from_numpy(a)
    a[0] = 5.0
    t[1] = 2.0
    return t, a.tolist()


@case
def as_tensor_from_list():
    return torch.as_tensor([1.5, 2.5], dtype=torch.float64)


@case
def randperm_with_generator():
    g = torch.Generator().manual_seed(42)
    p = torch.randperm(10, generator=g)
    q = torch.randperm(10, generator=torch.Generator().manual_seed(42))
    return torch.equal(p, q), p.dtype == torch.int64, torch.equal(p.sort().values, torch.arange(10))


@case
def generator_rand_reproducible():
    g = torch.Generator()
    g.manual_seed(1)
    a = torch.rand(3, generator=g)
    g.manual_seed(1)
    b = torch.rand(3, generator=g)
    return torch.equal(a, b), bool(((a >= 0) & (a < 1)).all())


@case
def manual_seed_reproducible():
    torch.manual_seed(3)
    a = torch.randn(4)
    torch.manual_seed(3)
    b = torch.randn(4)
    return torch.equal(a, b), a.shape


@case
def randint_range_and_dtype():
    torch.manual_seed(0)
    r = torch.randint(3, 7, (200,))
    return r.dtype == torch.int64, r.min().item() >= 3, r.max().item() <= 6, r.shape


@case
def rand_like_randn_like():
    x = torch.zeros(4, 2, dtype=torch.float64)
    r, n = torch.rand_like(x), torch.randn_like(x)
    return r.shape, r.dtype == torch.float64, n.dtype == torch.float64, bool(((r >= 0) & (r < 1)).all())


@case
def normal_and_uniform_inplace():
    torch.manual_seed(0)
    w = torch.empty(2000)
    w.normal_(mean=2.0, std=0.5)
    u = torch.empty(2000).uniform_(-1, 1)
    return abs(w.mean().item() - 2.0) < 0.05, abs(w.std().item() - 0.5) < 0.05, u.min().item() >= -1, u.max().item() < 1


@case
def bernoulli_and_multinomial():
    torch.manual_seed(0)
    b = torch.bernoulli(torch.full((1000,), 0.3))
    m = torch.multinomial(torch.tensor([0.0, 1.0, 0.0, 3.0]), 50, replacement=True)
    return b.dtype == torch.float32, abs(b.mean().item() - 0.3) < 0.05, bool(((m == 1) | (m == 3)).all()), m.dtype == torch.int64


# ---- indexing ------------------------------------------------------------------------------------
cases(
    index_int=lambda: I()[1],
    index_negative_pair=lambda: I()[-1, -2],
    index_slice=lambda: I()[:, 1:3],
    index_slice_step=lambda: I()[:, ::2],
    index_ellipsis=lambda: torch.arange(24).reshape(2, 3, 4)[..., 1],
    index_none=lambda: I()[None, :, None].shape,
    index_list=lambda: I()[[0, 2]],
    index_tensor=lambda: I()[torch.tensor([2, 0])],
    index_two_tensors=lambda: I()[torch.tensor([0, 2]), torch.tensor([1, 3])],
    index_tensor_and_slice=lambda: I()[torch.tensor([2, 0]), 1:],
    index_bool_mask=lambda: I()[I() > 5],
    index_bool_rows=lambda: I()[torch.tensor([True, False, True])],
    index_zero_dim_tensor=lambda: I()[torch.tensor(1)],
    gather=lambda: torch.gather(M(), 1, torch.tensor([[0, 0], [1, 0], [3, 2]])),
    gather_method_dim0=lambda: M().gather(0, torch.tensor([[2, 1, 0, 0]])),
    scatter_value=lambda: torch.zeros(3, 5).scatter(1, torch.tensor([[0, 1], [2, 3], [4, 0]]), 1.0),
    scatter_src_inplace=lambda: torch.zeros(2, 4).scatter_(1, torch.tensor([[3, 0], [1, 2]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
    scatter_add=lambda: torch.zeros(5).scatter_add(0, torch.tensor([0, 1, 0, 4]), torch.tensor([1.0, 2.0, 3.0, 4.0])),
    scatter_add_2d=lambda: torch.zeros(2, 3).scatter_add_(1, torch.tensor([[0, 0, 2], [1, 1, 1]]), torch.ones(2, 3)),
    scatter_reduce_amax=lambda: torch.zeros(3).scatter_reduce(0, torch.tensor([0, 0, 2, 2]), torch.tensor([1.0, 5.0, -2.0, -3.0]), reduce="amax", include_self=False),
    one_hot=lambda: F.one_hot(torch.tensor([0, 2, 1]), num_classes=4),
    one_hot_inferred=lambda: F.one_hot(torch.tensor([[0], [2]])),
    index_select=lambda: torch.index_select(M(), 0, torch.tensor([2, 0])),
    index_select_method=lambda: M().index_select(1, torch.tensor([3, 3])),
    index_add=lambda: torch.zeros(3, 2).index_add_(0, torch.tensor([0, 2, 0]), torch.ones(3, 2)),
    index_add_alpha=lambda: torch.ones(4).index_add(0, torch.tensor([1, 3]), torch.tensor([1.0, 2.0]), alpha=10),
    masked_fill=lambda: M().masked_fill(M() > 4, 0.0),
    masked_fill_broadcast=lambda: M().masked_fill(torch.tensor([True, False, False, True]), -1),
    masked_fill_inf=lambda: M().masked_fill(torch.eye(3, 4, dtype=torch.bool), float("-inf")),
    masked_fill_inplace=lambda: I().masked_fill_(I() % 3 == 0, 100),
    masked_select=lambda: torch.masked_select(M(), M() > 6),
    where=lambda: torch.where(M() > 5, M(), torch.zeros_like(M())),
    where_scalar_other=lambda: torch.where(M() > 5, M(), 0.0),
    where_int_scalars=lambda: torch.where(I() > 5, 1, 0),
    where_method=lambda: M().where(M() < 3, torch.tensor(-1.0)),
    where_condition_only=lambda: torch.where(I() > 8),
    nonzero=lambda: torch.nonzero(I() > 8),
    nonzero_as_tuple=lambda: (I() % 5 == 0).nonzero(as_tuple=True),
    argwhere=lambda: torch.argwhere(torch.tensor([0, 3, 0, 4])),
    count_nonzero=lambda: torch.count_nonzero(torch.tensor([0, 3, 0, 4])),
)


@case
def setitem_bool_mask():
    y = I().clone()
    y[y % 2 == 0] = -1
    return y


@case
def setitem_column():
    y = torch.zeros(3, 4)
    y[:, 1] = 1.0
    return y


@case
def setitem_row_tensor():
    y = torch.zeros(3, 4)
    y[0] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    return y


@case
def setitem_broadcast_block():
    y = torch.zeros(3, 4)
    y[1:, :2] = torch.tensor([7.0, 8.0])
    return y


@case
def setitem_index_pairs():
    y = torch.zeros(3, 4)
    y[[0, 2], [1, 3]] = 5.0
    return y


@case
def setitem_step_slice():
    y = torch.zeros(2, 6)
    y[:, 0::2] = 1.0
    y[:, 1::2] = torch.tensor([2.0, 3.0, 4.0])
    return y


@case
def chained_index_assignment_writes_through():
    a = torch.zeros(3, 3)
    a[1][2] = 5.0
    return a


@case
def view_shares_storage():
    a = torch.zeros(4)
    b = a.view(2, 2)
    b[0, 0] = 1.0
    return a


@case
def clone_is_independent():
    x = I()
    y = x.clone()
    y[0, 0] = 100
    return x[0, 0].item(), y[0, 0].item()


# ---- shape ---------------------------------------------------------------------------------------
cases(
    view=lambda: M().view(4, 3),
    view_minus_one=lambda: M().view(-1),
    view_two_minus_one=lambda: M().view(2, -1).shape,
    reshape_after_transpose=lambda: M().t().reshape(12),
    view_of_transpose_raises=lambda: M().t().view(12),
    reshape_tuple=lambda: M().reshape((6, 2)),
    permute=lambda: T3().permute(2, 0, 1),
    permute_shape=lambda: T3().permute(0, 2, 1).shape,
    transpose=lambda: M().transpose(0, 1),
    transpose_negative=lambda: T3().transpose(-1, -2).shape,
    dot_T=lambda: M().T,
    mT=lambda: T3().mT.shape,
    is_contiguous=lambda: (M().is_contiguous(), M().t().is_contiguous(), M().t().contiguous().is_contiguous()),
    contiguous_values=lambda: M().t().contiguous(),
    chunk=lambda: M().chunk(2, dim=1),
    chunk_uneven=lambda: torch.arange(5).chunk(3),
    split_size=lambda: M().split(1, dim=0),
    split_sections=lambda: torch.arange(10).split([3, 7]),
    unbind=lambda: M().unbind(1),
    flip=lambda: M().flip(0),
    flip_two_dims=lambda: torch.flip(M(), dims=(0, 1)),
    roll=lambda: torch.roll(torch.arange(5), 2),
    roll_dims=lambda: torch.roll(M(), shifts=(1, -1), dims=(0, 1)),
    repeat=lambda: torch.tensor([1, 2]).repeat(2, 3),
    repeat_interleave=lambda: torch.tensor([1, 2]).repeat_interleave(2),
    repeat_interleave_dim=lambda: torch.tensor([[1, 2], [3, 4]]).repeat_interleave(torch.tensor([1, 2]), dim=0),
    expand=lambda: torch.tensor([[1], [2]]).expand(2, 3),
    expand_minus_one=lambda: torch.tensor([[1], [2]]).expand(-1, 4),
    expand_new_dim=lambda: torch.tensor([1, 2]).expand(3, 2),
    expand_as=lambda: torch.tensor([1.0, 2.0, 3.0, 4.0]).expand_as(M()),
    unflatten=lambda: torch.arange(12).unflatten(0, (3, 4)),
    unflatten_method_minus_one=lambda: M().unflatten(1, (2, -1)).shape,
    flatten=lambda: torch.arange(24).reshape(2, 3, 4).flatten(1).shape,
    flatten_range=lambda: torch.flatten(T3(), start_dim=0, end_dim=1).shape,
    flatten_all=lambda: T3().flatten().shape,
    squeeze_all=lambda: torch.zeros(1, 3, 1).squeeze().shape,
    squeeze_dim=lambda: torch.zeros(1, 3, 1).squeeze(0).shape,
    squeeze_non_one_dim_is_noop=lambda: torch.zeros(1, 3, 1).squeeze(1).shape,
    squeeze_dims_tuple=lambda: torch.zeros(1, 3, 1).squeeze((0, 2)).shape,
    unsqueeze=lambda: torch.arange(3).unsqueeze(-1).shape,
    unsqueeze_fn=lambda: torch.unsqueeze(torch.arange(3), 0),
    tril=lambda: torch.tril(M()),
    tril_diagonal=lambda: torch.ones(3, 3).tril(diagonal=-1),
    triu=lambda: torch.triu(M(), diagonal=1),
    triu_batched=lambda: torch.ones(2, 3, 3).triu(),
    diag_from_vector=lambda: torch.diag(torch.tensor([1.0, 2.0, 3.0])),
    diag_of_matrix=lambda: torch.diag(M()),
    diag_offset=lambda: torch.diag(M(), 1),
    diagonal=lambda: T3().diagonal(dim1=-2, dim2=-1),
    diag_embed=lambda: torch.diag_embed(torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
    movedim=lambda: torch.movedim(T3(), 0, -1).shape,
    narrow=lambda: M().narrow(1, 1, 2),
    select=lambda: T3().select(1, 2),
    size_calls=lambda: (M().size(), M().size(1), M().size(-1), M().shape[0], M().dim(), M().ndim, M().numel(), len(M())),
    stack_new_last=lambda: torch.stack([M(), M() + 1], dim=-1).shape,
    vstack_hstack=lambda: (torch.vstack([torch.tensor([1, 2]), torch.tensor([3, 4])]), torch.hstack([torch.tensor([1]), torch.tensor([2, 3])])),
    meshgrid_ij=lambda: torch.meshgrid(torch.tensor([1, 2]), torch.tensor([3, 4, 5]), indexing="ij"),
    broadcast_to=lambda: torch.broadcast_to(torch.tensor([1, 2]), (3, 2)),
)


# ---- math ----------------------------------------------------------------------------------------
cases(
    add_broadcast_row=lambda: M() + torch.tensor([1.0, 2.0, 3.0, 4.0]),
    add_broadcast_column=lambda: M() + torch.tensor([[10.0], [20.0], [30.0]]),
    scalar_arith=lambda: 2 * M() - 1,
    rsub_rdiv=lambda: (1 - M(), 1 / (M() + 1)),
    pow_scalar=lambda: M() ** 2,
    rpow=lambda: 2 ** torch.tensor([1.0, 2.0, 3.0]),
    pow_tensor_exponent=lambda: torch.pow(torch.tensor([2.0, 3.0]), torch.tensor([3.0, 2.0])),
    int_true_division=lambda: torch.tensor([1, 2, 3]) / 2,
    int_floor_division=lambda: torch.tensor([7, -7, 6]) // 2,
    float_floor_division=lambda: torch.tensor([7.5, -7.5]) // 2,
    div_rounding_modes=lambda: (torch.div(torch.tensor([-7, 7]), 2, rounding_mode="floor"), torch.div(torch.tensor([-7, 7]), 2, rounding_mode="trunc")),
    remainder_operator=lambda: torch.tensor([5, -5, 4]) % 3,
    remainder_float=lambda: torch.remainder(torch.tensor([-3.0, -2.0, 5.5]), 2),
    fmod=lambda: torch.fmod(torch.tensor([-3.0, 5.0]), 2),
    int_plus_float_scalar=lambda: torch.tensor([1, 2]) + 0.5,
    int_times_float64=lambda: torch.tensor([1, 2]) * torch.tensor([0.5, 0.5], dtype=torch.float64),
    float32_plus_float64_scalar_tensor=lambda: (torch.ones(2) + torch.tensor(1.0, dtype=torch.float64)),
    int32_plus_python_int=lambda: torch.tensor([1, 2], dtype=torch.int32) + 1,
    int32_plus_int64=lambda: torch.tensor([1, 2], dtype=torch.int32) + torch.tensor([1, 2]),
    bool_sum_is_long=lambda: (I() > 5).sum(),
    bool_float_mean=lambda: (I() > 5).float().mean(),
    invert_bool=lambda: ~torch.tensor([True, False]),
    logical_ops=lambda: (torch.logical_and(torch.tensor([True, True, False]), torch.tensor([True, False, False])),
                         torch.logical_or(torch.tensor([True, False]), torch.tensor([False, False])),
                         torch.logical_xor(torch.tensor([True, False]), torch.tensor([True, True])),
                         torch.logical_not(torch.tensor([0, 2]))),
    bool_bitwise_operators=lambda: ((I() > 2) & (I() < 8), (I() < 2) | (I() > 9), (I() > 5) ^ (I() > 7)),
    comparisons=lambda: (M() == 3, M() != 3, M() < 3, M() <= 3, M() > 9, M() >= 9),
    comparison_methods=lambda: (M().eq(2), M().ne(2), M().lt(2), M().ge(10)),
    max_all=lambda: M().max(),
    max_dim=lambda: M().max(dim=1),
    max_dim_keepdim=lambda: M().max(1, keepdim=True),
    max_values_indices=lambda: (M().max(dim=0).values, M().max(dim=0).indices),
    max_with_tensor=lambda: torch.max(M(), torch.full_like(M(), 5.0)),
    min_dim=lambda: torch.min(V(), dim=0),
    min_with_tensor=lambda: torch.min(M(), torch.tensor([1.0, 9.0, 1.0, 9.0])),
    maximum_minimum=lambda: (torch.maximum(V(), torch.zeros(5)), torch.minimum(V(), torch.zeros(5))),
    argmax_dim=lambda: M().argmax(dim=1),
    argmax_flat=lambda: torch.argmax(torch.tensor([[1, 9], [7, 3]])),
    argmin_keepdim=lambda: M().argmin(dim=0, keepdim=True),
    amax_tuple_dims=lambda: torch.amax(T3(), dim=(0, 2)),
    amin=lambda: T3().amin(dim=-1),
    sum_all=lambda: M().sum(),
    sum_dim=lambda: M().sum(dim=0),
    sum_dims_keepdim=lambda: T3().sum(dim=(0, 2), keepdim=True),
    sum_int_stays_long=lambda: torch.sum(I()),
    sum_dtype=lambda: torch.sum(I(), dtype=torch.float32),
    mean_dim=lambda: M().mean(dim=1),
    mean_of_long_raises=lambda: I().mean(),
    var_std_default_unbiased=lambda: (V().var(), V().std()),
    std_biased=lambda: (M().std(dim=0, unbiased=False), M().var(dim=1, correction=0)),
    var_mean=lambda: torch.var_mean(M(), dim=1),
    prod=lambda: torch.prod(torch.tensor([1.0, 2.0, 3.0, 4.0])),
    prod_dim=lambda: M().add(1).prod(dim=1),
    cumsum=lambda: torch.cumsum(M(), dim=1),
    cumsum_int=lambda: torch.arange(5).cumsum(0),
    cumprod=lambda: torch.cumprod(torch.tensor([1.0, 2.0, 3.0, 0.5]), dim=0),
    logsumexp=lambda: torch.logsumexp(M(), dim=1),
    logsumexp_large=lambda: torch.logsumexp(torch.tensor([1000.0, 1000.0]), dim=0),
    norm_default=lambda: M().norm(),
    norm_dim_keepdim=lambda: M().norm(dim=1, keepdim=True),
    norm_p1=lambda: torch.norm(V(), p=1),
    linalg_vector_norm=lambda: torch.linalg.vector_norm(M(), ord=2, dim=0),
    rsqrt_sqrt=lambda: (torch.rsqrt(torch.tensor([1.0, 4.0, 16.0])), torch.tensor([0.0, 9.0]).sqrt()),
    sign=lambda: (torch.sign(V()), torch.sign(torch.tensor([-2, 0, 3]))),
    abs_neg=lambda: (V().abs(), -V(), torch.abs(torch.tensor([-3, 2]))),
    exp_log=lambda: (torch.exp(torch.tensor([0.0, 1.0])), torch.log(torch.tensor([1.0, math.e])), torch.log1p(torch.tensor([0.0])), torch.expm1(torch.tensor([0.0]))),
    log_of_zero_and_negative=lambda: torch.log(torch.tensor([0.0, -1.0])),
    trig_and_activations=lambda: (torch.sin(V()), torch.cos(V()), torch.tanh(V()), torch.sigmoid(V()), torch.relu(V())),
    rounding=lambda: (torch.floor(V()), torch.ceil(V()), torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5])), torch.trunc(V())),
    round_decimals=lambda: torch.round(torch.tensor([1.234, 5.678]), decimals=1),
    clamp_min=lambda: V().clamp(min=0),
    clamp_both=lambda: torch.clamp(V(), -1, 1),
    clamp_max_only=lambda: V().clamp(max=1.0),
    clamp_int=lambda: torch.tensor([-5, 0, 5]).clamp(-2, 2),
    clip=lambda: torch.clip(V(), min=-0.5, max=0.5),
    reciprocal_square=lambda: (torch.tensor([2.0, 4.0]).reciprocal(), torch.square(torch.tensor([3, -2]))),
    sort=lambda: torch.sort(torch.tensor([3.0, 1.0, 2.0])),
    sort_descending=lambda: V().sort(descending=True),
    sort_dim0=lambda: torch.sort(torch.tensor([[3, 1], [1, 2], [2, 0]]), dim=0),
    sort_stable_ties=lambda: torch.sort(torch.tensor([1, 0, 1, 0, 1]), stable=True),
    argsort=lambda: torch.argsort(V()),
    argsort_descending=lambda: V().argsort(descending=True),
    topk=lambda: torch.topk(V(), 2),
    topk_smallest=lambda: V().topk(3, largest=False),
    topk_dim=lambda: M().topk(2, dim=0),
    median=lambda: (torch.median(torch.tensor([1.0, 3.0, 2.0, 4.0])), torch.tensor([[1.0, 5.0, 3.0]]).median(dim=1)),
    unique=lambda: torch.unique(torch.tensor([3, 1, 2, 3, 1])),
    unique_counts_inverse=lambda: torch.unique(torch.tensor([3, 1, 2, 3, 1]), return_inverse=True, return_counts=True),
    bincount=lambda: torch.bincount(torch.tensor([0, 1, 1, 3]), minlength=5),
    einsum_matmul=lambda: torch.einsum("ij,jk->ik", M(), M().t()),
    einsum_batched=lambda: torch.einsum("bij,bjk->bik", T3(), T3().transpose(1, 2)),
    einsum_diag_trace=lambda: (torch.einsum("ii->i", torch.eye(3) * 2), torch.einsum("ii", torch.eye(3) * 2)),
    einsum_outer=lambda: torch.einsum("i,j->ij", torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0, 5.0])),
    einsum_attention=lambda: torch.einsum("bhqd,bhkd->bhqk", T3().view(1, 2, 3, 4), T3().view(1, 2, 3, 4)),
    einsum_sum_axis=lambda: torch.einsum("ij->j", M()),
    mm=lambda: torch.mm(M(), M().t()),
    bmm=lambda: torch.bmm(T3(), T3().transpose(1, 2)),
    outer=lambda: torch.outer(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])),
    matmul_vec_vec=lambda: torch.matmul(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])),
    matmul_mat_vec=lambda: M() @ torch.ones(4),
    matmul_broadcast_batch=lambda: T3() @ torch.ones(4, 2),
    dot_mv=lambda: (torch.dot(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])), torch.mv(M(), torch.ones(4))),
    matmul_shape_mismatch_raises=lambda: M() @ M(),
    allclose_isclose_equal=lambda: (torch.allclose(M(), M() + 1e-9), torch.isclose(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.1])),
                                    torch.equal(M(), M()), torch.equal(M(), M()[:2])),
    all_any=lambda: ((I() >= 0).all(), (I() > 10).any(), (I() > 2).all(dim=1), torch.any(I() > 10, dim=0)),
    isnan_isinf=lambda: (torch.isnan(torch.tensor([1.0, float("nan")])), torch.isinf(torch.tensor([float("-inf"), 1.0])),
                         torch.isfinite(torch.tensor([float("inf"), 0.0, float("nan")]))),
    nan_to_num=lambda: torch.nan_to_num(torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0]), nan=0.0, posinf=9.0, neginf=-9.0),
    softmax_methods=lambda: (M().softmax(dim=-1), torch.log_softmax(M(), dim=0), F.softmax(M(), dim=1).sum(dim=1)),
    lerp_addcmul=lambda: (torch.lerp(torch.zeros(2), torch.ones(2), 0.25), torch.addcmul(torch.ones(2), torch.tensor([2.0, 3.0]), torch.tensor([4.0, 5.0]), value=0.5)),
    floor_of_int_division_result=lambda: (torch.tensor([3, 4]) / torch.tensor([2, 2])).floor(),
)


# ---- python scalars and conversions --------------------------------------------------------------
cases(
    item_float=lambda: torch.tensor([2.5]).item(),
    item_int=lambda: torch.tensor(7).item(),
    item_bool=lambda: (torch.tensor([1, 2]) > 1).all().item(),
    item_of_many_raises=lambda: torch.tensor([1.0, 2.0]).item(),
    tolist=lambda: M().tolist(),
    tolist_int=lambda: I()[0].tolist(),
    tolist_scalar=lambda: torch.tensor(3).tolist(),
    python_float_int_bool=lambda: (float(torch.tensor(2.5)), int(torch.tensor([3.9])), bool(torch.tensor(0.0))),
    bool_of_many_raises=lambda: bool(torch.tensor([1, 2]) > 0),
    tensor_as_index=lambda: [10, 20, 30][torch.tensor(1)],
    to_int_long=lambda: (M().int(), M().long()),
    float_to_long_truncates=lambda: torch.tensor([1.7, -1.7]).long(),
    to_float_double=lambda: (I().float(), I().double()),
    to_bool=lambda: torch.tensor([0, 2, -1]).bool(),
    bool_to_int=lambda: (I() > 5).int(),
    type_as=lambda: I().type_as(M()),
    to_dtype=lambda: I().to(torch.float64),
    to_dtype_kw=lambda: M().to(dtype=torch.int64),
    to_other_tensor=lambda: I().to(torch.zeros(1, dtype=torch.float64)),
    type_with_dtype=lambda: I().type(torch.float32),
    dtype_checks=lambda: (M().dtype == torch.float32, I().dtype == torch.long, M().is_floating_point(), I().is_floating_point(),
                          torch.is_tensor(M()), torch.is_floating_point(I())),
    float_property=lambda: (torch.float == torch.float32, torch.long == torch.int64, torch.double == torch.float64),
    device_property=lambda: (str(M().device), M().device.type, M().to("cpu").device == M().device),
    element_size=lambda: (M().element_size(), I().element_size(), torch.zeros(2, dtype=torch.bool).element_size()),
)


# ---- in-place and aliasing -----------------------------------------------------------------------
@case
def add_inplace():
    t = torch.ones(3)
    r = t.add_(2)
    return t, r is t


@case
def add_inplace_alpha():
    t = torch.ones(3)
    t.add_(torch.tensor([1.0, 2.0, 3.0]), alpha=-0.5)
    return t


@case
def sub_mul_div_inplace():
    t = torch.tensor([4.0, 8.0])
    t.sub_(1).mul_(2).div_(3)
    return t


@case
def clamp_inplace():
    t = V()
    t.clamp_(min=-1.0, max=2.0)
    return t


@case
def copy_inplace_broadcast():
    t = torch.zeros(2, 3)
    t.copy_(torch.tensor([1.0, 2.0, 3.0]))
    return t


@case
def copy_inplace_casts():
    t = torch.zeros(3, dtype=torch.long)
    t.copy_(torch.tensor([1.9, -1.9, 2.0]))
    return t


@case
def fill_zero_inplace():
    a = torch.ones(2, 2)
    a[0].fill_(5.0)
    b = torch.ones(3)
    b.zero_()
    return a, b


@case
def exp_pow_neg_inplace():
    a = torch.tensor([0.0, 1.0])
    a.exp_()
    b = torch.tensor([2.0, 3.0])
    b.pow_(2).neg_()
    return a, b


@case
def iadd_aliases():
    t = torch.zeros(3)
    u = t
    u += 1
    return t, u is t


@case
def add_rebinds_without_aliasing():
    t = torch.zeros(3)
    u = t
    u = u + 1
    return t, u


@case
def iadd_on_view_writes_base():
    a = torch.zeros(2, 2)
    row = a[0]
    row += 5
    a[:, 1] *= 2
    a[1] -= 1
    return a


@case
def imul_int_by_float_raises():
    t = torch.tensor([1, 2])
    t *= 1.5
    return t


@case
def div_inplace_on_long_raises():
    return torch.tensor([1, 2]).div_(2)


@case
def itruediv_float():
    t = torch.tensor([1.0, 2.0])
    t /= 4
    return t


@case
def inplace_on_leaf_requiring_grad_raises():
    a = torch.ones(2, requires_grad=True)
    a.add_(1)
    return a


@case
def manual_sgd_step_under_no_grad():
    w = torch.ones(2, requires_grad=True)
    (w * torch.tensor([3.0, 4.0])).sum().backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
    w.grad.zero_()
    return w, w.requires_grad, w.is_leaf, w.grad


@case
def no_grad_context():
    w = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        y = w * 2
        inside = torch.is_grad_enabled()
    return y.requires_grad, inside, torch.is_grad_enabled(), y.grad_fn is None


@case
def no_grad_decorator_and_enable_grad():
    w = torch.ones(2, requires_grad=True)

    @torch.no_grad()
    def f(x):
        with torch.enable_grad():
            inner = (x * 2).requires_grad
        return x * 3, inner

    y, inner = f(w)
    return y.requires_grad, inner


@case
def set_grad_enabled_context():
    w = torch.ones(2, requires_grad=True)
    with torch.set_grad_enabled(False):
        a = w * 2
    with torch.set_grad_enabled(True):
        b = w * 2
    return a.requires_grad, b.requires_grad


@case
def inference_mode():
    w = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        y = w * 2
        enabled = torch.is_inference_mode_enabled()
    return y.requires_grad, enabled, torch.is_inference_mode_enabled(), y


@case
def inference_mode_decorator():
    @torch.inference_mode()
    def predict(x):
        return x.exp()

    x = torch.zeros(2, requires_grad=True)
    y = predict(x)
    return y.requires_grad, y


# ---- autograd ------------------------------------------------------------------------------------
@case
def backward_basic():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 2).sum()
    y.backward()
    return x.grad, y.requires_grad, x.is_leaf, y.is_leaf


@case
def grad_is_none_before_backward():
    x = torch.ones(2, requires_grad=True)
    return x.grad is None, x.requires_grad


@case
def backward_accumulates():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


@case
def backward_with_gradient_argument():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.backward(torch.tensor([1.0, 10.0]))
    return x.grad


@case
def backward_non_scalar_raises():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward()


@case
def backward_twice_raises():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


@case
def int_tensor_cannot_require_grad():
    return torch.tensor([1, 2], requires_grad=True)


@case
def autograd_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    grads = torch.autograd.grad(y, x)
    return grads, x.grad is None


@case
def autograd_grad_several_inputs_allow_unused():
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    c = torch.tensor(4.0, requires_grad=True)
    ga, gb, gc = torch.autograd.grad(a * b, [a, b, c], allow_unused=True)
    return ga, gb, gc


@case
def autograd_grad_with_grad_outputs():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad(x * x, x, grad_outputs=torch.tensor([1.0, -1.0]))
    return g


@case
def double_backward_create_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), x)
    return g, g.requires_grad, g2


@case
def double_backward_gradient_penalty():
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    x = torch.tensor([0.5, 1.5], requires_grad=True)
    out = torch.tanh(w * x).sum()
    (gx,) = torch.autograd.grad(out, x, create_graph=True)
    penalty = (gx.norm(2) - 1) ** 2
    penalty.backward()
    return penalty, w.grad


@case
def retain_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    (h ** 2).sum().backward()
    return h.grad, x.grad


@case
def register_hook_scales_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    return x.grad


@case
def register_hook_on_intermediate_and_remove():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x * x
    handle = h.register_hook(lambda g: seen.append(g.clone()))
    h.sum().backward()
    handle.remove()
    y = x * x
    y.register_hook(lambda g: g * 0)
    y.sum().backward()
    return seen, x.grad


@case
def grad_fn_and_leaves():
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    z = y.sum()
    return x.grad_fn is None, y.grad_fn is not None, z.grad_fn is not None, y.is_leaf, x.is_leaf


@case
def detach_and_requires_grad_():
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    d = y.detach()
    t = torch.zeros(2)
    t.requires_grad_()
    s = torch.ones(2).requires_grad_(True).requires_grad_(False)
    return d.requires_grad, d.grad_fn is None, t.requires_grad, t.is_leaf, s.requires_grad


@case
def detach_shares_storage():
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    d[0] = 100.0
    return y


@case
def requires_grad_propagates():
    a = torch.ones(2)
    b = torch.ones(2, requires_grad=True)
    return (a + b).requires_grad, (a * 2).requires_grad, (a + b.detach()).requires_grad


@case
def inplace_modified_saved_tensor_raises():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a.sigmoid()
    b.mul_(2)
    b.sum().backward()


@case
def inplace_on_input_of_mul_raises():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b
    b.add_(1)
    c.sum().backward()


@case
def inplace_not_saved_is_fine():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    b.add_(1)  # add's backward needs no saved b
    (b * 3).sum().backward()
    return b, a.grad


@case
def setitem_in_graph():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.clone()
    y[0] = 0.0
    (y * y).sum().backward()
    return x.grad


@case
def grad_through_repeated_index():
    x = torch.zeros(3, requires_grad=True)
    x[torch.tensor([0, 0, 2])].sum().backward()
    return x.grad


@case
def grad_through_masked_fill_where():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.masked_fill(x < 0, 0.0) + torch.where(x > 2, x * 10, torch.zeros_like(x))
    y.sum().backward()
    return x.grad


@case
def grad_clamp():
    # values away from the bounds: the gradient exactly at a bound changed between torch versions
    x = torch.tensor([-1.0, 0.25, 0.5, 2.0], requires_grad=True)
    (x.clamp(0.0, 1.0) * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    y = torch.tensor([-1.0, 3.0], requires_grad=True)
    y.clamp(min=0.0).sum().backward()
    return x.grad, y.grad


@case
def grad_abs_relu_at_zero():
    x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    (x.abs() + torch.relu(x)).sum().backward()
    return x.grad


@case
def grad_max_all_ties():
    x = torch.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    return x.grad


@case
def grad_max_dim():
    x = torch.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    x.max(dim=1).values.sum().backward()
    return x.grad


@case
def grad_of_norm():
    x = torch.tensor([3.0, 4.0], requires_grad=True)
    x.norm().backward()
    return x.grad


@case
def grad_through_view_and_expand():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.view(2, 1).expand(2, 3)
    (y * torch.arange(6.0).view(2, 3)).sum().backward()
    return x.grad


@case
def grad_through_cat_stack_split():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0], requires_grad=True)
    c = torch.cat([a, b])
    p, q = c.split([1, 2])
    (torch.stack([q, q * 2]).sum() + p.sum() * 5).backward()
    return a.grad, b.grad


@case
def grad_through_gather_scatter():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    idx = torch.tensor([[2, 2], [0, 1]])
    y = x.gather(1, idx)
    z = torch.zeros(2, 3).scatter_add(1, idx, y * 2)
    z.sum().backward()
    return x.grad


@case
def grad_of_cumsum_sort():
    x = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, _ = x.sort()
    (values * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
    y = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y.cumsum(0).sum().backward()
    return x.grad, y.grad


@case
def grad_float64_stays_float64():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (x * x).sum().backward()
    return x.grad


@case
def grad_broadcast_reduces():
    w = torch.ones(3, requires_grad=True)
    b = torch.tensor(0.5, requires_grad=True)
    (M()[:, :3] * w + b).sum().backward()
    return w.grad, b.grad


@case
def zero_grad_by_none():
    x = torch.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    x.grad = None
    (x * 3).sum().backward()
    return x.grad


# ---- comparing a result with torch's -------------------------------------------------------------
def encode(x):
    """A JSON-able description of a case's result: kind, and for tensors dtype, shape and values."""
    if x is None:
        return {"none": None}
    if isinstance(x, bool):
        return {"bool": x}
    if isinstance(x, int):
        return {"int": x}
    if isinstance(x, float):
        return {"float": x}
    if isinstance(x, str):
        return {"str": x}
    if isinstance(x, torch.Tensor):
        a = x.detach().cpu().numpy()
        return {"tensor": a.tolist(), "dtype": a.dtype.name, "shape": list(a.shape)}
    if isinstance(x, tuple):
        return {"tuple": [encode(v) for v in x]}
    if isinstance(x, list):
        return {"list": [encode(v) for v in x]}
    raise TypeError(f"a case returned a {type(x).__module__}.{type(x).__qualname__}, which torch never returns here")


def run_case(fn):
    """The encoded result, or {"error": builtin exception class name} when the case raises."""
    try:
        return encode(fn())
    except Exception as e:  # noqa: BLE001  (the fixture records which builtin class torch raised)
        # RuntimeError's subclasses (torch raises NotImplementedError for some dtypes) count as
        # RuntimeError: the class a user's `except` names
        name = "RuntimeError" if isinstance(e, RuntimeError) else next(
            k.__name__ for k in type(e).__mro__ if getattr(builtins, k.__name__, None) is k)
        return {"error": name, "message": str(e).splitlines()[0][:200] if str(e) else ""}


def assert_same(have, want, where="result"):
    (kind,) = [k for k in want if k not in ("dtype", "shape", "message")]
    assert kind in have, f"{where}: torch gives a {kind}, got {have}"
    if kind == "tensor":
        assert have["shape"] == want["shape"], f"{where}: shape {have['shape']}, torch gives {want['shape']}"
        assert have["dtype"] == want["dtype"], f"{where}: dtype {have['dtype']}, torch gives {want['dtype']}"
        h, w = np.array(have["tensor"], dtype=want["dtype"]), np.array(want["tensor"], dtype=want["dtype"])
        if w.dtype.kind == "f":
            np.testing.assert_allclose(h, w, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=where)
        else:
            np.testing.assert_array_equal(h, w, err_msg=where)
    elif kind in ("tuple", "list"):
        assert len(have[kind]) == len(want[kind]), f"{where}: {len(have[kind])} items, torch gives {len(want[kind])}"
        for i, (h, w) in enumerate(zip(have[kind], want[kind])):
            assert_same(h, w, f"{where}[{i}]")
    elif kind == "float":
        assert have["float"] == pytest.approx(want["float"], rel=1e-5, abs=1e-6, nan_ok=True), where
    else:
        assert have[kind] == want[kind], f"{where}: {have[kind]!r}, torch gives {want[kind]!r}"


def _expected():
    return json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}


EXPECTED = _expected()


@pytest.mark.parametrize("name", list(CASES))
def test_everyday_call(name):
    assert name in EXPECTED, f"{name} is not in {FIXTURE.name}: run tests/fixtures/gen/everyday_calls.py"
    want = EXPECTED[name]
    if "error" in want:
        with pytest.raises(getattr(builtins, want["error"])):
            CASES[name]()
        return
    try:
        have = encode(CASES[name]())
    finally:
        torch.set_grad_enabled(True)  # a case that fails inside no_grad must not leak it
    assert_same(have, want, name)
