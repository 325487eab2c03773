//! Bindings of the fused recurrent sequence kernels (LSTM, GRU, RNN), forward and backward.
//!
//! Each forward returns a list: the result arrays and the saved buffers backward needs. Arrays
//! are borrowed without copies; every array of one call must have x's dtype (float32/float64).

use ferrograd_core::rnn::{self, Act};
use ferrograd_core::StridedView;
use numpy::{Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::views::view;

pub(crate) type Arr<'py, T> = PyReadonlyArrayDyn<'py, T>;

/// `obj` as a readonly array of dtype T, or a TypeError naming the op and argument.
pub(crate) fn arr<'py, T: Element>(op: &str, what: &str, obj: &Bound<'py, PyAny>) -> PyResult<Arr<'py, T>> {
    obj.extract::<Arr<'py, T>>().map_err(|_| {
        PyTypeError::new_err(format!("{op}: {what} must be a numpy array with the dtype of the input"))
    })
}

pub(crate) fn opt_arr<'py, T: Element>(op: &str, what: &str, obj: Option<&Bound<'py, PyAny>>) -> PyResult<Option<Arr<'py, T>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => arr(op, what, o).map(Some),
    }
}

/// An uninitialised C-contiguous array; the kernels write every element.
pub(crate) fn new_arr<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    crate::args::alloc(py, shape)
}

pub(crate) fn slice<'a, T: Element>(op: &str, what: &str, a: &'a Arr<'_, T>) -> PyResult<&'a [T]> {
    crate::args::slice(op, what, a)
}

pub(crate) fn is_f32(x: &Bound<'_, PyAny>) -> bool {
    x.extract::<Arr<'_, f32>>().is_ok()
}

pub(crate) fn is_f64(x: &Bound<'_, PyAny>) -> bool {
    x.extract::<Arr<'_, f64>>().is_ok()
}

pub(crate) fn dtype_error(op: &str) -> PyErr {
    PyTypeError::new_err(format!("{op}: input must be a float32 or float64 numpy array"))
}

fn opt_view<'a, T: Element>(a: &'a Option<Arr<'_, T>>) -> PyResult<Option<StridedView<'a, T>>> {
    a.as_ref().map(|a| view(a).map_err(to_py)).transpose()
}

macro_rules! by_dtype {
    ($op:expr, $x:expr, $f:ident ( $($arg:expr),* )) => {{
        if is_f32($x) {
            $f::<f32>($($arg),*)
        } else if is_f64($x) {
            $f::<f64>($($arg),*)
        } else {
            Err(dtype_error($op))
        }
    }};
}
pub(crate) use by_dtype;

// ---- LSTM -------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn lstm_fwd<'py, T: Act + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    c0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    b_ih: Option<&Bound<'py, PyAny>>,
    b_hh: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let op = "lstm_forward";
    let (x, h0, c0) = (arr::<T>(op, "input", x)?, arr::<T>(op, "h0", h0)?, arr::<T>(op, "c0", c0)?);
    let (w_ih, w_hh) = (arr::<T>(op, "weight_ih", w_ih)?, arr::<T>(op, "weight_hh", w_hh)?);
    let (b_ih, b_hh) = (opt_arr::<T>(op, "bias_ih", b_ih)?, opt_arr::<T>(op, "bias_hh", b_hh)?);
    let (vx, vh0, vc0) = (view(&x).map_err(to_py)?, view(&h0).map_err(to_py)?, view(&c0).map_err(to_py)?);
    let (vwi, vwh) = (view(&w_ih).map_err(to_py)?, view(&w_hh).map_err(to_py)?);
    let (vbi, vbh) = (opt_view(&b_ih)?, opt_view(&b_hh)?);
    let d = rnn::check("lstm_sequence", 4, &vx, &vh0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref()).map_err(to_py)?;
    let (b, l, h) = (d.b, d.l, d.h);
    let packed = new_arr::<T>(py, &[b * l * h + b * h])?;
    let gates = new_arr::<T>(py, &[l, b, 4 * h])?;
    let cells = new_arr::<T>(py, &[l, b, h])?;
    let hs = new_arr::<T>(py, &[l + 1, b, h])?;
    {
        let (mut p, mut g, mut c, mut s) = (packed.readwrite(), gates.readwrite(), cells.readwrite(), hs.readwrite());
        let p = p.as_slice_mut().expect("new arrays are contiguous");
        let (out, c_n) = p.split_at_mut(b * l * h);
        let (g, c, s) = (g.as_slice_mut().unwrap(), c.as_slice_mut().unwrap(), s.as_slice_mut().unwrap());
        py.detach(|| rnn::lstm_forward(&vx, &vh0, &vc0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref(), out, c_n, g, c, s))
            .map_err(to_py)?;
    }
    Ok(vec![packed.into_any(), gates.into_any(), cells.into_any(), hs.into_any()])
}

