//! Bindings of the fused recurrent sequence kernels (LSTM, GRU, RNN), forward and backward.
//!
//! Each forward returns a list: the result arrays and the saved buffers backward needs. Arrays
//! are borrowed without copies; every array of one call must have x's dtype (float32/float64).

use ferrograd_core::num::Act;
use ferrograd_core::rnn;
use numpy::{Element, PyArrayMethods};
use pyo3::prelude::*;

use crate::args::{alloc, arr, by_dtype, opt_arr, opt_view, out_slice, slice, view};
use crate::errors::to_py;

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
    let (vx, vh0, vc0) = (view(&x)?, view(&h0)?, view(&c0)?);
    let (vwi, vwh) = (view(&w_ih)?, view(&w_hh)?);
    let (vbi, vbh) = (opt_view(&b_ih)?, opt_view(&b_hh)?);
    let d = rnn::check("lstm_sequence", 4, &vx, &vh0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref()).map_err(to_py)?;
    let (b, l, h) = (d.b, d.l, d.h);
    let packed = alloc::<T>(py, &[b * l * h + b * h])?;
    let gates = alloc::<T>(py, &[l, b, 4 * h])?;
    let cells = alloc::<T>(py, &[l, b, h])?;
    let hs = alloc::<T>(py, &[l + 1, b, h])?;
    {
        let (mut p, mut g, mut c, mut s) = (packed.readwrite(), gates.readwrite(), cells.readwrite(), hs.readwrite());
        let p = out_slice(&mut p)?;
        let (out, c_n) = p.split_at_mut(b * l * h);
        let (g, c, s) = (out_slice(&mut g)?, out_slice(&mut c)?, out_slice(&mut s)?);
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
    let (vx, vc0) = (view(&x)?, view(&c0)?);
    let (vwi, vwh) = (view(&w_ih)?, view(&w_hh)?);
    let (sg, sc, ss) = (slice(op, "gates", &gates)?, slice(op, "cells", &cells)?, slice(op, "hs", &hs)?);
    let (sgy, sgc) = (slice(op, "gy", &gy)?, slice(op, "gc_n", &gc_n)?);
    let d = rnn::check("lstm_sequence", 4, &vx, &vc0, &vwi, &vwh, None, None).map_err(to_py)?;
    let (b, l, i, h) = (d.b, d.l, d.i, d.h);
    let dx = alloc::<T>(py, &[b, l, i])?;
    let dh0 = alloc::<T>(py, &[b, h])?;
    let dc0 = alloc::<T>(py, &[b, h])?;
    let dwi = alloc::<T>(py, &[4 * h, i])?;
    let dwh = alloc::<T>(py, &[4 * h, h])?;
    let db = alloc::<T>(py, &[4 * h])?;
    {
        let (mut a, mut bb, mut c, mut e, mut f, mut g) =
            (dx.readwrite(), dh0.readwrite(), dc0.readwrite(), dwi.readwrite(), dwh.readwrite(), db.readwrite());
        let (a, bb, c) = (out_slice(&mut a)?, out_slice(&mut bb)?, out_slice(&mut c)?);
        let (e, f, g) = (out_slice(&mut e)?, out_slice(&mut f)?, out_slice(&mut g)?);
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
    let (vx, vh0) = (view(&x)?, view(&h0)?);
    let (vwi, vwh) = (view(&w_ih)?, view(&w_hh)?);
    let (vbi, vbh) = (opt_view(&b_ih)?, opt_view(&b_hh)?);
    let d = rnn::check("gru_sequence", 3, &vx, &vh0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref()).map_err(to_py)?;
    let (b, l, h) = (d.b, d.l, d.h);
    let out = alloc::<T>(py, &[b, l, h])?;
    let gates = alloc::<T>(py, &[l, b, 3 * h])?;
    let hn = alloc::<T>(py, &[l, b, h])?;
    let hs = alloc::<T>(py, &[l + 1, b, h])?;
    {
        let (mut o, mut g, mut n, mut s) = (out.readwrite(), gates.readwrite(), hn.readwrite(), hs.readwrite());
        let (o, g) = (out_slice(&mut o)?, out_slice(&mut g)?);
        let (n, s) = (out_slice(&mut n)?, out_slice(&mut s)?);
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
    (need_dx, need_dh0): (bool, bool),
) -> PyResult<Vec<Option<Bound<'py, PyAny>>>> {
    let op = "gru_backward";
    let (x, h0) = (arr::<T>(op, "input", x)?, arr::<T>(op, "h0", h0)?);
    let (w_ih, w_hh) = (arr::<T>(op, "weight_ih", w_ih)?, arr::<T>(op, "weight_hh", w_hh)?);
    let (gates, hn, hs, gy) =
        (arr::<T>(op, "gates", gates)?, arr::<T>(op, "hn", hn)?, arr::<T>(op, "hs", hs)?, arr::<T>(op, "gy", gy)?);
    let (vx, vh0) = (view(&x)?, view(&h0)?);
    let (vwi, vwh) = (view(&w_ih)?, view(&w_hh)?);
    let (sg, sn, ss) = (slice(op, "gates", &gates)?, slice(op, "hn", &hn)?, slice(op, "hs", &hs)?);
    let sgy = view(&gy)?; // rows contiguous; a gradient broadcast over time is read in place
    let d = rnn::check("gru_sequence", 3, &vx, &vh0, &vwi, &vwh, None, None).map_err(to_py)?;
    let (b, l, i, h) = (d.b, d.l, d.i, d.h);
    let dx = if need_dx { Some(alloc::<T>(py, &[b, l, i])?) } else { None };
    let dh0 = if need_dh0 { Some(alloc::<T>(py, &[b, h])?) } else { None };
    let dwi = alloc::<T>(py, &[3 * h, i])?;
    let dwh = alloc::<T>(py, &[3 * h, h])?;
    let dbi = alloc::<T>(py, &[3 * h])?;
    let dbh = alloc::<T>(py, &[3 * h])?;
    {
        let (mut a, mut bb) = (dx.as_ref().map(|a| a.readwrite()), dh0.as_ref().map(|a| a.readwrite()));
        let (mut e, mut f, mut g, mut k) = (dwi.readwrite(), dwh.readwrite(), dbi.readwrite(), dbh.readwrite());
        let a = a.as_mut().map(|a| out_slice(a)).transpose()?;
        let bb = bb.as_mut().map(|a| out_slice(a)).transpose()?;
        let (e, f, g, k) = (out_slice(&mut e)?, out_slice(&mut f)?, out_slice(&mut g)?, out_slice(&mut k)?);
        py.detach(|| rnn::gru_backward(&vx, &vh0, &vwi, &vwh, sg, sn, ss, &sgy, a, bb, e, f, g, k)).map_err(to_py)?;
    }
    let (dx, dh0) = (dx.map(|a| a.into_any()), dh0.map(|a| a.into_any()));
    Ok(vec![dx, dh0, Some(dwi.into_any()), Some(dwh.into_any()), Some(dbi.into_any()), Some(dbh.into_any())])
}

/// `gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy, need_dx=True, need_dh0=True)
/// -> [dx, dh0, dw_ih, dw_hh, db_ih, db_hh]`, dx and dh0 None where not needed (not computed).
#[pyfunction]
#[pyo3(signature = (x, h0, w_ih, w_hh, gates, hn, hs, gy, need_dx=true, need_dh0=true))]
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
    need_dx: bool,
    need_dh0: bool,
) -> PyResult<Vec<Option<Bound<'py, PyAny>>>> {
    let needs = (need_dx, need_dh0);
    crate::args::guard("gru_backward", || {
        by_dtype!("gru_backward", x, gru_bwd(py, x, h0, w_ih, w_hh, gates, hn, hs, gy, needs))
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
    let (vx, vh0) = (view(&x)?, view(&h0)?);
    let (vwi, vwh) = (view(&w_ih)?, view(&w_hh)?);
    let (vbi, vbh) = (opt_view(&b_ih)?, opt_view(&b_hh)?);
    let d = rnn::check("rnn_sequence", 1, &vx, &vh0, &vwi, &vwh, vbi.as_ref(), vbh.as_ref()).map_err(to_py)?;
    let (b, l, h) = (d.b, d.l, d.h);
    let out = alloc::<T>(py, &[b, l, h])?;
    let hs = alloc::<T>(py, &[l + 1, b, h])?;
    {
        let (mut o, mut s) = (out.readwrite(), hs.readwrite());
        let (o, s) = (out_slice(&mut o)?, out_slice(&mut s)?);
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
    let (vx, vh0) = (view(&x)?, view(&h0)?);
    let (vwi, vwh) = (view(&w_ih)?, view(&w_hh)?);
    let (ss, sgy) = (slice(op, "hs", &hs)?, slice(op, "gy", &gy)?);
    let d = rnn::check("rnn_sequence", 1, &vx, &vh0, &vwi, &vwh, None, None).map_err(to_py)?;
    let (b, l, i, h) = (d.b, d.l, d.i, d.h);
    let dx = alloc::<T>(py, &[b, l, i])?;
    let dh0 = alloc::<T>(py, &[b, h])?;
    let dwi = alloc::<T>(py, &[h, i])?;
    let dwh = alloc::<T>(py, &[h, h])?;
    let db = alloc::<T>(py, &[h])?;
    {
        let (mut a, mut bb, mut e, mut f, mut g) =
            (dx.readwrite(), dh0.readwrite(), dwi.readwrite(), dwh.readwrite(), db.readwrite());
        let (a, bb, e) = (out_slice(&mut a)?, out_slice(&mut bb)?, out_slice(&mut e)?);
        let (f, g) = (out_slice(&mut f)?, out_slice(&mut g)?);
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
