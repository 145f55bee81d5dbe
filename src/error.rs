//! The crate's one error type.

/// Everything that can go wrong in tensorsig, by the kind of mistake.
///
/// The Python binding maps each variant to one class of `tensorsig.exceptions`:
/// [`Error::InvalidArgument`] to `InvalidArgumentError` (a `ValueError`), [`Error::Shape`] and
/// [`Error::TooLarge`] to `ShapeError` (a `ValueError`), [`Error::OutOfMemory`] to
/// `OutOfMemoryError` (a `MemoryError`), [`Error::ThreadPool`] and [`Error::Device`] to
/// `ThreadPoolError` and `DeviceError` (`RuntimeError`s). New variants may come: match with a
/// wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument has a value outside its domain (a zero `n_jobs`, a path without channels, …).
    #[error("{name}: {message}")]
    InvalidArgument {
        /// The argument, as the caller spells it.
        name: &'static str,
        /// What was expected and what was given.
        message: String,
    },
    /// A buffer's size does not match the shape the other arguments imply.
    #[error("{name} has length {got}, expected {expected}")]
    Shape {
        /// The buffer, as the caller spells it.
        name: &'static str,
        /// The length the other arguments imply.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A size that cannot be represented (it overflows the address space).
    #[error("{what} is too large to represent ({detail})")]
    TooLarge {
        /// What was being sized.
        what: &'static str,
        /// The dimensions that produced it.
        detail: String,
    },
    /// A working buffer could not be allocated.
    #[error("could not allocate {bytes} bytes for {what}")]
    OutOfMemory {
        /// What the buffer was for.
        what: &'static str,
        /// How many bytes were asked for.
        bytes: usize,
    },
    /// A worker thread pool could not be started.
    #[error("could not start a pool of {threads} threads: {message}")]
    ThreadPool {
        /// The number of threads asked for.
        threads: usize,
        /// The operating system's reason.
        message: String,
    },
    /// The GPU, its driver or its compiler failed or is missing.
    #[error("{message}")]
    Device {
        /// What failed.
        kind: DeviceErrorKind,
        /// What happened, and what to do about it where something can be done.
        message: String,
    },
}

/// The kinds of [`Error::Device`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceErrorKind {
    /// No usable GPU here: no NVIDIA driver, no device, or a build without the `cuda` feature.
    Unavailable,
    /// NVRTC, the CUDA runtime compiler, is missing or failed to compile the kernels.
    Compiler,
    /// A call into the CUDA driver failed (a launch, a copy, a module load).
    Driver,
    /// The work does not fit the GPU kernels' limits (shared memory, grid sizes); the CPU can do it.
    Unsupported,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Device`].
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn device(kind: DeviceErrorKind, message: impl Into<String>) -> Self {
        Error::Device {
            kind,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            message: message.into(),
        }
    }
}

/// Checks that `buffer` holds exactly `expected` elements.
pub(crate) fn check_len<T>(name: &'static str, buffer: &[T], expected: usize) -> Result<()> {
    if buffer.len() == expected {
        Ok(())
    } else {
        Err(Error::Shape {
            name,
            expected,
            got: buffer.len(),
        })
    }
}

/// A zero-filled vector of `len` elements, or [`Error::OutOfMemory`] instead of an abort.
pub(crate) fn try_zeroed<T: Clone + Default>(what: &'static str, len: usize) -> Result<Vec<T>> {
    let oom = || Error::OutOfMemory {
        what,
        bytes: len.saturating_mul(std::mem::size_of::<T>()),
    };
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| oom())?;
    v.resize(len, T::default());
    Ok(v)
}
