//! Timings of the Rust core alone (no Python): `cargo bench --bench core [-- FILTER]`.
//!
//! Each line runs one workload a few times and prints the best time and the achieved GFLOP/s
//! against the Horner flop count. `cargo bench --bench core -- --once NAME` runs NAME exactly
//! once, for profilers (`valgrind --tool=callgrind target/release/deps/core-*`).

use std::hint::black_box;
use std::time::Instant;

use tensorsig::{Layout, PathTransform, Paths, Scalar, SigParams, Threads};

/// The deterministic pseudo-random values a workload reads.
fn values<T: Scalar>(n: usize, scale: f64) -> Vec<T> {
    let mut state = 0x9E3779B97F4A7C15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            T::from_f64(((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * scale)
        })
        .collect()
}

/// Flops of the fused multiply-exponentiate per increment (as `python -m tensorsig bench`).
fn horner_flops(dim: usize, degree: usize) -> f64 {
    let mut flops = 2 * dim * degree;
    for k in 2..=degree {
        for j in 2..=k {
            flops += 2 * dim.pow(j as u32);
        }
    }
    flops as f64
}

struct Workload {
    name: String,
    flops: f64,
    run: Box<dyn FnMut()>,
}

fn sig_workload<T: Scalar>(
    batch: usize,
    len: usize,
    dim: usize,
    degree: usize,
    backward: bool,
) -> Workload {
    let kind = if backward { "sig_backprop" } else { "sig" };
    let name = format!(
        "{kind} {batch}x{len}x{dim} N={degree} {}",
        std::any::type_name::<T>()
    );
    let data: Vec<T> = values(batch * len * dim, 2.0 / (len as f64).sqrt());
    let transform = PathTransform::default();
    let layout = Layout::new(dim, degree).unwrap();
    let mut sigs = vec![T::ZERO; batch * layout.len()];
    let paths = Paths::new(&data, batch, len, dim).unwrap();
    tensorsig::sig(
        &paths,
        &SigParams::new(degree).with_transform(transform),
        Threads::SERIAL,
        &mut sigs,
    )
    .unwrap();
    let grads: Vec<T> = values(sigs.len(), 1.0);
    let mut d_path = vec![T::ZERO; data.len()];
    let mut out = vec![T::ZERO; sigs.len()];
    let flops =
        horner_flops(dim, degree) * (batch * (len - 1)) as f64 * if backward { 3.0 } else { 1.0 };
    let run: Box<dyn FnMut()> = Box::new(move || {
        let paths = Paths::new(&data, batch, len, dim).unwrap();
        if backward {
            tensorsig::sig_backprop(
                &paths,
                &sigs,
                &grads,
                &SigParams::new(degree).with_transform(transform),
                Threads::SERIAL,
                &mut d_path,
            )
            .unwrap();
            black_box(&d_path);
        } else {
            tensorsig::sig(
                &paths,
                &SigParams::new(degree).with_transform(transform),
                Threads::SERIAL,
                &mut out,
            )
            .unwrap();
            black_box(&out);
        }
    });
    Workload { name, flops, run }
}

fn combine_workload<T: Scalar>(
    batch: usize,
    dim: usize,
    degree: usize,
    backward: bool,
) -> Workload {
    let layout = Layout::new(dim, degree).unwrap();
    let n = batch * layout.len();
    let (a, b, g): (Vec<T>, Vec<T>, Vec<T>) = (values(n, 0.5), values(n, 0.7), values(n, 1.0));
    let (mut out1, mut out2) = (vec![T::ZERO; n], vec![T::ZERO; n]);
    let kind = if backward {
        "sig_combine_backprop"
    } else {
        "sig_combine"
    };
    let name = format!(
        "{kind} {batch} d={dim} N={degree} {}",
        std::any::type_name::<T>()
    );
    let run: Box<dyn FnMut()> = Box::new(move || {
        if backward {
            tensorsig::sig_combine_backprop(
                layout,
                &g,
                &a,
                &b,
                false,
                Threads::SERIAL,
                &mut out1,
                &mut out2,
            )
            .unwrap();
        } else {
            tensorsig::sig_combine(layout, &a, &b, false, Threads::SERIAL, &mut out1).unwrap();
        }
        black_box((&out1, &out2));
    });
    Workload {
        name,
        flops: 0.0,
        run,
    }
}

/// Every workload, by name, built only when selected (building one computes signatures).
fn workloads() -> Vec<(String, Box<dyn Fn() -> Workload>)> {
    let mut all: Vec<(String, Box<dyn Fn() -> Workload>)> = Vec::new();
    for backward in [false, true] {
        let kind = if backward { "sig_backprop" } else { "sig" };
        for &(batch, len, dim, degree) in &[
            (128, 256, 5, 4),
            (256, 100, 2, 7),
            (32, 1000, 3, 6),
            (32, 200, 4, 5),
            (4, 2000, 2, 7),
            (16, 500, 8, 5),
            (1, 10_000, 3, 7),
            (256, 1000, 8, 2),
            (1, 10_000, 6, 3),
        ] {
            let name = format!("{kind} {batch}x{len}x{dim} N={degree}");
            all.push((
                format!("{name} f64"),
                Box::new(move || sig_workload::<f64>(batch, len, dim, degree, backward)),
            ));
            all.push((
                format!("{name} f32"),
                Box::new(move || sig_workload::<f32>(batch, len, dim, degree, backward)),
            ));
        }
        let kind = if backward {
            "sig_combine_backprop"
        } else {
            "sig_combine"
        };
        all.push((
            format!("{kind} 10000 d=5 N=4 f64"),
            Box::new(move || combine_workload::<f64>(10_000, 5, 4, backward)),
        ));
    }
    all
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Some(pos) = args.iter().position(|a| a == "--once") {
        let name = args.get(pos + 1).expect("--once NAME");
        let (_, build) = workloads()
            .into_iter()
            .find(|(n, _)| n == name)
            .expect("no such workload");
        let mut w = build();
        (w.run)();
        println!("ran {} once", w.name);
        return;
    }
    let filter = args.first().cloned().unwrap_or_default();
    for (_, build) in workloads().into_iter().filter(|(n, _)| n.contains(&filter)) {
        let mut w = build();
        (w.run)();
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let start = Instant::now();
            (w.run)();
            best = best.min(start.elapsed().as_secs_f64());
        }
        let rate = if w.flops > 0.0 {
            format!("{:6.1} GFLOP/s", w.flops / best / 1e9)
        } else {
            String::new()
        };
        println!("{:<44} {:9.3} ms {rate}", w.name, best * 1e3);
    }
}
