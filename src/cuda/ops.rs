//! The GPU versions of the crate's functions, on raw device pointers and the caller's stream.
//!
//! Work split: one thread block per piece of a path, for signatures and their gradients alike.
//! Where there are too few paths to keep every multiprocessor busy, each is cut in time into a
//! power of two of pieces, whose signatures are joined pairwise by Chen products (a tree of
//! `log2(pieces)` launches); gradients run back down that tree through the products' adjoint,
//! then through every piece at once. Products take a block per pair, transforms a thread per value.

use std::ffi::c_void;

use super::device::{CHUNK, Module, Scratch, Spec, activate, launch, module};
use crate::algebra::Layout;
use crate::error::{DeviceErrorKind, Error, Result};
use crate::path::PathTransform;
use crate::scalar::DType;

/// Where kernels run: a device and a stream on it (`cudaStream_t` as an integer; 0 for the
/// legacy default stream).
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    /// The device's ordinal.
    pub device: i32,
    /// The stream, e.g. `torch.cuda.current_stream(device).cuda_stream`.
    pub stream: u64,
}

/// A batch of paths in device memory: `batch × length × dim` values of the call's element type,
/// value `(b, t, c)` at `ptr + (b·strides[0] + t·strides[1] + c·strides[2])` elements.
#[derive(Clone, Copy, Debug)]
pub struct DevicePaths {
    /// Device address of value `(0, 0, 0)`.
    pub ptr: u64,
    /// Number of paths.
    pub batch: usize,
    /// Points per path.
    pub length: usize,
    /// Channels per point.
    pub dim: usize,
    /// Element strides of the batch, point and channel axes.
    pub strides: [i64; 3],
}

/// The kernels' `Path` argument (see kernels/common.cuh), for element type `T`.
#[repr(C)]
#[derive(Clone, Copy)]
struct PathArg<T> {
    data: u64,
    strides: [i64; 3],
    length: i32,
    dim: i32,
    time_aug: i32,
    lead_lag: i32,
    dt: T,
}

/// The `Path` argument in the call's element type.
enum PathParam {
    F32(PathArg<f32>),
    F64(PathArg<f64>),
}

impl PathParam {
    fn new(
        dtype: DType,
        paths: Option<&DevicePaths>,
        transform: &PathTransform,
        length: usize,
    ) -> Self {
        let dt = transform.end_time / transform.increments(length).max(1) as f64;
        let (data, strides, dim) =
            paths.map_or((0, [0; 3], 0), |p| (p.ptr, p.strides, p.dim as i32));
        fn arg<T>(
            data: u64,
            strides: [i64; 3],
            length: usize,
            dim: i32,
            t: &PathTransform,
            dt: T,
        ) -> PathArg<T> {
            PathArg {
                data,
                strides,
                length: length as i32,
                dim,
                time_aug: i32::from(t.time_aug),
                lead_lag: i32::from(t.lead_lag),
                dt,
            }
        }
        match dtype {
            DType::F32 => PathParam::F32(arg(data, strides, length, dim, transform, dt as f32)),
            DType::F64 => PathParam::F64(arg(data, strides, length, dim, transform, dt)),
        }
    }

    fn as_param(&mut self) -> *mut c_void {
        match self {
            PathParam::F32(p) => (p as *mut PathArg<f32>).cast(),
            PathParam::F64(p) => (p as *mut PathArg<f64>).cast(),
        }
    }
}

/// Sets `bytes` of device memory at `ptr` to zero, in stream order.
fn clear(at: Stream, ptr: u64, bytes: usize) -> Result<()> {
    if bytes == 0 {
        return Ok(());
    }
    // SAFETY: the callers pass memory they own for `bytes`.
    unsafe {
        cudarc::driver::result::memset_d8_async(
            ptr,
            0,
            bytes,
            at.stream as cudarc::driver::sys::CUstream,
        )
    }
    .map_err(|e| {
        Error::device(
            DeviceErrorKind::Driver,
            format!("clearing GPU memory: CUDA driver error {}", e.0 as i32),
        )
    })
}

