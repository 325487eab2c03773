//! A numpy memory handler (NEP 49) that starts every array's data on a 64-byte boundary, as
//! PyTorch's CPU allocator does.
//!
//! Why: numpy's default handler returns whatever malloc gives, 16-byte aligned. An AVX-512
//! kernel's 64-byte loads and stores then each straddle two cache lines: on this project's
//! machine an elementwise pass over L1/L2-resident data ran 1.2–2.5× slower misaligned (see
//! benches/RESULTS.md). The handler wraps the C allocator: it asks for 64 bytes more, returns the
//! first 64-byte boundary past the block's start and keeps the distance (1..=64) in the byte just
//! before it, so `free` and `realloc` find the block again. calloc stays calloc (zeroed pages
//! stay lazy), realloc stays realloc (moving the data only when the new block's boundary shifts).
//!
//! `_use_aligned_allocator()` installs it for the calling context (numpy keeps the handler in a
//! context variable; arrays remember the handler that allocated them and free through it).

use std::ffi::{c_char, c_void};

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;

const ALIGN: usize = 64;

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn calloc(nelem: usize, elsize: usize) -> *mut c_void;
    fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// numpy's `PyDataMemAllocator` (numpy/ndarraytypes.h).
#[repr(C)]
struct Allocator {
    ctx: *mut c_void,
    malloc: unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void,
    calloc: unsafe extern "C" fn(*mut c_void, usize, usize) -> *mut c_void,
    realloc: unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void,
    free: unsafe extern "C" fn(*mut c_void, *mut c_void, usize),
}

/// numpy's `PyDataMem_Handler`: a name, version 1, the allocator.
#[repr(C)]
struct Handler {
    name: [u8; 127],
    version: u8,
    allocator: Allocator,
}

// SAFETY: the handler is immutable and its context pointer is null.
unsafe impl Sync for Handler {}

const fn handler_name() -> [u8; 127] {
    let mut name = [0u8; 127];
    let src = b"ferrograd_aligned64";
    let mut i = 0;
    while i < src.len() {
        name[i] = src[i];
        i += 1;
    }
    name
}

static HANDLER: Handler = Handler {
    name: handler_name(),
    version: 1,
    allocator: Allocator {
        ctx: std::ptr::null_mut(),
        malloc: aligned_malloc,
        calloc: aligned_calloc,
        realloc: aligned_realloc,
        free: aligned_free,
    },
};

/// The aligned pointer inside `base` (a block of at least `ALIGN` extra bytes), its distance
/// from `base` stored in the byte before it.
///
/// SAFETY: `base` is non-null and the block holds at least ALIGN + the caller's size bytes.
unsafe fn place(base: *mut c_void) -> *mut c_void {
    let b = base as *mut u8;
    let shift = shift(base);
    unsafe {
        let p = b.add(shift);
        *p.sub(1) = shift as u8; // ALIGN = 64 fits a byte
        p as *mut c_void
    }
}

/// Bytes from a block's start to its first 64-byte boundary past it: 1..=ALIGN, so there is
/// always a byte before the boundary for the distance.
fn shift(base: *mut c_void) -> usize {
    ALIGN - (base as usize % ALIGN)
}

/// The block start of a pointer from `place`.
///
/// SAFETY: `p` came from `place`.
unsafe fn base_of(p: *mut c_void) -> *mut c_void {
    let p = p as *mut u8;
    unsafe { p.sub(*p.sub(1) as usize) as *mut c_void }
}

unsafe extern "C" fn aligned_malloc(_: *mut c_void, size: usize) -> *mut c_void {
    let Some(total) = size.checked_add(ALIGN) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the C allocator; `place` gets a block of size + ALIGN bytes.
    unsafe {
        let base = malloc(total);
        if base.is_null() {
            return base;
        }
        place(base)
    }
}