/// `lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh) -> [packed (out then c_n, flat), gates, cells, hs]`
#[pyfunction]
#[pyo3(signature = (x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None))]
#[allow(clippy::too_many_arguments)]
pub fn lstm_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    c0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    b_ih: Option<&Bound<'py, PyAny>>,
    b_hh: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("lstm_forward", || {
        by_dtype!("lstm_forward", x, lstm_fwd(py, x, h0, c0, w_ih, w_hh, b_ih, b_hh))
    })
}

#[allow(clippy::too_many_arguments)]
fn lstm_bwd<'py, T: Act + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    c0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    gates: &Bound<'py, PyAny>,
    cells: &Bound<'py, PyAny>,
    hs: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    gc_n: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let op = "lstm_backward";
    let (x, c0) = (arr::<T>(op, "input", x)?, arr::<T>(op, "c0", c0)?);
    let (w_ih, w_hh) = (arr::<T>(op, "weight_ih", w_ih)?, arr::<T>(op, "weight_hh", w_hh)?);
    let (gates, cells, hs) = (arr::<T>(op, "gates", gates)?, arr::<T>(op, "cells", cells)?, arr::<T>(op, "hs", hs)?);
    let (gy, gc_n) = (arr::<T>(op, "gy", gy)?, arr::<T>(op, "gc_n", gc_n)?);
    let (vx, vc0) = (view(&x).map_err(to_py)?, view(&c0).map_err(to_py)?);
    let (vwi, vwh) = (view(&w_ih).map_err(to_py)?, view(&w_hh).map_err(to_py)?);
    let (sg, sc, ss) = (slice(op, "gates", &gates)?, slice(op, "cells", &cells)?, slice(op, "hs", &hs)?);
    let (sgy, sgc) = (slice(op, "gy", &gy)?, slice(op, "gc_n", &gc_n)?);
    let d = rnn::check("lstm_sequence", 4, &vx, &vc0, &vwi, &vwh, None, None).map_err(to_py)?;
    let (b, l, i, h) = (d.b, d.l, d.i, d.h);
    let dx = new_arr::<T>(py, &[b, l, i])?;
    let dh0 = new_arr::<T>(py, &[b, h])?;
    let dc0 = new_arr::<T>(py, &[b, h])?;
    let dwi = new_arr::<T>(py, &[4 * h, i])?;
    let dwh = new_arr::<T>(py, &[4 * h, h])?;
    let db = new_arr::<T>(py, &[4 * h])?;
    {
        let (mut a, mut bb, mut c, mut e, mut f, mut g) =
            (dx.readwrite(), dh0.readwrite(), dc0.readwrite(), dwi.readwrite(), dwh.readwrite(), db.readwrite());
        let (a, bb, c) = (a.as_slice_mut().unwrap(), bb.as_slice_mut().unwrap(), c.as_slice_mut().unwrap());
        let (e, f, g) = (e.as_slice_mut().unwrap(), f.as_slice_mut().unwrap(), g.as_slice_mut().unwrap());
        py.detach(|| rnn::lstm_backward(&vx, &vc0, &vwi, &vwh, sg, sc, ss, sgy, sgc, a, bb, c, e, f, g)).map_err(to_py)?;
    }
    Ok(vec![dx.into_any(), dh0.into_any(), dc0.into_any(), dwi.into_any(), dwh.into_any(), db.into_any()])
}