/// A kernel parameter: the address of a value.
fn param<T>(value: &mut T) -> *mut c_void {
    (value as *mut T).cast()
}

/// Threads per block for signature kernels: enough for the longest level's chain.
fn block_size(layout: Layout) -> u32 {
    let top = if layout.degree() >= 1 {
        layout.level_len(layout.degree() - 1)
    } else {
        1
    };
    top.next_power_of_two().clamp(32, 256) as u32
}

/// The shared memory a signature kernel needs, with and without its state, in numbers.
struct SharedPlan {
    fixed: usize,
    state: usize,
}

impl SharedPlan {
    /// Bytes to ask for and whether the state lives in global memory instead; an error when not
    /// even the fixed part fits.
    fn resolve(&self, spec: &Spec, m: &Module) -> Result<(usize, bool)> {
        let size = spec.num_size();
        if (self.fixed + self.state) * size <= m.max_shared {
            Ok(((self.fixed + self.state) * size, false))
        } else if self.fixed * size <= m.max_shared {
            Ok((self.fixed * size, true))
        } else {
            Err(Error::device(
                DeviceErrorKind::Unsupported,
                format!(
                    "a signature of dimension {}, degree {} is too large for the GPU kernels' shared memory; \
                     compute it on the CPU",
                    spec.dim, spec.degree
                ),
            ))
        }
    }
}

/// Which forward kernel computes signatures of a layout, with how many threads per block.
#[derive(Clone, Copy)]
struct ForwardKernel {
    /// `signature_forward_registers`: the top level in registers, one thread per top-level
    /// tail; else `signature_forward`, the state in shared (or global) memory.
    registers: bool,
    block: u32,
}

impl ForwardKernel {
    /// The register kernel where one block's threads can hold the top level and share the
    /// levels below (`lower_items` in kernels/signature.cu), within what the compiled kernel's
    /// registers allow, else the shared-memory one.
    fn for_layout(layout: Layout, m: &Module) -> Self {
        let (d, n) = (layout.dim(), layout.degree());
        if n >= 1 {
            let top = layout.level_len(n - 1);
            let lower = if n > 1 {
                d + (2..n).map(|k| layout.level_len(k - 1)).sum::<usize>()
            } else {
                0
            };
            let threads = top.max(lower).next_multiple_of(32);
            if threads <= m.register_kernel_threads {
                return ForwardKernel {
                    registers: true,
                    block: threads as u32,
                };
            }
        }
        ForwardKernel {
            registers: false,
            block: block_size(layout),
        }
    }

    fn name(self) -> &'static str {
        if self.registers {
            "signature_forward_registers"
        } else {
            "signature_forward"
        }
    }

    /// Shared memory: a chunk of increments, then two copies of the levels below the top
    /// (registers), or two chain levels and the state (shared memory).
    fn plan(self, layout: Layout) -> SharedPlan {
        let (d, n) = (layout.dim(), layout.degree());
        let top = if n >= 1 { layout.level_len(n - 1) } else { 1 };
        if self.registers {
            SharedPlan {
                fixed: CHUNK * d + 2 * layout.level_offset(n.max(1)),
                state: 0,
            }
        } else {
            SharedPlan {
                fixed: CHUNK * d + 2 * top,
                state: layout.len(),
            }
        }
    }
}

/// Scratch memory the pieces of one call may take (piece signatures, the join tree and, for
/// gradients, its adjoint).
const PIECES_MEMORY: usize = 512 << 20;