unsafe extern "C" fn aligned_calloc(_: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    let Some(total) = nelem.checked_mul(elsize).and_then(|n| n.checked_add(ALIGN)) else {
        return std::ptr::null_mut();
    };
    // SAFETY: as aligned_malloc; calloc zeroes the whole block, the data included.
    unsafe {
        let base = calloc(1, total);
        if base.is_null() {
            return base;
        }
        place(base)
    }
}

unsafe extern "C" fn aligned_realloc(_: *mut c_void, p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        // SAFETY: realloc(NULL, n) is malloc(n).
        return unsafe { aligned_malloc(std::ptr::null_mut(), size) };
    }
    let Some(total) = size.checked_add(ALIGN) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `p` came from this handler; the C realloc keeps the old block's first
    // min(old, total) bytes (the data at the old distance, up to `size` of it) in the new one.
    unsafe {
        let old_shift = *(p as *mut u8).sub(1) as usize;
        let base = realloc(base_of(p), total);
        if base.is_null() {
            return base; // the old block is untouched, as realloc's contract says
        }
        let new_shift = shift(base);
        if new_shift != old_shift {
            let b = base as *mut u8;
            std::ptr::copy(b.add(old_shift), b.add(new_shift), size);
        }
        place(base)
    }
}

unsafe extern "C" fn aligned_free(_: *mut c_void, p: *mut c_void, _size: usize) {
    if !p.is_null() {
        // SAFETY: `p` came from this handler.
        unsafe { free(base_of(p)) }
    }
}

/// numpy's C-API table (`_ARRAY_API`), from numpy 2's module path or numpy 1's.
fn array_api(py: Python<'_>) -> PyResult<*const *const c_void> {
    let module = py
        .import("numpy._core._multiarray_umath")
        .or_else(|_| py.import("numpy.core._multiarray_umath"))?;
    let capsule = module.getattr("_ARRAY_API")?;
    // SAFETY: `_ARRAY_API` is numpy's capsule of its C-API function table (unnamed).
    let table = unsafe { ffi::PyCapsule_GetPointer(capsule.as_ptr(), std::ptr::null()) };
    if table.is_null() {
        return Err(PyErr::fetch(py));
    }
    Ok(table as *const *const c_void)
}

/// Install the 64-byte-aligned handler for this context (numpy >= 1.22: its C-API slot 304 is
/// PyDataMem_SetHandler). Exported as `_use_aligned_allocator`: not a kernel (no device twin in
/// `wgpu.kernels`).
#[pyfunction]
#[pyo3(name = "_use_aligned_allocator")]
fn use_aligned_allocator(py: Python<'_>) -> PyResult<()> {
    const SET_HANDLER: usize = 304;
    let table = array_api(py)?;
    let name = c"mem_handler";
    // SAFETY: the capsule wraps the static handler under the name numpy checks ("mem_handler");
    // numpy only reads it. Slot 304 of the table is PyDataMem_SetHandler(PyObject*) ->
    // PyObject* (new reference to the previous handler, or NULL with an exception set).
    unsafe {
        let capsule = ffi::PyCapsule_New(
            &HANDLER as *const Handler as *mut c_void,
            name.as_ptr() as *const c_char,
            None,
        );
        if capsule.is_null() {
            return Err(PyErr::fetch(py));
        }
        let capsule = Bound::from_owned_ptr(py, capsule);
        type SetHandler = unsafe extern "C" fn(*mut ffi::PyObject) -> *mut ffi::PyObject;
        let set: SetHandler = std::mem::transmute(*table.add(SET_HANDLER));
        let old = set(capsule.as_ptr());
        if old.is_null() {
            return Err(PyErr::take(py).unwrap_or_else(|| {
                PyRuntimeError::new_err("numpy refused the aligned memory handler")
            }));
        }
        drop(Bound::from_owned_ptr(py, old)); // the previous handler: not needed
        Ok(())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(use_aligned_allocator, m)?)
}
