//! The CUDA driver: devices, their primary contexts (shared with torch), kernel modules compiled
//! once per process and device for each element type, dimension and degree, and launches.

use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::sys::{self, CUdevice_attribute, CUfunction_attribute};
use cudarc::driver::{DriverError, result};

use super::nvrtc::{self, Image};
use crate::error::{DeviceErrorKind, Error, Result};
use crate::scalar::DType;

/// The kernels' CUDA C: shared definitions, then each file.
const SOURCE: &str = concat!(
    include_str!("kernels/common.cuh"),
    include_str!("kernels/signature.cu"),
    include_str!("kernels/product.cu"),
    include_str!("kernels/transform.cu"),
);

/// Every kernel a module holds.
pub(crate) const KERNELS: [&str; 7] = [
    "signature_forward",
    "signature_forward_registers",
    "signature_backward",
    "product",
    "product_backward",
    "transform",
    "transform_backward",
];

/// Steps whose increments the signature kernels stage in shared memory at once (`TS_CHUNK`).
pub(crate) const CHUNK: usize = 32;

/// C's name of an element type, for the kernels' `-D` specialisations.
fn c_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F64 => "double",
    }
}

/// What a kernel module is specialised for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Spec {
    pub(crate) dtype: DType,
    /// Channels after the transforms.
    pub(crate) dim: usize,
    pub(crate) degree: usize,
    /// Dual numbers (second derivatives).
    pub(crate) dual: bool,
}

impl Spec {
    /// The specialisation for signatures of `layout` in `dtype`, over dual numbers or not.
    pub(crate) fn new(dtype: DType, layout: crate::algebra::Layout, dual: bool) -> Self {
        Spec {
            dtype,
            dim: layout.dim(),
            degree: layout.degree(),
            dual,
        }
    }

    /// NVRTC's options for this specialisation, targeting `arch` (`sm_90`, `compute_80`, ...).
    pub(crate) fn options(&self, arch: &str) -> Vec<String> {
        vec![
            format!("--gpu-architecture={arch}"),
            "-std=c++17".into(),
            format!("-DTS_REAL={}", c_name(self.dtype)),
            format!("-DTS_DIM={}", self.dim),
            format!("-DTS_DEGREE={}", self.degree),
            format!("-DTS_DUAL={}", u8::from(self.dual)),
            format!("-DTS_CHUNK={CHUNK}"),
        ]
    }

    /// Bytes of one number of the kernels' arithmetic (a dual number is two).
    pub(crate) fn num_size(&self) -> usize {
        self.dtype.size() * if self.dual { 2 } else { 1 }
    }
}

/// Compiles the kernels for `spec` and `arch` without loading them: what `.ci/run` checks on
/// machines without a GPU.
pub fn compile_check(
    dtype: DType,
    dim: usize,
    degree: usize,
    dual: bool,
    arch: &str,
) -> Result<usize> {
    let spec = Spec {
        dtype,
        dim,
        degree,
        dual,
    };
    match nvrtc::compile(SOURCE, "tensorsig.cu", &spec.options(arch))? {
        Image::Cubin(bytes) | Image::Ptx(bytes) => Ok(bytes.len()),
    }
}

fn driver_error(what: &str, e: DriverError) -> Error {
    let name = e
        .error_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Error::device(
        DeviceErrorKind::Driver,
        format!("{what}: CUDA driver error {} ({name})", e.0 as i32),
    )
}

/// Loads and initialises the driver once; the reason it cannot be used otherwise.
fn driver() -> Result<()> {
    static INIT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        // SAFETY: only probes whether the library can be opened.
        if !unsafe { sys::is_culib_present() } {
            return Err("the NVIDIA driver (libcuda) is not installed on this machine".into());
        }
        result::init().map_err(|e| driver_error("initialising the CUDA driver", e).to_string())
    })
    .clone()
    .map_err(|message| Error::device(DeviceErrorKind::Unavailable, message))
}

/// The number of CUDA devices, or why CUDA cannot be used (no driver, no device).
pub fn device_count() -> Result<usize> {
    driver()?;
    let count =
        result::device::get_count().map_err(|e| driver_error("counting CUDA devices", e))?;
    if count < 1 {
        return Err(Error::device(
            DeviceErrorKind::Unavailable,
            "the CUDA driver reports no GPU",
        ));
    }
    Ok(count as usize)
}

