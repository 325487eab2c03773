//! Bindings of the conv kernels: `conv2d_forward`, `conv2d_backward_data`,
//! `conv2d_backward_weight` for float32 and float64 numpy arrays. The Python side
//! (`ferrograd.ops.conv`) validates arguments and builds conv1d / conv_transpose2d from these.

use ferrograd_core::conv::{self, Conv2dShape};
use ferrograd_core::num::Float;
use numpy::{Element, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::{alloc, arr, by_dtype, opt_arr, opt_slice, out_slice, slice, view};
use crate::errors::to_py;

type Pair = (usize, usize);

fn dims4(op: &str, what: &str, shape: &[usize]) -> PyResult<[usize; 4]> {
    <[usize; 4]>::try_from(shape)
        .map_err(|_| PyValueError::new_err(format!("{op}: {what} must be 4-d, got shape {shape:?}")))
}

/// The full shape from an input shape, weight shape (c_out, c_in/groups, kh, kw) and output size.
#[allow(clippy::too_many_arguments)]
fn shape_of(
    op: &str,
    input: [usize; 4],
    weight: [usize; 4],
    out: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: usize,
) -> PyResult<Conv2dShape> {
    if weight[1] * groups != input[1] {
        return Err(PyValueError::new_err(format!(
            "{op}: input {input:?} has {} channels, weight {weight:?} with groups={groups} expects {}",
            input[1],
            weight[1] * groups
        )));
    }
    let s = Conv2dShape {
        n: input[0],
        c_in: input[1],
        h: input[2],
        w: input[3],
        c_out: weight[0],
        kh: weight[2],
        kw: weight[3],
        oh: out.0,
        ow: out.1,
        stride,
        pad: padding,
        dilation,
        groups,
    };
    s.check().map_err(|e| crate::errors::in_op(op, e))?;
    Ok(s)
}

#[allow(clippy::too_many_arguments)]
fn forward_typed<'py, T: Float + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    bias: Option<&Bound<'py, PyAny>>,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: usize,
    out: Pair,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "conv2d_forward";
    let (x, w) = (arr::<T>(op, "input", x)?, arr::<T>(op, "weight", w)?);
    let bias = opt_arr::<T>(op, "bias", bias)?;
    let xv = view(&x)?;
    let s = shape_of(op, dims4(op, "input", x.shape())?, dims4(op, "weight", w.shape())?, out, stride, padding, dilation, groups)?;
    let ws = slice(op, "weight", &w)?;
    let bs = opt_slice(op, "bias", &bias)?;
    let y = alloc::<T>(py, &s.output_shape())?;
    {
        let mut rw = y.readwrite();
        let ys = out_slice(&mut rw)?;
        py.detach(|| conv::conv2d_forward(&xv, ws, bs, &s, ys)).map_err(to_py)?;
    }
    Ok(y.into_any())
}

/// `conv2d_forward(x, w, bias, stride, padding, dilation, groups, out_size)`: y (n, c_out, *out_size).
/// `padding` is the top/left padding; `out_size` the output (oh, ow).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn conv2d_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    bias: Option<&Bound<'py, PyAny>>,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: usize,
    out_size: Pair,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("conv2d_forward", || {
        by_dtype!("conv2d_forward", x, forward_typed(py, x, w, bias, stride, padding, dilation, groups, out_size))
    })
}

#[allow(clippy::too_many_arguments)]
fn backward_data_typed<'py, T: Float + Element>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    in_size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let op = "conv2d_backward_data";
    let (gy, w) = (arr::<T>(op, "grad_output", gy)?, arr::<T>(op, "weight", w)?);
    let g4 = dims4(op, "grad_output", gy.shape())?;
    let w4 = dims4(op, "weight", w.shape())?;
    if g4[1] != w4[0] {
        return Err(PyValueError::new_err(format!(
            "{op}: grad_output {g4:?} has {} channels, weight {w4:?} has {}",
            g4[1], w4[0]
        )));
    }
    let input = [g4[0], w4[1] * groups, in_size.0, in_size.1];
    let s = shape_of(op, input, w4, (g4[2], g4[3]), stride, padding, dilation, groups)?;
    let gys = slice(op, "grad_output", &gy)?;
    let ws = slice(op, "weight", &w)?;
    let gx = alloc::<T>(py, &s.input_shape())?;
    {
        let mut rw = gx.readwrite();
        let gxs = out_slice(&mut rw)?;
        py.detach(|| conv::conv2d_backward_data(gys, ws, &s, gxs)).map_err(to_py)?;
    }
    Ok(gx.into_any())
}

/// `conv2d_backward_data(gy, w, in_size, stride, padding, dilation, groups)`: the input gradient
/// (n, w.shape[1]*groups, *in_size) of a conv2d whose output gradient is `gy`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn conv2d_backward_data<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    in_size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: usize,
) -> PyResult<Bound<'py, PyAny>> {
    crate::args::guard("conv2d_backward_data", || {
        by_dtype!("conv2d_backward_data", gy, backward_data_typed(py, gy, w, in_size, stride, padding, dilation, groups))
    })
}

#[allow(clippy::too_many_arguments)]
fn backward_weight_typed<'py, T: Float + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: usize,
    with_bias: bool,
) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)> {
    let op = "conv2d_backward_weight";
    let (x, gy) = (arr::<T>(op, "input", x)?, arr::<T>(op, "grad_output", gy)?);
    let x4 = dims4(op, "input", x.shape())?;
    let g4 = dims4(op, "grad_output", gy.shape())?;
    if g4[0] != x4[0] || groups == 0 || x4[1] % groups != 0 {
        return Err(PyValueError::new_err(format!(
            "{op}: input {x4:?} and grad_output {g4:?} do not match (groups={groups})"
        )));
    }
    let w4 = [g4[1], x4[1] / groups, kernel.0, kernel.1];
    let s = shape_of(op, x4, w4, (g4[2], g4[3]), stride, padding, dilation, groups)?;
    let xv = view(&x)?;
    let gys = slice(op, "grad_output", &gy)?;
    let gw = alloc::<T>(py, &w4)?;
    let gb = if with_bias { Some(alloc::<T>(py, &[g4[1]])?) } else { None };
    {
        let mut rw = gw.readwrite();
        let gws = out_slice(&mut rw)?;
        let mut rb = gb.as_ref().map(|b| b.readwrite());
        let gbs = rb.as_mut().map(out_slice).transpose()?;
        py.detach(|| conv::conv2d_backward_weight(&xv, gys, &s, gws, gbs)).map_err(to_py)?;
    }
    Ok((gw.into_any(), gb.map(|b| b.into_any())))
}

/// `conv2d_backward_weight(x, gy, kernel_size, stride, padding, dilation, groups, with_bias)`:
/// `(grad_weight, grad_bias or None)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn conv2d_backward_weight<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    kernel_size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: usize,
    with_bias: bool,
) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)> {
    crate::args::guard("conv2d_backward_weight", || {
        by_dtype!(
            "conv2d_backward_weight",
            x,
            backward_weight_typed(py, x, gy, kernel_size, stride, padding, dilation, groups, with_bias)
        )
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(conv2d_forward, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d_backward_data, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d_backward_weight, m)?)?;
    Ok(())
}
