//! NVRTC, the CUDA runtime compiler, loaded at run time.
//!
//! Loaded here rather than through cudarc so that the library can be found wherever it is: the
//! path the Python package finds in torch's CUDA wheels (`site-packages/nvidia/.../lib`), then
//! `TENSORSIG_NVRTC`, then the loader's search path under every soname CUDA 11 to 13 use. Only
//! the handful of entry points needed to turn a source into a binary are bound.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::{Mutex, OnceLock};

use libloading::{Library, Symbol};

use crate::error::{DeviceErrorKind, Error, Result};

type Program = *mut c_void;
type Status = c_int;

/// An explicit library path, set before first use (by the Python package).
static PATH: Mutex<Option<String>> = Mutex::new(None);
static LIBRARY: OnceLock<std::result::Result<Nvrtc, String>> = OnceLock::new();

/// Where to load NVRTC from, ahead of the standard search; no effect once loaded.
pub fn set_library_path(path: &str) {
    *PATH.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.to_owned());
}

struct Nvrtc {
    library: Library,
}

/// The loaded library, or why it could not be loaded.
fn library() -> Result<&'static Nvrtc> {
    LIBRARY
        .get_or_init(|| {
            let mut candidates: Vec<String> = Vec::new();
            candidates.extend(PATH.lock().unwrap_or_else(|e| e.into_inner()).clone());
            candidates.extend(std::env::var("TENSORSIG_NVRTC").ok());
            for name in ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so", "nvrtc64_130_0.dll", "nvrtc64_120_0.dll"] {
                candidates.push(name.to_owned());
            }
            for candidate in &candidates {
                // SAFETY: loading a shared library runs its initialisers; NVRTC's are benign.
                if let Ok(library) = unsafe { Library::new(candidate) } {
                    return Ok(Nvrtc { library });
                }
            }
            Err(format!(
                "NVRTC (the CUDA runtime compiler) could not be loaded; tried {candidates:?}. Install torch \
                 with CUDA or the nvidia-cuda-nvrtc wheel, or set TENSORSIG_NVRTC to libnvrtc's path"
            ))
        })
        .as_ref()
        .map_err(|e| Error::device(DeviceErrorKind::Compiler, e.clone()))
}

impl Nvrtc {
    fn symbol<F>(&self, name: &[u8]) -> Result<Symbol<'_, F>> {
        // SAFETY: every symbol is looked up with the signature of NVRTC's C API.
        unsafe { self.library.get(name) }.map_err(|e| {
            Error::device(
                DeviceErrorKind::Compiler,
                format!("NVRTC lacks {}: {e}", String::from_utf8_lossy(name)),
            )
        })
    }
}

/// NVRTC's version, `(major, minor)`.
pub fn version() -> Result<(i32, i32)> {
    let lib = library()?;
    let (mut major, mut minor) = (0, 0);
    let f: Symbol<unsafe extern "C" fn(*mut c_int, *mut c_int) -> Status> =
        lib.symbol(b"nvrtcVersion\0")?;
    // SAFETY: two valid out-pointers.
    check(lib, unsafe { f(&mut major, &mut minor) }, "nvrtcVersion")?;
    Ok((major, minor))
}