/// Pieces to cut each path into: a power of two that gives about two waves of blocks of `block`
/// threads (a multiprocessor holds at most 2048 threads in at most 32 blocks), pieces of at
/// least 32 increments, and at most `PIECES_MEMORY` for `copies` piece-sized rows of `row_bytes`.
fn pieces_for(
    m: &Module,
    batch: usize,
    steps: usize,
    block: u32,
    row_bytes: usize,
    copies: usize,
) -> usize {
    let resident = (2048 / block as usize).clamp(1, 32) * m.processors;
    let wanted = (2 * resident).div_ceil(batch.max(1)).next_power_of_two();
    let floor_pow2 = |n: usize| if n == 0 { 1 } else { 1 << n.ilog2() };
    let by_length = floor_pow2(steps / 32);
    let by_memory = floor_pow2(PIECES_MEMORY / (copies * batch.max(1) * row_bytes.max(1)));
    wanted.min(by_length).min(by_memory).max(1)
}

fn backward_plan(layout: Layout, block: u32) -> SharedPlan {
    let (d, n) = (layout.dim(), layout.degree());
    let top = if n >= 1 { layout.level_len(n - 1) } else { 1 };
    let chain = if n >= 1 { layout.level_offset(n) } else { 0 };
    let warps = block.div_ceil(32) as usize;
    SharedPlan {
        fixed: CHUNK * d + chain + 2 * top + warps * d + d,
        state: 2 * layout.len(),
    }
}

fn layout_of(paths: &DevicePaths, degree: usize, transform: &PathTransform) -> Result<Layout> {
    if paths.dim == 0 {
        return Err(Error::invalid(
            "path",
            "has 0 channels (dimension); a path needs at least one",
        ));
    }
    Layout::new(transform.dim(paths.dim), degree)
}

/// Launches the forward kernel: rows `out` (and `out_tangent` for dual specs) get the
/// signatures of the `pieces · batch` jobs, each row `out_row` values after `out_skip` scalar
/// terms.
#[allow(clippy::too_many_arguments)]
unsafe fn forward(
    at: Stream,
    spec: Spec,
    layout: Layout,
    paths: &DevicePaths,
    directions: Option<&DevicePaths>,
    transform: &PathTransform,
    pieces: usize,
    out: u64,
    out_tangent: u64,
    out_row: usize,
    out_skip: usize,
) -> Result<()> {
    let m = module(at.device, spec)?;
    let jobs = pieces * paths.batch;
    let mut path = PathParam::new(spec.dtype, Some(paths), transform, paths.length);
    let mut dir = PathParam::new(spec.dtype, directions, transform, paths.length);
    let (mut pieces, mut steps) = (pieces as i32, transform.increments(paths.length) as i64);
    let (mut out, mut out_tangent, mut row, mut skip) =
        (out, out_tangent, out_row as i32, out_skip as i32);
    let mut params = vec![
        path.as_param(),
        dir.as_param(),
        param(&mut pieces),
        param(&mut steps),
        param(&mut out),
        param(&mut out_tangent),
        param(&mut row),
        param(&mut skip),
    ];
    let kernel = ForwardKernel::for_layout(layout, &m);
    let (shared, global) = kernel.plan(layout).resolve(&spec, &m)?;
    let state = Scratch::new(
        if global {
            jobs * layout.len() * spec.num_size()
        } else {
            0
        },
        at.device,
        at.stream,
    )?;
    let (mut state_ptr, mut use_global) = (state.addr(), i32::from(global));
    if !kernel.registers {
        params.extend([param(&mut state_ptr), param(&mut use_global)]);
    }
    // SAFETY: parameters match the kernel's; pointers are the caller's contract.
    unsafe {
        launch(
            m.function(kernel.name()),
            jobs as u32,
            kernel.block,
            shared,
            at.stream,
            &mut params,
        )
    }
}

/// Threads per block of the product kernels, one block per pair of rows.
const PRODUCT_BLOCK: u32 = 128;

/// How the product kernels find pair `p`'s rows of their operands: rows come in groups of
/// `group` rows, groups `stride` values apart (`row_start` in kernels/product.cu).
#[derive(Clone, Copy)]
struct Groups {
    group: usize,
    stride: usize,
}

