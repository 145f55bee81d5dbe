//! The process cache of per-`(dimension, degree)` tables, thread-safe and fork-aware.
//!
//! Families that precompute something for a shape (the Lyndon bracket basis of the
//! log-signatures, say) keep it here, keyed by the table's type and `(d, N)`: the first call that
//! needs a table builds it, every later one shares it (`Arc`), and nothing needs preparing.
//!
//! - **Thread safety.** The registry's lock is held only to find or insert a key's slot, never
//!   while a table is built. Each key has its own slot lock, held while its table is built, so
//!   threads racing on a cold key build it once: the others wait for it, and callers for other
//!   keys do not wait at all.
//! - **Fork safety.** A child process (a torch DataLoader worker) inherits the parent's registry
//!   as it was at the fork, possibly with a lock held by a parent thread that does not exist in
//!   the child, and would wait forever on it. The registry is tagged with the pid that made it: a
//!   child finds a foreign tag, starts a registry of its own, and copies over the parent's tables
//!   whose slots it can take without waiting (tables are plain data, valid in the child); the
//!   parent's registry is leaked, never dropped (dropping could touch a held lock).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Result;

/// A table of any type, shared.
type Table = Arc<dyn Any + Send + Sync>;
/// One key's table once built, behind the lock its builder holds.
type Slot = Arc<Mutex<Option<Table>>>;
/// A table's type and the `(dimension, degree)` it was built for.
type Key = (TypeId, usize, usize);

/// The tables of one process.
struct Registry {
    pid: u32,
    slots: Mutex<HashMap<Key, Slot>>,
}

/// This process's registry (null until first used). Registries are leaked: a forked child
/// replaces its parent's without dropping it.
static REGISTRY: AtomicPtr<Registry> = AtomicPtr::new(std::ptr::null_mut());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while building a table leaves its slot empty, which is consistent: go on.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The registry of the calling process, made (and the parent's tables adopted) on first use.
fn registry() -> &'static Registry {
    let pid = std::process::id();
    loop {
        let current = REGISTRY.load(Ordering::Acquire);
        // SAFETY: registries are leaked, so a non-null pointer stays valid forever.
        if let Some(reg) = unsafe { current.as_ref() }
            && reg.pid == pid
        {
            return reg;
        }
        // SAFETY: as above.
        let inherited = unsafe { current.as_ref() }.map(adopt).unwrap_or_default();
        let fresh = Box::into_raw(Box::new(Registry {
            pid,
            slots: Mutex::new(inherited),
        }));
        match REGISTRY.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                // SAFETY: just installed, and leaked from here on.
                return unsafe { &*fresh };
            }
            // Another thread of this process installed one first: use it.
            // SAFETY: `fresh` was never shared.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

/// The built tables of a parent's registry that can be read without waiting on a lock that
/// might never be released in this process.
fn adopt(parent: &Registry) -> HashMap<Key, Slot> {
    let Ok(slots) = parent.slots.try_lock() else {
        return HashMap::new();
    };
    slots
        .iter()
        .filter_map(|(key, slot)| {
            let table = slot.try_lock().ok()?.clone()?;
            Some((*key, Arc::new(Mutex::new(Some(table)))))
        })
        .collect()
}

/// The table of type `T` for `(dim, degree)`: the cached one, or one built by `build` (once per
/// process, whichever thread gets there first; concurrent callers wait for it and share it).
///
/// An error from `build` is returned to its caller and not cached: the next call tries again.
pub(crate) fn table<T: Any + Send + Sync>(
    dim: usize,
    degree: usize,
    build: impl FnOnce() -> Result<T>,
) -> Result<Arc<T>> {
    let key = (TypeId::of::<T>(), dim, degree);
    let slot = Arc::clone(lock(&registry().slots).entry(key).or_default());
    let mut built = lock(&slot);
    let table = match &*built {
        Some(table) => Arc::clone(table),
        None => {
            let table: Table = Arc::new(build()?);
            *built = Some(Arc::clone(&table));
            table
        }
    };
    Ok(table
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("slots are keyed by their table's type")))
}

/// Puts `value` in the cache as the table of type `T` for `(dim, degree)` (replacing any), and
/// returns it shared: for tables read from disk.
pub(crate) fn insert<T: Any + Send + Sync>(dim: usize, degree: usize, value: T) -> Arc<T> {
    let key = (TypeId::of::<T>(), dim, degree);
    let value = Arc::new(value);
    let slot = Arc::clone(lock(&registry().slots).entry(key).or_default());
    *lock(&slot) = Some(Arc::clone(&value) as Table);
    value
}

/// Whether the table of type `T` for `(dim, degree)` is built.
pub(crate) fn contains<T: Any + Send + Sync>(dim: usize, degree: usize) -> bool {
    let key = (TypeId::of::<T>(), dim, degree);
    let slot = lock(&registry().slots).get(&key).cloned();
    slot.is_some_and(|slot| lock(&slot).is_some())
}

/// Forgets every table. Computations holding one keep it until they finish.
pub(crate) fn clear() {
    lock(&registry().slots).clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn racing_threads_build_once_and_share() {
        struct Probe(usize);
        static BUILDS: AtomicUsize = AtomicUsize::new(0);
        let tables: Vec<Arc<Probe>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        table(3, 99, || {
                            BUILDS.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            Ok(Probe(7))
                        })
                        .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(BUILDS.load(Ordering::SeqCst), 1);
        assert!(
            tables
                .iter()
                .all(|t| Arc::ptr_eq(t, &tables[0]) && t.0 == 7)
        );
        assert!(contains::<Probe>(3, 99));
        assert!(!contains::<Probe>(3, 98));
    }

    #[test]
    fn a_failed_build_is_not_cached() {
        struct Flaky;
        let first = table(1, 1, || -> Result<Flaky> {
            Err(crate::Error::invalid("test", "first build fails"))
        });
        assert!(first.is_err());
        assert!(table(1, 1, || Ok(Flaky)).is_ok());
    }
}