fn check(lib: &Nvrtc, status: Status, what: &str) -> Result<()> {
    if status == 0 {
        return Ok(());
    }
    let message = lib
        .symbol::<unsafe extern "C" fn(Status) -> *const c_char>(b"nvrtcGetErrorString\0")
        .ok()
        // SAFETY: NVRTC returns a static C string for any status.
        .map(|f| {
            unsafe { CStr::from_ptr(f(status)) }
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    Err(Error::device(
        DeviceErrorKind::Compiler,
        format!("{what} failed with NVRTC error {status}: {message}"),
    ))
}

/// What NVRTC produced: a binary for one GPU (`cubin`), or PTX for the driver to finish.
pub enum Image {
    /// Machine code for the architecture compiled for.
    Cubin(Vec<u8>),
    /// PTX text, NUL-terminated.
    Ptx(Vec<u8>),
}

/// Compiles `source` with `options` (e.g. `--gpu-architecture=sm_90`, `-DNAME=value`). With a
/// real architecture (`sm_XY`) the result is a cubin, with a virtual one (`compute_XY`) PTX.
pub fn compile(source: &str, name: &str, options: &[String]) -> Result<Image> {
    let lib = library()?;
    let source = CString::new(source)
        .map_err(|_| Error::device(DeviceErrorKind::Compiler, "kernel source contains NUL"))?;
    let name = CString::new(name)
        .map_err(|_| Error::device(DeviceErrorKind::Compiler, "kernel name contains NUL"))?;
    let options: Vec<CString> = options
        .iter()
        .map(|o| {
            CString::new(o.as_str()).map_err(|_| {
                Error::device(DeviceErrorKind::Compiler, "an NVRTC option contains NUL")
            })
        })
        .collect::<Result<_>>()?;
    let option_ptrs: Vec<*const c_char> = options.iter().map(|o| o.as_ptr()).collect();

    type Create = unsafe extern "C" fn(
        *mut Program,
        *const c_char,
        *const c_char,
        c_int,
        *const *const c_char,
        *const *const c_char,
    ) -> Status;
    type Compile = unsafe extern "C" fn(Program, c_int, *const *const c_char) -> Status;
    type Destroy = unsafe extern "C" fn(*mut Program) -> Status;

    let create: Symbol<Create> = lib.symbol(b"nvrtcCreateProgram\0")?;
    let compile: Symbol<Compile> = lib.symbol(b"nvrtcCompileProgram\0")?;
    let destroy: Symbol<Destroy> = lib.symbol(b"nvrtcDestroyProgram\0")?;
    let mut program: Program = std::ptr::null_mut();
    // SAFETY: valid C strings; no headers.
    check(
        lib,
        unsafe {
            create(
                &mut program,
                source.as_ptr(),
                name.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            )
        },
        "nvrtcCreateProgram",
    )?;
    let result = (|| {
        // SAFETY: `program` is live; the options outlive the call.
        let status = unsafe { compile(program, option_ptrs.len() as c_int, option_ptrs.as_ptr()) };
        if status != 0 {
            let log = read(
                lib,
                program,
                b"nvrtcGetProgramLogSize\0",
                b"nvrtcGetProgramLog\0",
            )
            .unwrap_or_default();
            return Err(Error::device(
                DeviceErrorKind::Compiler,
                format!(
                    "compiling the CUDA kernels failed (NVRTC error {status}):\n{}",
                    String::from_utf8_lossy(&log).trim_end_matches('\0')
                ),
            ));
        }
        let cubin = options
            .iter()
            .any(|o| o.to_bytes().starts_with(b"--gpu-architecture=sm_"));
        if cubin {
            read(lib, program, b"nvrtcGetCUBINSize\0", b"nvrtcGetCUBIN\0").map(Image::Cubin)
        } else {
            read(lib, program, b"nvrtcGetPTXSize\0", b"nvrtcGetPTX\0").map(Image::Ptx)
        }
    })();
    // SAFETY: `program` was created above and is destroyed once.
    let _ = unsafe { destroy(&mut program) };
    result
}

/// Reads one of a program's outputs through its size and copy functions.
fn read(lib: &Nvrtc, program: Program, size_fn: &[u8], get_fn: &[u8]) -> Result<Vec<u8>> {
    let size: Symbol<unsafe extern "C" fn(Program, *mut usize) -> Status> = lib.symbol(size_fn)?;
    let get: Symbol<unsafe extern "C" fn(Program, *mut c_char) -> Status> = lib.symbol(get_fn)?;
    let mut len = 0usize;
    // SAFETY: `program` is live; the buffer holds `len` bytes.
    check(
        lib,
        unsafe { size(program, &mut len) },
        "reading NVRTC output size",
    )?;
    let mut buffer = vec![0u8; len];
    check(
        lib,
        unsafe { get(program, buffer.as_mut_ptr().cast()) },
        "reading NVRTC output",
    )?;
    Ok(buffer)
}