impl Groups {
    /// Plain arrays of rows.
    fn plain(count: usize) -> Self {
        Groups {
            group: count.max(1),
            stride: 0,
        }
    }

    /// The even and odd groups of `batch` rows of `len` values: pairs of neighbouring pieces.
    fn pairs(batch: usize, len: usize) -> Self {
        Groups {
            group: batch,
            stride: 2 * batch * len,
        }
    }
}

/// Launches the Chen-product kernel: `out = a ⊗ b` on `count` pairs of rows of `row` (`skip`
/// scalar terms) found by `groups`, written as plain rows of `out_row` (`out_skip`).
#[allow(clippy::too_many_arguments)]
unsafe fn product(
    at: Stream,
    m: &Module,
    count: usize,
    a: u64,
    b: u64,
    out: u64,
    row: usize,
    skip: usize,
    out_row: usize,
    out_skip: usize,
    groups: Groups,
) -> Result<()> {
    let (mut a, mut b, mut out, mut count_arg) = (a, b, out, count as i64);
    let (mut row, mut skip, mut out_row_arg, mut out_skip) =
        (row as i32, skip as i32, out_row as i32, out_skip as i32);
    let (mut group, mut stride) = (groups.group as i64, groups.stride as i64);
    let mut params = [
        param(&mut a),
        param(&mut b),
        param(&mut out),
        param(&mut count_arg),
        param(&mut row),
        param(&mut skip),
        param(&mut out_row_arg),
        param(&mut out_skip),
        param(&mut group),
        param(&mut stride),
    ];
    // SAFETY: parameters match `product`; pointers are the caller's contract.
    unsafe {
        launch(
            m.function("product"),
            count as u32,
            PRODUCT_BLOCK,
            0,
            at.stream,
            &mut params,
        )
    }
}

/// The signatures of every path's `pieces` pieces, piece-major rows of `layout.len()`.
///
/// # Safety
/// As for [`sig`].
unsafe fn piece_signatures(
    at: Stream,
    spec: Spec,
    layout: Layout,
    paths: &DevicePaths,
    transform: &PathTransform,
    pieces: usize,
) -> Result<Scratch> {
    let len = layout.len();
    let rows = Scratch::new(
        pieces * paths.batch * len * spec.dtype.size(),
        at.device,
        at.stream,
    )?;
    // SAFETY: scratch sized for every row written; the caller vouches for the rest.
    unsafe {
        forward(
            at,
            spec,
            layout,
            paths,
            None,
            transform,
            pieces,
            rows.addr(),
            0,
            len,
            0,
        )?;
    }
    Ok(rows)
}

/// Chen products of neighbouring pieces, level by level: `levels[0]` holds the signatures of
/// `pieces · batch` pieces (a power of two of pieces per path, piece-major rows of `len`), each
/// next level the products of pairs of the one before. With `root`, the last product (one row
/// per path) is written there, as rows of `row` after `skip` scalar terms; without, the levels
/// stop at two pieces per path. Returns the levels.
///
/// # Safety
/// `root`'s address must hold `batch` rows of its `row` values on `at.device`, valid until the
/// stream has run the launches.
#[allow(clippy::too_many_arguments)]
unsafe fn join_pieces(
    at: Stream,
    m: &Module,
    batch: usize,
    len: usize,
    size: usize,
    pieces: usize,
    level0: Scratch,
    root: Option<(u64, usize, usize)>,
) -> Result<Vec<Scratch>> {
    let group_bytes = (batch * len * size) as u64;
    let mut levels = vec![level0];
    let mut count = pieces;
    while count > 1 {
        let pairs = count / 2;
        let below = levels.last().map_or(0, Scratch::addr);
        let (a, b) = (below, below + group_bytes);
        let groups = Groups::pairs(batch, len);
        if pairs == 1 {
            if let Some((out, row, skip)) = root {
                // SAFETY: every row read lies in the levels; `out` is the caller's contract.
                unsafe { product(at, m, batch, a, b, out, len, 0, row, skip, groups)? };
            }
            break;
        }
        let next = Scratch::new(pairs * batch * len * size, at.device, at.stream)?;
        // SAFETY: `next` holds `pairs · batch` rows; the pairs lie in the level below.
        unsafe {
            product(
                at,
                m,
                pairs * batch,
                a,
                b,
                next.addr(),
                len,
                0,
                len,
                0,
                groups,
            )?
        };
        levels.push(next);
        count = pairs;
    }
    Ok(levels)
}

