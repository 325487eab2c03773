//! Bindings of the attention kernels: `sdpa_forward` and `sdpa_backward` for float32 and float64.

use ferrograd_core::attention::{self, AttnFloat, Packed};
use numpy::{Element, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::{alloc, arr, by_dtype, opt_arr, opt_view, out_slice, slice, view};
use crate::errors::to_py;

/// The op name in every message (the Python function's name).
const OP: &str = "scaled_dot_product_attention";

#[allow(clippy::too_many_arguments)]
fn forward_typed<'py, T: AttnFloat + Element>(
    py: Python<'py>,
    q: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    mask: Option<&Bound<'py, PyAny>>,
    is_causal: bool,
    scale: f64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (q, k, v) = (
        arr::<T>(OP, "query", q)?,
        arr::<T>(OP, "key", k)?,
        arr::<T>(OP, "value", v)?,
    );
    let mask = opt_arr::<T>(OP, "attn_mask", mask)?;
    let (vq, vk, vv) = (view(&q)?, view(&k)?, view(&v)?);
    let vm = opt_view(&mask)?;
    let g = attention::geometry(
        vq.shape(),
        vk.shape(),
        vv.shape(),
        vm.as_ref().map(|m| m.shape()),
    )
    .map_err(to_py)?;
    // The kernel writes every element before Python sees the arrays.
    let out = alloc::<T>(py, &g.out_shape())?;
    let lse = alloc::<T>(py, &g.lse_shape())?;
    {
        let (mut o, mut s) = (out.readwrite(), lse.readwrite());
        let (os, ss) = (out_slice(&mut o)?, out_slice(&mut s)?);
        py.detach(|| {
            attention::sdpa_forward(
                &vq,
                &vk,
                &vv,
                vm.as_ref(),
                is_causal,
                T::from_f64(scale),
                os,
                ss,
            )
        })
        .map_err(to_py)?;
    }
    Ok((out.into_any(), lse.into_any()))
}

#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn backward_typed<'py, T: AttnFloat + Element>(
    py: Python<'py>,
    q: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    mask: Option<&Bound<'py, PyAny>>,
    is_causal: bool,
    scale: f64,
    out: &Bound<'py, PyAny>,
    lse: &Bound<'py, PyAny>,
    dout: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (q, k, v) = (
        arr::<T>(OP, "query", q)?,
        arr::<T>(OP, "key", k)?,
        arr::<T>(OP, "value", v)?,
    );
    let mask = opt_arr::<T>(OP, "attn_mask", mask)?;
    let (out, lse, dout) = (
        arr::<T>(OP, "out", out)?,
        arr::<T>(OP, "lse", lse)?,
        arr::<T>(OP, "grad_out", dout)?,
    );
    let (vq, vk, vv) = (view(&q)?, view(&k)?, view(&v)?);
    let vm = opt_view(&mask)?;
    let (vo, vdo) = (view(&out)?, view(&dout)?);
    let lse_slice = slice("scaled_dot_product_attention backward", "lse", &lse)?;
    let g = attention::geometry(
        vq.shape(),
        vk.shape(),
        vv.shape(),
        vm.as_ref().map(|m| m.shape()),
    )
    .map_err(to_py)?;
    let mut dq_shape = g.batch.clone();
    dq_shape.extend([g.l, g.e]);
    let mut dk_shape = g.batch.clone();
    dk_shape.extend([g.s, g.e]);
    let mut dv_shape = g.batch.clone();
    dv_shape.extend([g.s, g.ev]);
    // The kernel fills every element (it zeroes the buffers first).
    let dq = alloc::<T>(py, &dq_shape)?;
    let dk = alloc::<T>(py, &dk_shape)?;
    let dv = alloc::<T>(py, &dv_shape)?;
    {
        let (mut a, mut b, mut c) = (dq.readwrite(), dk.readwrite(), dv.readwrite());
        let (sa, sb, sc) = (out_slice(&mut a)?, out_slice(&mut b)?, out_slice(&mut c)?);
        py.detach(|| {
            attention::sdpa_backward(
                &vq,
                &vk,
                &vv,
                vm.as_ref(),
                is_causal,
                T::from_f64(scale),
                &vo,
                lse_slice,
                &vdo,
                sa,
                sb,
                sc,
            )
        })
        .map_err(to_py)?;
    }
    Ok((dq.into_any(), dk.into_any(), dv.into_any()))
}

/// `(out, lse)` of softmax(scale · q kᵀ + mask) v; `mask` is None or an additive float array of
/// shape (batch..., L, S) (a broadcast view is fine). All arrays have q's dtype.
#[pyfunction]
#[pyo3(signature = (q, k, v, mask, is_causal, scale))]
pub fn sdpa_forward<'py>(
    py: Python<'py>,
    q: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    mask: Option<&Bound<'py, PyAny>>,
    is_causal: bool,
    scale: f64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    crate::args::guard("sdpa_forward", || {
        by_dtype!(OP, q, forward_typed(py, q, k, v, mask, is_causal, scale))
    })
}

/// `(dq, dk, dv)` in the broadcast batch shape, from the forward's `out` and `lse` and `dout`.
#[pyfunction]
#[pyo3(signature = (q, k, v, mask, is_causal, scale, out, lse, dout))]
#[allow(clippy::too_many_arguments)]
pub fn sdpa_backward<'py>(
    py: Python<'py>,
    q: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    mask: Option<&Bound<'py, PyAny>>,
    is_causal: bool,
    scale: f64,
    out: &Bound<'py, PyAny>,
    lse: &Bound<'py, PyAny>,
    dout: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    crate::args::guard("sdpa_backward", || {
        by_dtype!(
            OP,
            q,
            backward_typed(py, q, k, v, mask, is_causal, scale, out, lse, dout)
        )
    })
}