/// `lstm_backward(x, c0, w_ih, w_hh, gates, cells, hs, gy, gc_n) -> [dx, dh0, dc0, dw_ih, dw_hh, db]`
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn lstm_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    c0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    gates: &Bound<'py, PyAny>,
    cells: &Bound<'py, PyAny>,
    hs: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    gc_n: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("lstm_backward", || {
        by_dtype!("lstm_backward", x, lstm_bwd(py, x, c0, w_ih, w_hh, gates, cells, hs, gy, gc_n))
    })
}

// ---- GRU --------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn gru_fwd<'py, T: Act + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    b_ih: Option<&Bound<'py, PyAny>>,
    b_hh: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let op = "gru_forward";
    let (x, h0) = (arr::<T>(op, "input", x)?, arr::<T>(op, "h0", h0)?);
    let (w_ih, w_hh) = (arr::<T>(op, "weight_ih", w_ih)?, arr::<T>(op, "weight_hh", w_hh)?);
    let (b_ih, b_hh) = (opt_arr::<T>(op, "bias_ih", b_ih)?, opt_arr::<T>(op, "bias_hh", b_hh)?);
    let (vx, vh0) = (view(&x).map_err(to_py)?, view(&h0).map_err(to_py)?);
    let (vwi, vwh) = (view(&w_ih).map_err(to_py)?, view(&w_hh).map_err(to_py)?);
    let (vbi, vbh) = (opt_view(&b_ih)?, opt_view(&b_hh)?);
    let d = rnn::check("gru_sequence", 3, &vx, &vh0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref()).map_err(to_py)?;
    let (b, l, h) = (d.b, d.l, d.h);
    let out = new_arr::<T>(py, &[b, l, h])?;
    let gates = new_arr::<T>(py, &[l, b, 3 * h])?;
    let hn = new_arr::<T>(py, &[l, b, h])?;
    let hs = new_arr::<T>(py, &[l + 1, b, h])?;
    {
        let (mut o, mut g, mut n, mut s) = (out.readwrite(), gates.readwrite(), hn.readwrite(), hs.readwrite());
        let (o, g) = (o.as_slice_mut().unwrap(), g.as_slice_mut().unwrap());
        let (n, s) = (n.as_slice_mut().unwrap(), s.as_slice_mut().unwrap());
        py.detach(|| rnn::gru_forward(&vx, &vh0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref(), o, g, n, s)).map_err(to_py)?;
    }
    Ok(vec![out.into_any(), gates.into_any(), hn.into_any(), hs.into_any()])
}

/// `gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh) -> [out, gates, hn, hs]`
#[pyfunction]
#[pyo3(signature = (x, h0, w_ih, w_hh, b_ih=None, b_hh=None))]
pub fn gru_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    b_ih: Option<&Bound<'py, PyAny>>,
    b_hh: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("gru_forward", || {
        by_dtype!("gru_forward", x, gru_fwd(py, x, h0, w_ih, w_hh, b_ih, b_hh))
    })
}