/// Signatures of `paths` on the GPU, into `out` (rows of `layout.len_with(scalar_term)`).
///
/// # Safety
/// `paths` must describe valid device memory of `dtype` on `at.device`, and `out` must hold
/// `batch` rows; both must stay valid until `at.stream` has run the launches.
pub unsafe fn sig(
    at: Stream,
    dtype: DType,
    paths: &DevicePaths,
    degree: usize,
    transform: &PathTransform,
    scalar_term: bool,
    out: u64,
) -> Result<()> {
    let layout = layout_of(paths, degree, transform)?;
    if paths.batch == 0 {
        return Ok(());
    }
    let spec = Spec::new(dtype, layout, false);
    let m = module(at.device, spec)?;
    let (row, skip) = (layout.len_with(scalar_term), usize::from(scalar_term));
    let (len, size) = (layout.len(), dtype.size());
    let steps = transform.increments(paths.length);
    let block = ForwardKernel::for_layout(layout, &m).block;
    let pieces = pieces_for(&m, paths.batch, steps, block, len * size, 2);
    if pieces == 1 || len == 0 {
        // SAFETY: forwarded to the caller.
        return unsafe {
            forward(
                at, spec, layout, paths, None, transform, 1, out, 0, row, skip,
            )
        };
    }
    // SAFETY: forwarded to the caller.
    let piece_sigs = unsafe { piece_signatures(at, spec, layout, paths, transform, pieces)? };
    let root = Some((out, row, skip));
    // SAFETY: `out` holds a row for every path (the caller's contract).
    unsafe { join_pieces(at, &m, paths.batch, len, size, pieces, piece_sigs, root) }.map(drop)
}

/// Launches the backward kernel (real or dual by `spec`).
#[allow(clippy::too_many_arguments)]
unsafe fn backward(
    at: Stream,
    spec: Spec,
    layout: Layout,
    paths: &DevicePaths,
    directions: Option<&DevicePaths>,
    transform: &PathTransform,
    pieces: usize,
    ends: (u64, u64, usize, usize),
    grads: (u64, usize, usize),
    d_path: u64,
    d_path_tangent: u64,
) -> Result<()> {
    let m = module(at.device, spec)?;
    let block = block_size(layout);
    let (shared, global) = backward_plan(layout, block).resolve(&spec, &m)?;
    let jobs = pieces * paths.batch;
    let state = Scratch::new(
        if global {
            jobs * 2 * layout.len() * spec.num_size()
        } else {
            0
        },
        at.device,
        at.stream,
    )?;
    let mut path = PathParam::new(spec.dtype, Some(paths), transform, paths.length);
    let mut dir = PathParam::new(spec.dtype, directions, transform, paths.length);
    let (mut pieces, mut steps) = (pieces as i32, transform.increments(paths.length) as i64);
    let (mut end, mut end_tangent, mut end_row, mut end_skip) =
        (ends.0, ends.1, ends.2 as i32, ends.3 as i32);
    let (mut grad, mut grad_row, mut grad_skip) = (grads.0, grads.1 as i32, grads.2 as i32);
    let (mut d_path, mut d_path_tangent) = (d_path, d_path_tangent);
    let (mut state_ptr, mut use_global) = (state.addr(), i32::from(global));
    let mut params = [
        path.as_param(),
        dir.as_param(),
        param(&mut pieces),
        param(&mut steps),
        param(&mut end),
        param(&mut end_tangent),
        param(&mut end_row),
        param(&mut end_skip),
        param(&mut grad),
        param(&mut grad_row),
        param(&mut grad_skip),
        param(&mut d_path),
        param(&mut d_path_tangent),
        param(&mut state_ptr),
        param(&mut use_global),
    ];
    // SAFETY: parameters match `signature_backward`; pointers are the caller's contract.
    unsafe {
        launch(
            m.function("signature_backward"),
            jobs as u32,
            block,
            shared,
            at.stream,
            &mut params,
        )
    }
}