/// A loaded module's kernels.
pub(crate) struct Module {
    functions: HashMap<&'static str, sys::CUfunction>,
    /// The most dynamic shared memory a block may ask for.
    pub(crate) max_shared: usize,
    /// Streaming multiprocessors on the device.
    pub(crate) processors: usize,
    /// The most threads a block of `signature_forward_registers` may have: fewer than 1024
    /// where the compiled kernel's registers run out first.
    pub(crate) register_kernel_threads: usize,
}

// SAFETY: driver handles may be used from any thread once loaded.
unsafe impl Send for Module {}
unsafe impl Sync for Module {}

impl Module {
    pub(crate) fn function(&self, name: &str) -> sys::CUfunction {
        self.functions[name]
    }
}

/// Makes `device`'s primary context (the one torch uses) current on this thread.
pub(crate) fn activate(device: i32) -> Result<()> {
    static CONTEXTS: Mutex<Vec<(i32, usize)>> = Mutex::new(Vec::new());
    driver()?;
    let mut contexts = CONTEXTS.lock().unwrap_or_else(|e| e.into_inner());
    let context = match contexts.iter().find(|(d, _)| *d == device) {
        Some(&(_, ctx)) => ctx as sys::CUcontext,
        None => {
            let dev = result::device::get(device)
                .map_err(|e| driver_error("opening the CUDA device", e))?;
            // SAFETY: a device returned by the driver; retained for the life of the process.
            let ctx = unsafe { result::primary_ctx::retain(dev) }
                .map_err(|e| driver_error("retaining the context", e))?;
            contexts.push((device, ctx as usize));
            ctx
        }
    };
    // SAFETY: a live primary context.
    unsafe { result::ctx::set_current(context) }
        .map_err(|e| driver_error("activating the context", e))
}

/// Loaded modules by device and specialisation.
type ModuleCache = Mutex<Vec<((i32, Spec), Arc<Module>)>>;

/// The kernels for `spec` on `device`, compiled and loaded on first use.
pub(crate) fn module(device: i32, spec: Spec) -> Result<Arc<Module>> {
    static MODULES: ModuleCache = Mutex::new(Vec::new());
    activate(device)?;
    if let Some((_, m)) = MODULES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(k, _)| *k == (device, spec))
    {
        return Ok(Arc::clone(m));
    }
    let dev =
        result::device::get(device).map_err(|e| driver_error("opening the CUDA device", e))?;
    // SAFETY: attribute queries on a valid device.
    let attribute = |a: CUdevice_attribute| unsafe { result::device::get_attribute(dev, a) };
    let major = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
        .map_err(|e| driver_error("querying the device", e))?;
    let minor = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
        .map_err(|e| driver_error("querying the device", e))?;
    let max_shared =
        attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
            .unwrap_or(48 << 10) as usize;
    let processors = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
        .unwrap_or(1) as usize;

    // A binary for this GPU; PTX for the driver to finish where NVRTC does not know the GPU yet.
    let image = nvrtc::compile(
        SOURCE,
        "tensorsig.cu",
        &spec.options(&format!("sm_{major}{minor}")),
    )
    .or_else(|_| {
        nvrtc::compile(
            SOURCE,
            "tensorsig.cu",
            &spec.options(&format!("compute_{major}{minor}")),
        )
    })?;
    let bytes = match image {
        Image::Cubin(b) => b,
        Image::Ptx(mut b) => {
            if b.last() != Some(&0) {
                b.push(0);
            }
            b
        }
    };
    // SAFETY: a complete cubin or NUL-terminated PTX image.
    let module = unsafe { result::module::load_data(bytes.as_ptr().cast::<c_void>()) }
        .map_err(|e| driver_error("loading the compiled kernels", e))?;
    let mut functions = HashMap::new();
    for name in KERNELS {
        let c_name = CString::new(name).expect("kernel names have no NUL");
        // SAFETY: a loaded module and a kernel name it defines.
        let f = unsafe { result::module::get_function(module, c_name) }
            .map_err(|e| driver_error(name, e))?;
        if max_shared > (48 << 10) {
            // SAFETY: a valid function; raising the opt-in limit up to the device's maximum.
            let _ = unsafe {
                result::function::set_function_attribute(
                    f,
                    CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    max_shared as i32,
                )
            };
        }
        functions.insert(name, f);
    }
    // SAFETY: a loaded function and an attribute every driver answers.
    let register_kernel_threads = unsafe {
        result::function::get_function_attribute(
            functions["signature_forward_registers"],
            CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
        )
    }
    .map_or(0, |n| n.max(0) as usize);
    let loaded = Arc::new(Module {
        functions,
        max_shared,
        processors,
        register_kernel_threads,
    });
    MODULES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(((device, spec), Arc::clone(&loaded)));
    Ok(loaded)
}