#[allow(clippy::too_many_arguments)]
fn gru_bwd<'py, T: Act + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    gates: &Bound<'py, PyAny>,
    hn: &Bound<'py, PyAny>,
    hs: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let op = "gru_backward";
    let (x, h0) = (arr::<T>(op, "input", x)?, arr::<T>(op, "h0", h0)?);
    let (w_ih, w_hh) = (arr::<T>(op, "weight_ih", w_ih)?, arr::<T>(op, "weight_hh", w_hh)?);
    let (gates, hn, hs, gy) =
        (arr::<T>(op, "gates", gates)?, arr::<T>(op, "hn", hn)?, arr::<T>(op, "hs", hs)?, arr::<T>(op, "gy", gy)?);
    let (vx, vh0) = (view(&x).map_err(to_py)?, view(&h0).map_err(to_py)?);
    let (vwi, vwh) = (view(&w_ih).map_err(to_py)?, view(&w_hh).map_err(to_py)?);
    let (sg, sn, ss, sgy) =
        (slice(op, "gates", &gates)?, slice(op, "hn", &hn)?, slice(op, "hs", &hs)?, slice(op, "gy", &gy)?);
    let d = rnn::check("gru_sequence", 3, &vx, &vh0, &vwi, &vwh, None, None).map_err(to_py)?;
    let (b, l, i, h) = (d.b, d.l, d.i, d.h);
    let dx = new_arr::<T>(py, &[b, l, i])?;
    let dh0 = new_arr::<T>(py, &[b, h])?;
    let dwi = new_arr::<T>(py, &[3 * h, i])?;
    let dwh = new_arr::<T>(py, &[3 * h, h])?;
    let dbi = new_arr::<T>(py, &[3 * h])?;
    let dbh = new_arr::<T>(py, &[3 * h])?;
    {
        let (mut a, mut bb, mut e, mut f, mut g, mut k) =
            (dx.readwrite(), dh0.readwrite(), dwi.readwrite(), dwh.readwrite(), dbi.readwrite(), dbh.readwrite());
        let (a, bb, e) = (a.as_slice_mut().unwrap(), bb.as_slice_mut().unwrap(), e.as_slice_mut().unwrap());
        let (f, g, k) = (f.as_slice_mut().unwrap(), g.as_slice_mut().unwrap(), k.as_slice_mut().unwrap());
        py.detach(|| rnn::gru_backward(&vx, &vh0, &vwi, &vwh, sg, sn, ss, sgy, a, bb, e, f, g, k)).map_err(to_py)?;
    }
    Ok(vec![dx.into_any(), dh0.into_any(), dwi.into_any(), dwh.into_any(), dbi.into_any(), dbh.into_any()])
}

/// `gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy) -> [dx, dh0, dw_ih, dw_hh, db_ih, db_hh]`
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn gru_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    gates: &Bound<'py, PyAny>,
    hn: &Bound<'py, PyAny>,
    hs: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("gru_backward", || {
        by_dtype!("gru_backward", x, gru_bwd(py, x, h0, w_ih, w_hh, gates, hn, hs, gy))
    })
}

// ---- RNN --------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn rnn_fwd<'py, T: Act + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    b_ih: Option<&Bound<'py, PyAny>>,
    b_hh: Option<&Bound<'py, PyAny>>,
    relu: bool,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let op = "rnn_forward";
    let (x, h0) = (arr::<T>(op, "input", x)?, arr::<T>(op, "h0", h0)?);
    let (w_ih, w_hh) = (arr::<T>(op, "weight_ih", w_ih)?, arr::<T>(op, "weight_hh", w_hh)?);
    let (b_ih, b_hh) = (opt_arr::<T>(op, "bias_ih", b_ih)?, opt_arr::<T>(op, "bias_hh", b_hh)?);
    let (vx, vh0) = (view(&x).map_err(to_py)?, view(&h0).map_err(to_py)?);
    let (vwi, vwh) = (view(&w_ih).map_err(to_py)?, view(&w_hh).map_err(to_py)?);
    let (vbi, vbh) = (opt_view(&b_ih)?, opt_view(&b_hh)?);
    let d = rnn::check("rnn_sequence", 1, &vx, &vh0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref()).map_err(to_py)?;
    let (b, l, h) = (d.b, d.l, d.h);
    let out = new_arr::<T>(py, &[b, l, h])?;
    let hs = new_arr::<T>(py, &[l + 1, b, h])?;
    {
        let (mut o, mut s) = (out.readwrite(), hs.readwrite());
        let (o, s) = (o.as_slice_mut().unwrap(), s.as_slice_mut().unwrap());
        py.detach(|| rnn::rnn_forward(&vx, &vh0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref(), relu, o, s)).map_err(to_py)?;
    }
    Ok(vec![out.into_any(), hs.into_any()])
}