/// Gradients of `<grads_b, S(path_b)>` with respect to the paths, by reversibility from `sigs`,
/// into `out` (contiguous `batch × length × dim`).
///
/// # Safety
/// As for [`sig`]; `sigs` and `grads` hold `batch` rows of `layout.len_with(scalar_term)`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sig_backprop(
    at: Stream,
    dtype: DType,
    paths: &DevicePaths,
    degree: usize,
    transform: &PathTransform,
    scalar_term: bool,
    sigs: u64,
    grads: u64,
    out: u64,
) -> Result<()> {
    let layout = layout_of(paths, degree, transform)?;
    activate(at.device)?;
    clear(
        at,
        out,
        paths.batch * paths.length * paths.dim * dtype.size(),
    )?;
    if paths.batch == 0 || layout.len() == 0 || transform.increments(paths.length) == 0 {
        return Ok(());
    }
    let spec = Spec::new(dtype, layout, false);
    let m = module(at.device, spec)?;
    let (row, skip) = (layout.len_with(scalar_term), usize::from(scalar_term));
    let (len, size, batch) = (layout.len(), dtype.size(), paths.batch);
    let steps = transform.increments(paths.length);
    let pieces = pieces_for(&m, batch, steps, block_size(layout), len * size, 4);
    if pieces == 1 {
        // SAFETY: forwarded to the caller.
        return unsafe {
            backward(
                at,
                spec,
                layout,
                paths,
                None,
                transform,
                1,
                (sigs, 0, row, skip),
                (grads, row, skip),
                out,
                0,
            )
        };
    }
    // The pieces' own signatures (each walk back ends at the identity) and the join tree above
    // them; `sigs` is not needed.
    // SAFETY: forwarded to the caller.
    let piece_sigs = unsafe { piece_signatures(at, spec, layout, paths, transform, pieces)? };
    // SAFETY: no root: every launch stays inside the levels it allocates.
    let levels = unsafe { join_pieces(at, &m, batch, len, size, pieces, piece_sigs, None)? };
    // Down the tree: the gradient of each product's rows reaches both of its factors.
    let group_bytes = (batch * len * size) as u64;
    let mut adjoints = Vec::with_capacity(levels.len());
    let mut grad = (grads, row, skip);
    for (l, level) in levels.iter().enumerate().rev() {
        // Level l holds pieces >> l rows per path, in pairs.
        let count = (pieces >> l) / 2 * batch;
        let adjoint = Scratch::new(2 * count * len * size, at.device, at.stream)?;
        let (a, da) = (level.addr(), adjoint.addr());
        // SAFETY: both factors' rows lie in `level`, their gradients' in `adjoint`.
        unsafe {
            product_adjoint(
                at,
                &m,
                count,
                grad,
                (a, a + group_bytes),
                (da, da + group_bytes),
                len,
                0,
                Groups::pairs(batch, len),
            )?;
        }
        grad = (adjoint.addr(), len, 0);
        adjoints.push(adjoint);
    }
    // SAFETY: the pieces' signatures and gradients are rows of `len`; the caller vouches for
    // the rest.
    unsafe {
        backward(
            at,
            spec,
            layout,
            paths,
            None,
            transform,
            pieces,
            (levels[0].addr(), 0, len, 0),
            grad,
            out,
            0,
        )
    }
}

