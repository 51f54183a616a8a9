//! Big buffers kept between batches on each thread. A batch of histories needs a few hundred
//! megabytes of keys and scratch; memory the allocator hands back to the kernel comes back as
//! page faults and cleared pages, which cost a tenth of a run, so the buffers are reused.

use std::cell::RefCell;

/// Most a thread keeps, in values (4 bytes each): about one batch's worth.
const KEEP: usize = 48 << 20;

/// Buffers smaller than this are left to the allocator.
const SMALL: usize = 1 << 16;

thread_local! {
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for `n` values: the smallest kept one that fits, else a new one.
pub(super) fn take(n: usize) -> Vec<f32> {
    if n < SMALL {
        return Vec::with_capacity(n);
    }
    POOL.with_borrow_mut(|pool| {
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= n)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => pool.swap_remove(i),
            None => Vec::with_capacity(n),
        }
    })
}

/// `n` zeros in a kept buffer.
pub(super) fn zeros(n: usize) -> Vec<f32> {
    let mut v = take(n);
    v.clear();
    v.resize(n, 0.0);
    v
}

/// Keeps `v` for a later batch on this thread (dropping the smallest kept ones past `KEEP`).
pub(super) fn give(mut v: Vec<f32>) {
    if v.capacity() < SMALL {
        return;
    }
    v.clear();
    POOL.with_borrow_mut(|pool| {
        pool.push(v);
        while pool.iter().map(Vec::capacity).sum::<usize>() > KEEP {
            let smallest = pool
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i)
                .expect("not empty");
            pool.swap_remove(smallest);
        }
    });
}