/// Launches `f` on the caller's `stream` (torch's current stream, as a raw `CUstream`).
///
/// # Safety
/// `params` must point at values of the kernel's parameter types, and every device pointer among
/// them must be valid for the kernel's accesses until the stream reaches the launch.
pub(crate) unsafe fn launch(
    f: sys::CUfunction,
    grid: u32,
    block: u32,
    shared: usize,
    stream: u64,
    params: &mut [*mut c_void],
) -> Result<()> {
    if grid == 0 {
        return Ok(());
    }
    // SAFETY: forwarded to the caller.
    unsafe {
        result::launch_kernel(
            f,
            (grid, 1, 1),
            (block, 1, 1),
            shared as u32,
            stream as sys::CUstream,
            params,
        )
    }
    .map_err(|e| driver_error("launching a kernel", e))
}

/// Device memory for the length of one call, freed in stream order.
pub(crate) struct Scratch {
    ptr: sys::CUdeviceptr,
    stream: u64,
}

/// Scratch memory a device's pool keeps reserved across synchronisations: the default pool
/// returns everything at each one, so that every call would map its scratch afresh (a few
/// hundred microseconds for tens of megabytes).
const POOL_RETAINS: u64 = 512 << 20;

/// This process's stream-ordered memory pool on `device` for scratch memory, created once;
/// `None` where the driver cannot make one (scratch then comes from the device's default pool).
fn pool(device: i32) -> Option<sys::CUmemoryPool> {
    static POOLS: Mutex<Vec<(i32, Option<usize>)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&(_, pool)) = pools.iter().find(|(d, _)| *d == device) {
        return pool.map(|p| p as sys::CUmemoryPool);
    }
    // SAFETY: plain-old-data properties, zeroed as the driver's documentation asks, then the
    // fields that matter; the pool is kept for the life of the process.
    let pool = unsafe {
        let mut props: sys::CUmemPoolProps = std::mem::zeroed();
        props.allocType = sys::CUmemAllocationType::CU_MEM_ALLOCATION_TYPE_PINNED;
        props.handleTypes = sys::CUmemAllocationHandleType::CU_MEM_HANDLE_TYPE_NONE;
        props.location.type_ = sys::CUmemLocationType::CU_MEM_LOCATION_TYPE_DEVICE;
        props.location.id = device;
        let mut pool: sys::CUmemoryPool = std::ptr::null_mut();
        let mut retain = POOL_RETAINS;
        sys::cuMemPoolCreate(&mut pool, &props)
            .result()
            .and_then(|()| {
                sys::cuMemPoolSetAttribute(
                    pool,
                    sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                    (&mut retain as *mut u64).cast(),
                )
                .result()
            })
            .ok()
            .map(|()| pool as usize)
    };
    pools.push((device, pool));
    pool.map(|p| p as sys::CUmemoryPool)
}

impl Scratch {
    /// `bytes` of memory on `device`, allocated in the order of `stream`.
    pub(crate) fn new(bytes: usize, device: i32, stream: u64) -> Result<Self> {
        if bytes == 0 {
            return Ok(Scratch { ptr: 0, stream });
        }
        let on = stream as sys::CUstream;
        // SAFETY: stream-ordered allocation on the current context's device, from this
        // process's pool for it where there is one.
        let ptr = match pool(device) {
            Some(pool) => unsafe {
                let mut ptr: sys::CUdeviceptr = 0;
                sys::cuMemAllocFromPoolAsync(&mut ptr, bytes, pool, on)
                    .result()
                    .map(|()| ptr)
            },
            None => unsafe { result::malloc_async(on, bytes) },
        }
        .map_err(|e| {
            if e.0 == sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
                Error::OutOfMemory {
                    what: "GPU scratch memory",
                    bytes,
                }
            } else {
                driver_error("allocating GPU scratch memory", e)
            }
        })?;
        Ok(Scratch { ptr, stream })
    }

    /// The device address.
    pub(crate) fn addr(&self) -> u64 {
        self.ptr
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.ptr != 0 {
            // SAFETY: allocated by `new` on the same stream; freed once, after the launches.
            let _ = unsafe { result::free_async(self.ptr, self.stream as sys::CUstream) };
        }
    }
}