/// Second derivatives on the GPU: `jvp` gets `dS[v]` (rows like the signatures, 0 at a scalar
/// term) and `hvp` (contiguous like the paths) the Hessian of
/// `<grads, S>` applied to `v = directions`. See [`crate::sig_backprop_jvp`].
///
/// # Safety
/// As for [`sig_backprop`]; `directions` is shaped like `paths`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sig_backprop_jvp(
    at: Stream,
    dtype: DType,
    paths: &DevicePaths,
    directions: &DevicePaths,
    degree: usize,
    transform: &PathTransform,
    scalar_term: bool,
    grads: u64,
    jvp: u64,
    hvp: u64,
) -> Result<()> {
    let layout = layout_of(paths, degree, transform)?;
    if paths.batch == 0 {
        return Ok(());
    }
    let spec = Spec::new(dtype, layout, true);
    let (row, skip, size) = (
        layout.len_with(scalar_term),
        usize::from(scalar_term),
        dtype.size(),
    );
    let gradient_bytes = paths.batch * paths.length * paths.dim * size;
    activate(at.device)?;
    clear(at, hvp, gradient_bytes)?;
    let sigs = Scratch::new(paths.batch * row * size, at.device, at.stream)?;
    let gradients = Scratch::new(gradient_bytes, at.device, at.stream)?;
    // SAFETY: scratch sized for its rows; the caller vouches for the rest.
    unsafe {
        forward(
            at,
            spec,
            layout,
            paths,
            Some(directions),
            transform,
            1,
            sigs.addr(),
            jvp,
            row,
            skip,
        )?;
        if layout.len() == 0 || transform.increments(paths.length) == 0 {
            return Ok(());
        }
        clear(at, gradients.addr(), gradient_bytes)?;
        backward(
            at,
            spec,
            layout,
            paths,
            Some(directions),
            transform,
            1,
            (sigs.addr(), jvp, row, skip),
            (grads, row, skip),
            gradients.addr(),
            hvp,
        )
    }
}

/// Chen products `out = a ⊗ b` of `count` pairs of signatures of `layout` on the GPU.
///
/// # Safety
/// `a`, `b` and `out` must hold `count` rows of `layout.len_with(scalar_term)` of `dtype` on
/// `at.device`, valid until the stream has run the launch.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sig_combine(
    at: Stream,
    dtype: DType,
    layout: Layout,
    scalar_term: bool,
    count: usize,
    a: u64,
    b: u64,
    out: u64,
) -> Result<()> {
    if count == 0 || layout.len_with(scalar_term) == 0 {
        return Ok(());
    }
    let m = module(at.device, Spec::new(dtype, layout, false))?;
    let (row, skip) = (layout.len_with(scalar_term), usize::from(scalar_term));
    // SAFETY: forwarded to the caller.
    unsafe {
        product(
            at,
            &m,
            count,
            a,
            b,
            out,
            row,
            skip,
            row,
            skip,
            Groups::plain(count),
        )
    }
}

/// The adjoint of [`sig_combine`]: `da`, `db` get the gradients given `grad`.
///
/// # Safety
/// As for [`sig_combine`], for all five buffers.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sig_combine_backprop(
    at: Stream,
    dtype: DType,
    layout: Layout,
    scalar_term: bool,
    count: usize,
    grad: u64,
    a: u64,
    b: u64,
    da: u64,
    db: u64,
) -> Result<()> {
    if count == 0 || layout.len_with(scalar_term) == 0 {
        return Ok(());
    }
    let m = module(at.device, Spec::new(dtype, layout, false))?;
    let (row, skip) = (layout.len_with(scalar_term), usize::from(scalar_term));
    // SAFETY: forwarded to the caller.
    unsafe {
        product_adjoint(
            at,
            &m,
            count,
            (grad, row, skip),
            (a, b),
            (da, db),
            row,
            skip,
            Groups::plain(count),
        )
    }
}