/// `rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, relu) -> [out, hs]`
#[pyfunction]
#[pyo3(signature = (x, h0, w_ih, w_hh, b_ih=None, b_hh=None, relu=false))]
#[allow(clippy::too_many_arguments)]
pub fn rnn_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    b_ih: Option<&Bound<'py, PyAny>>,
    b_hh: Option<&Bound<'py, PyAny>>,
    relu: bool,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("rnn_forward", || {
        by_dtype!("rnn_forward", x, rnn_fwd(py, x, h0, w_ih, w_hh, b_ih, b_hh, relu))
    })
}

#[allow(clippy::too_many_arguments)]
fn rnn_bwd<'py, T: Act + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    relu: bool,
    hs: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let op = "rnn_backward";
    let (x, h0) = (arr::<T>(op, "input", x)?, arr::<T>(op, "h0", h0)?);
    let (w_ih, w_hh) = (arr::<T>(op, "weight_ih", w_ih)?, arr::<T>(op, "weight_hh", w_hh)?);
    let (hs, gy) = (arr::<T>(op, "hs", hs)?, arr::<T>(op, "gy", gy)?);
    let (vx, vh0) = (view(&x).map_err(to_py)?, view(&h0).map_err(to_py)?);
    let (vwi, vwh) = (view(&w_ih).map_err(to_py)?, view(&w_hh).map_err(to_py)?);
    let (ss, sgy) = (slice(op, "hs", &hs)?, slice(op, "gy", &gy)?);
    let d = rnn::check("rnn_sequence", 1, &vx, &vh0, &vwi, &vwh, None, None).map_err(to_py)?;
    let (b, l, i, h) = (d.b, d.l, d.i, d.h);
    let dx = new_arr::<T>(py, &[b, l, i])?;
    let dh0 = new_arr::<T>(py, &[b, h])?;
    let dwi = new_arr::<T>(py, &[h, i])?;
    let dwh = new_arr::<T>(py, &[h, h])?;
    let db = new_arr::<T>(py, &[h])?;
    {
        let (mut a, mut bb, mut e, mut f, mut g) =
            (dx.readwrite(), dh0.readwrite(), dwi.readwrite(), dwh.readwrite(), db.readwrite());
        let (a, bb, e) = (a.as_slice_mut().unwrap(), bb.as_slice_mut().unwrap(), e.as_slice_mut().unwrap());
        let (f, g) = (f.as_slice_mut().unwrap(), g.as_slice_mut().unwrap());
        py.detach(|| rnn::rnn_backward(&vx, &vh0, &vwi, &vwh, relu, ss, sgy, a, bb, e, f, g)).map_err(to_py)?;
    }
    Ok(vec![dx.into_any(), dh0.into_any(), dwi.into_any(), dwh.into_any(), db.into_any()])
}

/// `rnn_backward(x, h0, w_ih, w_hh, relu, hs, gy) -> [dx, dh0, dw_ih, dw_hh, db]`
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn rnn_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    h0: &Bound<'py, PyAny>,
    w_ih: &Bound<'py, PyAny>,
    w_hh: &Bound<'py, PyAny>,
    relu: bool,
    hs: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    crate::args::guard("rnn_backward", || {
        by_dtype!("rnn_backward", x, rnn_bwd(py, x, h0, w_ih, w_hh, relu, hs, gy))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(lstm_forward, m)?)?;
    m.add_function(wrap_pyfunction!(lstm_backward, m)?)?;
    m.add_function(wrap_pyfunction!(gru_forward, m)?)?;
    m.add_function(wrap_pyfunction!(gru_backward, m)?)?;
    m.add_function(wrap_pyfunction!(rnn_forward, m)?)?;
    m.add_function(wrap_pyfunction!(rnn_backward, m)?)?;
    Ok(())
}
