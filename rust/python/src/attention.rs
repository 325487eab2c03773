//! Bindings of the attention kernels: `sdpa_forward` and `sdpa_backward` for float32 and float64.

use ferrograd_core::attention::{self, AttnFloat};
use numpy::{Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::views::view;

type Arr<'py, T> = PyReadonlyArrayDyn<'py, T>;

#[allow(clippy::type_complexity)]
fn forward_typed<'py, T: AttnFloat + Element>(
    py: Python<'py>,
    q: Arr<'py, T>,
    k: Arr<'py, T>,
    v: Arr<'py, T>,
    mask: Option<Arr<'py, T>>,
    is_causal: bool,
    scale: f64,
) -> PyResult<(Bound<'py, PyArrayDyn<T>>, Bound<'py, PyArrayDyn<T>>)> {
    let (vq, vk, vv) = (view(&q).map_err(to_py)?, view(&k).map_err(to_py)?, view(&v).map_err(to_py)?);
    let vm = match &mask {
        Some(m) => Some(view(m).map_err(to_py)?),
        None => None,
    };
    let g = attention::geometry(vq.shape(), vk.shape(), vv.shape(), vm.as_ref().map(|m| m.shape())).map_err(to_py)?;
    // SAFETY: the kernel writes every element before Python sees the arrays.
    let out = crate::args::alloc::<T>(py, &g.out_shape())?;
    let lse = crate::args::alloc::<T>(py, &g.lse_shape())?;
    {
        let mut o = out.readwrite();
        let mut s = lse.readwrite();
        let (os, ss) = (o.as_slice_mut().expect("new array"), s.as_slice_mut().expect("new array"));
        py.detach(|| attention::sdpa_forward(&vq, &vk, &vv, vm.as_ref(), is_causal, T::from_f64(scale), os, ss))
            .map_err(to_py)?;
    }
    Ok((out, lse))
}

#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn backward_typed<'py, T: AttnFloat + Element>(
    py: Python<'py>,
    q: Arr<'py, T>,
    k: Arr<'py, T>,
    v: Arr<'py, T>,
    mask: Option<Arr<'py, T>>,
    is_causal: bool,
    scale: f64,
    out: Arr<'py, T>,
    lse: Arr<'py, T>,
    dout: Arr<'py, T>,
) -> PyResult<(Bound<'py, PyArrayDyn<T>>, Bound<'py, PyArrayDyn<T>>, Bound<'py, PyArrayDyn<T>>)> {
    let (vq, vk, vv) = (view(&q).map_err(to_py)?, view(&k).map_err(to_py)?, view(&v).map_err(to_py)?);
    let vm = match &mask {
        Some(m) => Some(view(m).map_err(to_py)?),
        None => None,
    };
    let (vo, vdo) = (view(&out).map_err(to_py)?, view(&dout).map_err(to_py)?);
    let lse_slice = crate::args::slice("scaled_dot_product_attention backward", "lse", &lse)?;
    let g = attention::geometry(vq.shape(), vk.shape(), vv.shape(), vm.as_ref().map(|m| m.shape())).map_err(to_py)?;
    let mut dq_shape = g.batch.clone();
    dq_shape.extend([g.l, g.e]);
    let mut dk_shape = g.batch.clone();
    dk_shape.extend([g.s, g.e]);
    let mut dv_shape = g.batch.clone();
    dv_shape.extend([g.s, g.ev]);
    // SAFETY: the kernel fills every element (it zeroes the buffers first).
    let dq = crate::args::alloc::<T>(py, &dq_shape)?;
    let dk = crate::args::alloc::<T>(py, &dk_shape)?;
    let dv = crate::args::alloc::<T>(py, &dv_shape)?;
    {
        let (mut a, mut b, mut c) = (dq.readwrite(), dk.readwrite(), dv.readwrite());
        let (sa, sb, sc) = (
            a.as_slice_mut().expect("new array"),
            b.as_slice_mut().expect("new array"),
            c.as_slice_mut().expect("new array"),
        );
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
    Ok((dq, dk, dv))
}

const DTYPE_ERR: &str =
    "scaled_dot_product_attention: query, key, value (and a float attn_mask) must be numpy arrays of one dtype, float32 or float64";

/// `(out, lse)` of softmax(scale · q kᵀ + mask) v; `mask` is None or an additive float array of
/// shape (batch..., L, S) (a broadcast view is fine).
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
        macro_rules! attempt {
            ($t:ty) => {
                if let (Ok(q), Ok(k), Ok(v)) = (q.extract::<Arr<$t>>(), k.extract::<Arr<$t>>(), v.extract::<Arr<$t>>()) {
                    let m = match mask {
                        Some(m) => Some(m.extract::<Arr<$t>>().map_err(|_| PyTypeError::new_err(DTYPE_ERR))?),
                        None => None,
                    };
                    let (o, l) = forward_typed::<$t>(py, q, k, v, m, is_causal, scale)?;
                    return Ok((o.into_any(), l.into_any()));
                }
            };
        }
        attempt!(f32);
        attempt!(f64);
        Err(PyTypeError::new_err(DTYPE_ERR))
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
        macro_rules! attempt {
            ($t:ty) => {
                if let (Ok(q), Ok(k), Ok(v)) = (q.extract::<Arr<$t>>(), k.extract::<Arr<$t>>(), v.extract::<Arr<$t>>()) {
                    let m = match mask {
                        Some(m) => Some(m.extract::<Arr<$t>>().map_err(|_| PyTypeError::new_err(DTYPE_ERR))?),
                        None => None,
                    };
                    let ty = |x: &Bound<'py, PyAny>| x.extract::<Arr<$t>>().map_err(|_| PyTypeError::new_err(DTYPE_ERR));
                    let (a, b, c) =
                        backward_typed::<$t>(py, q, k, v, m, is_causal, scale, ty(out)?, ty(lse)?, ty(dout)?)?;
                    return Ok((a.into_any(), b.into_any(), c.into_any()));
                }
            };
        }
        attempt!(f32);
        attempt!(f64);
        Err(PyTypeError::new_err(DTYPE_ERR))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sdpa_forward, m)?)?;
    m.add_function(wrap_pyfunction!(sdpa_backward, m)?)?;
    Ok(())
}