/// Launches the Chen products' adjoint: given `grad` (plain rows of `grad.1` values after
/// `grad.2` scalar terms) of `count` products of pairs `factors` (rows of `row` after `skip`,
/// found by `groups`), writes the factors' gradients into `d_factors`, grouped alike.
#[allow(clippy::too_many_arguments)]
unsafe fn product_adjoint(
    at: Stream,
    m: &Module,
    count: usize,
    grad: (u64, usize, usize),
    factors: (u64, u64),
    d_factors: (u64, u64),
    row: usize,
    skip: usize,
    groups: Groups,
) -> Result<()> {
    let (mut g, mut g_row, mut g_skip) = (grad.0, grad.1 as i32, grad.2 as i32);
    let ((mut a, mut b), (mut da, mut db)) = (factors, d_factors);
    let (mut count_arg, mut row_arg, mut skip) = (count as i64, row as i32, skip as i32);
    let (mut group, mut stride) = (groups.group as i64, groups.stride as i64);
    let mut params = [
        param(&mut g),
        param(&mut a),
        param(&mut b),
        param(&mut da),
        param(&mut db),
        param(&mut count_arg),
        param(&mut row_arg),
        param(&mut skip),
        param(&mut g_row),
        param(&mut g_skip),
        param(&mut group),
        param(&mut stride),
    ];
    // SAFETY: parameters match `product_backward`; pointers are the caller's contract.
    unsafe {
        launch(
            m.function("product_backward"),
            count as u32,
            PRODUCT_BLOCK,
            0,
            at.stream,
            &mut params,
        )
    }
}

/// The transformed paths, contiguous `batch × length' × dim'`, into `out`.
///
/// # Safety
/// As for [`sig`], with `out` sized for the transformed paths.
pub unsafe fn transform_path(
    at: Stream,
    dtype: DType,
    paths: &DevicePaths,
    transform: &PathTransform,
    out: u64,
) -> Result<()> {
    let width = transform.dim(paths.dim);
    let total = paths.batch * transform.len(paths.length) * width;
    if total == 0 {
        return Ok(());
    }
    let m = module(at.device, Spec::new(dtype, Layout::new(width, 1)?, false))?;
    let mut path = PathParam::new(dtype, Some(paths), transform, paths.length);
    let (mut batch, mut out) = (paths.batch as i64, out);
    let mut params = [path.as_param(), param(&mut batch), param(&mut out)];
    // SAFETY: parameters match `transform`; pointers are the caller's contract.
    unsafe {
        launch(
            m.function("transform"),
            total.div_ceil(256) as u32,
            256,
            0,
            at.stream,
            &mut params,
        )
    }
}

/// The adjoint of [`transform_path`]: `grad` (contiguous, transformed shape) folded into `out`
/// (contiguous `batch × length × dim`).
///
/// # Safety
/// As for [`transform_path`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn transform_path_backprop(
    at: Stream,
    dtype: DType,
    grad: u64,
    batch: usize,
    length: usize,
    dim: usize,
    transform: &PathTransform,
    out: u64,
) -> Result<()> {
    let total = batch * length * dim;
    if total == 0 {
        return Ok(());
    }
    let m = module(
        at.device,
        Spec::new(dtype, Layout::new(transform.dim(dim), 1)?, false),
    )?;
    let (mut grad, mut length, mut dim_arg) = (grad, length as i32, dim as i32);
    let (mut time_aug, mut lead_lag) =
        (i32::from(transform.time_aug), i32::from(transform.lead_lag));
    let (mut batch, mut out) = (batch as i64, out);
    let mut params = [
        param(&mut grad),
        param(&mut length),
        param(&mut dim_arg),
        param(&mut time_aug),
        param(&mut lead_lag),
        param(&mut batch),
        param(&mut out),
    ];
    // SAFETY: parameters match `transform_backward`; pointers are the caller's contract.
    unsafe {
        launch(
            m.function("transform_backward"),
            total.div_ceil(256) as u32,
            256,
            0,
            at.stream,
            &mut params,
        )
    }
}
