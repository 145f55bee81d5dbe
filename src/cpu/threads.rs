//! `n_jobs` → worker threads, on cached rayon pools that survive `fork`.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Error, Result};

/// How many threads a computation may use.
///
/// One thread runs on the caller's thread with no pool at all; more run on a rayon pool of
/// exactly that size, built on first use and kept for the life of the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Threads(NonZeroUsize);

impl Threads {
    /// Run on the calling thread.
    pub const SERIAL: Threads = Threads(NonZeroUsize::MIN);

    /// Exactly `count` threads (at least one).
    pub fn new(count: usize) -> Result<Self> {
        NonZeroUsize::new(count)
            .map(Threads)
            .ok_or_else(|| Error::invalid("n_jobs", "the number of threads must be at least 1"))
    }

    /// As many threads as the machine offers (asked once per process: the answer reads cgroup
    /// files, ~30 µs that every call with any `n_jobs` paid).
    pub fn all() -> Self {
        static ALL: std::sync::OnceLock<NonZeroUsize> = std::sync::OnceLock::new();
        Threads(
            *ALL.get_or_init(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)),
        )
    }

    /// pysiglib's (and joblib's) `n_jobs`: `1` serial, `n > 1` that many threads, `-1` all
    /// threads, and below that all but `|n_jobs| - 1` of them (`-2`: all but one). Asking to
    /// leave out every thread the machine has runs on one, as in joblib, so that code written for
    /// a large machine runs on a small one. `0` is an error.
    ///
    /// A positive count is capped at four threads per core: more never speeds up work that is
    /// bound by arithmetic, and an absurd count (`2**40`) must not try to start that many threads.
    pub fn from_n_jobs(n_jobs: i64) -> Result<Self> {
        match n_jobs {
            0 => Err(Error::invalid("n_jobs", "n_jobs cannot be 0")),
            n if n > 0 => {
                let cap = 4 * Self::all().count();
                Self::new(usize::try_from(n).unwrap_or(usize::MAX).min(cap))
            }
            n => {
                let all = Self::all().count() as i64;
                Self::new(all.saturating_add(1).saturating_add(n).max(1) as usize)
            }
        }
    }

    /// The number of threads.
    pub fn count(&self) -> usize {
        self.0.get()
    }

    /// Runs `work` on this many threads: inline when serial, else inside the pool, where rayon's
    /// parallel iterators pick it up.
    pub(crate) fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> Result<R> {
        if self.count() == 1 {
            return Ok(work());
        }
        Ok(pool(self.count())?.install(work))
    }
}

/// Pools by size, tagged with the process that built them.
struct Pools {
    pid: u32,
    by_size: Vec<(usize, Arc<ThreadPool>)>,
}

static POOLS: Mutex<Option<Pools>> = Mutex::new(None);

/// The pool of `threads` threads for this process.
///
/// A forked child (a torch DataLoader worker, say) inherits the parent's pools but none of
/// their threads, and would wait forever on them; the pid tag notices the fork and the child
/// builds its own. The lock is never held while a pool is built.
fn pool(threads: usize) -> Result<Arc<ThreadPool>> {
    let pid = std::process::id();
    let lookup = |pools: &Option<Pools>| {
        pools
            .as_ref()
            .filter(|p| p.pid == pid)
            .and_then(|p| p.by_size.iter().find(|(n, _)| *n == threads))
            .map(|(_, pool)| Arc::clone(pool))
    };
    if let Some(pool) = lookup(&POOLS.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(pool);
    }
    let built = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("tensorsig-{i}"))
        .build()
        .map_err(|e| Error::ThreadPool {
            threads,
            message: e.to_string(),
        })?;
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(pool) = lookup(&pools) {
        return Ok(pool); // another thread won the race
    }
    if pools.as_ref().is_some_and(|p| p.pid != pid) {
        // The parent's pools: their threads do not exist here, so dropping them could block.
        std::mem::forget(pools.take());
    }
    let pool = Arc::new(built);
    pools
        .get_or_insert_with(|| Pools {
            pid,
            by_size: Vec::new(),
        })
        .by_size
        .push((threads, Arc::clone(&pool)));
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_jobs_follows_pysiglib() {
        let all = Threads::all().count();
        assert_eq!(Threads::from_n_jobs(1).unwrap(), Threads::SERIAL);
        assert_eq!(Threads::from_n_jobs(3).unwrap().count(), 3.min(4 * all));
        assert_eq!(Threads::from_n_jobs(1 << 40).unwrap().count(), 4 * all);
        assert_eq!(Threads::from_n_jobs(-1).unwrap().count(), all);
        assert!(Threads::from_n_jobs(0).is_err());
        assert_eq!(
            Threads::from_n_jobs(-(all as i64) - 1).unwrap(),
            Threads::SERIAL
        );
        assert_eq!(Threads::from_n_jobs(i64::MIN).unwrap(), Threads::SERIAL);
        if all > 1 {
            assert_eq!(Threads::from_n_jobs(-2).unwrap().count(), all - 1);
        }
    }

    #[test]
    fn pools_are_reused() {
        let a = pool(2).unwrap();
        let b = pool(2).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(
            Threads::new(2)
                .unwrap()
                .install(rayon::current_num_threads)
                .unwrap(),
            2
        );
    }
}