/// The sizes of a packed (B, L, 3E) qkv with `heads` heads, or ValueError.
fn packed_sizes<T: Element>(
    op: &str,
    qkv: &crate::args::Arr<'_, T>,
    heads: usize,
) -> PyResult<Packed> {
    let shape = qkv.shape();
    if shape.len() != 3 || heads == 0 || shape[2] % (3 * heads) != 0 {
        return Err(PyValueError::new_err(format!(
            "{op}: qkv must be (batch, len, 3 * heads * head_dim) with heads >= 1, got shape {shape:?} and heads {heads}"
        )));
    }
    Ok(Packed {
        batch: shape[0],
        len: shape[1],
        heads,
        head_dim: shape[2] / (3 * heads),
    })
}

fn packed_forward_typed<'py, T: AttnFloat + Element>(
    py: Python<'py>,
    qkv: &Bound<'py, PyAny>,
    heads: usize,
    mask: Option<&Bound<'py, PyAny>>,
    scale: f64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let qkv = arr::<T>(OP, "qkv", qkv)?;
    let p = packed_sizes(OP, &qkv, heads)?;
    let data = slice(OP, "qkv", &qkv)?;
    let mask = opt_arr::<T>(OP, "attn_mask", mask)?;
    let vm = opt_view(&mask)?;
    let e = p.heads * p.head_dim;
    let out = alloc::<T>(py, &[p.batch, p.len, e])?;
    let lse = alloc::<T>(py, &[p.batch, p.heads, p.len])?;
    {
        let (mut o, mut s) = (out.readwrite(), lse.readwrite());
        let (os, ss) = (out_slice(&mut o)?, out_slice(&mut s)?);
        py.detach(|| {
            attention::sdpa_packed_forward(data, p, vm.as_ref(), T::from_f64(scale), os, ss)
        })
        .map_err(to_py)?;
    }
    Ok((out.into_any(), lse.into_any()))
}

#[allow(clippy::too_many_arguments)]
fn packed_backward_typed<'py, T: AttnFloat + Element>(
    py: Python<'py>,
    qkv: &Bound<'py, PyAny>,
    heads: usize,
    mask: Option<&Bound<'py, PyAny>>,
    scale: f64,
    out: &Bound<'py, PyAny>,
    lse: &Bound<'py, PyAny>,
    dout: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let qkv = arr::<T>(OP, "qkv", qkv)?;
    let p = packed_sizes(OP, &qkv, heads)?;
    let data = slice(OP, "qkv", &qkv)?;
    let mask = opt_arr::<T>(OP, "attn_mask", mask)?;
    let vm = opt_view(&mask)?;
    let (out, lse, dout) = (
        arr::<T>(OP, "out", out)?,
        arr::<T>(OP, "lse", lse)?,
        arr::<T>(OP, "grad_out", dout)?,
    );
    let (os, ls) = (slice(OP, "out", &out)?, slice(OP, "lse", &lse)?);
    let vg = view(&dout)?;
    let dqkv = alloc::<T>(py, qkv.shape())?;
    {
        let mut d = dqkv.readwrite();
        let ds = out_slice(&mut d)?;
        py.detach(|| {
            attention::sdpa_packed_backward(
                data,
                p,
                vm.as_ref(),
                T::from_f64(scale),
                os,
                ls,
                &vg,
                ds,
            )
        })
        .map_err(to_py)?;
    }
    Ok(dqkv.into_any())
}

/// `(out (B, L, E), lse (B, heads, L))` of self-attention on a packed projection `qkv`
/// (B, L, 3E) laid out (B, L, [q|k|v], heads, head_dim), C-contiguous; `mask` None or an
/// additive (B, heads, L, L) array (a broadcast view is fine).
#[pyfunction]
#[pyo3(signature = (qkv, heads, mask, scale))]
pub fn sdpa_packed_forward<'py>(
    py: Python<'py>,
    qkv: &Bound<'py, PyAny>,
    heads: usize,
    mask: Option<&Bound<'py, PyAny>>,
    scale: f64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    crate::args::guard("sdpa_packed_forward", || {
        by_dtype!(OP, qkv, packed_forward_typed(py, qkv, heads, mask, scale))
    })
}

/// The packed gradient dqkv (B, L, 3E) of `sdpa_packed_forward`, from its `out` and `lse` and the
/// output gradient `dout` (B, L, E), any strides.
#[pyfunction]
#[pyo3(signature = (qkv, heads, mask, scale, out, lse, dout))]
#[allow(clippy::too_many_arguments)]
pub fn sdpa_packed_backward<'py>(
    py: Python<'py>,
    qkv: &Bound<'py, PyAny>,
    heads: usize,
    mask: Option<&Bound<'py, PyAny>>,
    scale: f64,
    out: &Bound<'py, PyAny>,
    lse: &Bound<'py, PyAny>,
    dout: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("sdpa_packed_backward", || {
        by_dtype!(
            OP,
            qkv,
            packed_backward_typed(py, qkv, heads, mask, scale, out, lse, dout)
        )
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sdpa_forward, m)?)?;
    m.add_function(wrap_pyfunction!(sdpa_backward, m)?)?;
    m.add_function(wrap_pyfunction!(sdpa_packed_forward, m)?)?;
    m.add_function(wrap_pyfunction!(sdpa_packed_backward, m)?)?;
    Ok(())
}
