//! Bindings of the MLP-Mixer mixing kernels (token and channel mixing), forward and backward.

use ferrograd_core::mixing;
use ferrograd_core::num::Act;
use numpy::{Element, PyArrayMethods};
use pyo3::prelude::*;

use crate::args::{alloc, arr, by_dtype, opt_arr, opt_view, out_slice, slice, view};
use crate::errors::to_py;

#[allow(clippy::too_many_arguments)]
fn mix_fwd<'py, T: Act + Element>(
    py: Python<'py>,
    token: bool,
    x: &Bound<'py, PyAny>,
    w1: &Bound<'py, PyAny>,
    b1: Option<&Bound<'py, PyAny>>,
    w2: &Bound<'py, PyAny>,
    b2: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let op = if token { "token_mixing" } else { "channel_mixing" };
    let (x, w1, w2) = (arr::<T>(op, "input", x)?, arr::<T>(op, "w1", w1)?, arr::<T>(op, "w2", w2)?);
    let (b1, b2) = (opt_arr::<T>(op, "b1", b1)?, opt_arr::<T>(op, "b2", b2)?);
    let (vx, vw1, vw2) = (view(&x)?, view(&w1)?, view(&w2)?);
    let (vb1, vb2) = (opt_view(&b1)?, opt_view(&b2)?);
    let xs = vx.shape().to_vec();
    let d = if vw1.ndim() == 2 { vw1.shape()[0] } else { 0 };
    let hshape: Vec<usize> = if token && xs.len() == 3 {
        vec![xs[0], d, xs[2]]
    } else if !token && xs.len() == 2 {
        vec![xs[0], d]
    } else {
        vec![0]
    };
    let y = alloc::<T>(py, &xs)?;
    let hpre = alloc::<T>(py, &hshape)?;
    let act = alloc::<T>(py, &hshape)?;
    {
        let (mut yw, mut hw, mut aw) = (y.readwrite(), hpre.readwrite(), act.readwrite());
        let (ys, hs, as_) = (out_slice(&mut yw)?, out_slice(&mut hw)?, out_slice(&mut aw)?);
        py.detach(|| {
            if token {
                mixing::token_mixing_forward(&vx, &vw1, vb1.as_ref(), &vw2, vb2.as_ref(), hs, as_, ys)
            } else {
                mixing::channel_mixing_forward(&vx, &vw1, vb1.as_ref(), &vw2, vb2.as_ref(), hs, as_, ys)
            }
        })
        .map_err(to_py)?;
    }
    Ok(vec![y.into_any(), hpre.into_any(), act.into_any()])
}

#[allow(clippy::too_many_arguments)]
fn mix_bwd<'py, T: Act + Element>(
    py: Python<'py>,
    token: bool,
    x: &Bound<'py, PyAny>,
    w1: &Bound<'py, PyAny>,
    w2: &Bound<'py, PyAny>,
    hpre: &Bound<'py, PyAny>,
    act: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let op = if token { "token_mixing backward" } else { "channel_mixing backward" };
    let (x, w1, w2) = (arr::<T>(op, "input", x)?, arr::<T>(op, "w1", w1)?, arr::<T>(op, "w2", w2)?);
    let (hpre, act, gy) = (arr::<T>(op, "hpre", hpre)?, arr::<T>(op, "act", act)?, arr::<T>(op, "gy", gy)?);
    let (vx, vw1, vw2) = (view(&x)?, view(&w1)?, view(&w2)?);
    let (sh, sa, sg) = (slice(op, "hpre", &hpre)?, slice(op, "act", &act)?, slice(op, "gy", &gy)?);
    let w1s = vw1.shape().to_vec();
    let w2s = vw2.shape().to_vec();
    let dx = alloc::<T>(py, vx.shape())?;
    let dw1 = alloc::<T>(py, &w1s)?;
    let dw2 = alloc::<T>(py, &w2s)?;
    let db1 = alloc::<T>(py, &[w1s.first().copied().unwrap_or(0)])?;
    let db2 = alloc::<T>(py, &[w2s.first().copied().unwrap_or(0)])?;
    {
        let (mut a, mut b, mut c, mut d, mut e) =
            (dx.readwrite(), dw1.readwrite(), db1.readwrite(), dw2.readwrite(), db2.readwrite());
        let (a, b, c) = (out_slice(&mut a)?, out_slice(&mut b)?, out_slice(&mut c)?);
        let (d, e) = (out_slice(&mut d)?, out_slice(&mut e)?);
        py.detach(|| {
            if token {
                mixing::token_mixing_backward(&vx, &vw1, &vw2, sh, sa, sg, a, b, c, d, e)
            } else {
                mixing::channel_mixing_backward(&vx, &vw1, &vw2, sh, sa, sg, a, b, c, d, e)
            }
        })
        .map_err(to_py)?;
    }
    Ok(vec![dx.into_any(), dw1.into_any(), db1.into_any(), dw2.into_any(), db2.into_any()])
}

/// `token_mixing_forward(x (B,S,C), w1 (D,S), b1, w2 (S,D), b2) -> [y, hpre, act]`
#[pyfunction]
#[pyo3(signature = (x, w1, b1, w2, b2))]
pub fn token_mixing_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w1: &Bound<'py, PyAny>,
    b1: Option<&Bound<'py, PyAny>>,
    w2: &Bound<'py, PyAny>,
    b2: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("token_mixing_forward", || {
        by_dtype!("token_mixing", x, mix_fwd(py, true, x, w1, b1, w2, b2))
    })
}

/// `channel_mixing_forward(x (N,C), w1 (D,C), b1, w2 (C,D), b2) -> [y, hpre, act]`
#[pyfunction]
#[pyo3(signature = (x, w1, b1, w2, b2))]
pub fn channel_mixing_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w1: &Bound<'py, PyAny>,
    b1: Option<&Bound<'py, PyAny>>,
    w2: &Bound<'py, PyAny>,
    b2: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("channel_mixing_forward", || {
        by_dtype!("channel_mixing", x, mix_fwd(py, false, x, w1, b1, w2, b2))
    })
}

/// `token_mixing_backward(x, w1, w2, hpre, act, gy) -> [dx, dw1, db1, dw2, db2]`
#[pyfunction]
pub fn token_mixing_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w1: &Bound<'py, PyAny>,
    w2: &Bound<'py, PyAny>,
    hpre: &Bound<'py, PyAny>,
    act: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("token_mixing_backward", || {
        by_dtype!("token_mixing backward", x, mix_bwd(py, true, x, w1, w2, hpre, act, gy))
    })
}

/// `channel_mixing_backward(x, w1, w2, hpre, act, gy) -> [dx, dw1, db1, dw2, db2]`
#[pyfunction]
pub fn channel_mixing_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w1: &Bound<'py, PyAny>,
    w2: &Bound<'py, PyAny>,
    hpre: &Bound<'py, PyAny>,
    act: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("channel_mixing_backward", || {
        by_dtype!("channel_mixing backward", x, mix_bwd(py, false, x, w1, w2, hpre, act, gy))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(token_mixing_forward, m)?)?;
    m.add_function(wrap_pyfunction!(token_mixing_backward, m)?)?;
    m.add_function(wrap_pyfunction!(channel_mixing_forward, m)?)?;
    m.add_function(wrap_pyfunction!(channel_mixing_backward, m)?)?;
    Ok(())
}
