//! tokio peer of bench/bench_exec.c: the same workloads on tokio 1.24 (Debian 12's), one
//! current_thread runtime per run, built with enable_time() and start_paused(true) (a
//! paused clock that auto-advances to the next timer when nothing else can run: tokio's
//! nearest thing to sim's virtual time). Output as sim-bench: one line per figure,
//! "name value unit", the median of 5 runs (BENCH_RUNS) of N = 1e6 (argv[1]), runs
//! interleaved across workloads; argv[2] picks one workload. Runtime creation and teardown are not timed (sim
//! does not time world creation either); wall time comes from std::time::Instant.
//!
//!   spawn          inside block_on, tokio::spawn N tasks that each bump a thread-local
//!                  counter (the JoinHandles are dropped at once: sim's bench spawns without
//!                  join handles too). The main future then awaits a tokio::sync::Notify that
//!                  the task reaching N signals: cheaper than joining N handles, and unlike
//!                  a yield_now() loop it does not re-poll the main future every
//!                  event_interval (61) tasks. Tokio's tasks are Send and its spawn path uses
//!                  atomics (task state, reference counts), where sim's are single-threaded.
//!   pingpong       tokio::sync::mpsc::channel(1) carrying a fresh tokio::sync::oneshot
//!                  sender per request; task A sends the request and awaits the answer, task
//!                  B answers; two spawned tasks, the main future joins both.
//!   pingpong-mpsc  two long-lived mpsc::channel(1)s, a u64 bounced N times.
//!   timers         N tasks each sleep_until(start + d), d drawn in ns uniformly in [0, 1 s)
//!                  by the same fixed-seed splitmix64 as bench/peers/peer_common.h. Tokio's
//!                  timer wheel has millisecond granularity: it rounds each deadline UP to
//!                  the next whole millisecond, so the order is checked on ceil(d / 1 ms),
//!                  ties in any order (the wheel does not keep arming order), and each wake-up
//!                  must happen exactly at start + ceil(d / 1 ms) on the paused clock (sim
//!                  checks exactly its own deadline). PEER_BENCH_SABOTAGE=1 arms each pair
//!                  of timers with each other's deadline behind the checker's back, which
//!                  must fail the run.
use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant as WallInstant};

use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

const RUNS_DEFAULT: usize = 5;
const RUNS_MAX: usize = 99;
const NS_PER_S: u64 = 1_000_000_000;
const NS_PER_MS: u64 = 1_000_000;

fn runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime")
}

fn die(what: &str) -> ! {
    eprintln!("tokio peer bench: {what}");
    std::process::exit(1);
}

/// One Notify per run, leaked so that 'static tasks can borrow it without an Arc clone each.
fn done_signal() -> &'static Notify {
    Box::leak(Box::new(Notify::new()))
}

// ---- process CPU time --------------------------------------------------------------------

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    // glibc's (x86_64 Linux: time_t and long are 64 bits).
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;

/// Process CPU time in ns, as the C peers' getrusage (user + system) and sim-bench's.
fn cpu_ns() -> u64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one Timespec, which ts is.
    if unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
        die("clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    }
    ts.tv_sec as u64 * NS_PER_S + ts.tv_nsec as u64
}

thread_local! {
    /// CPU ns of the last run's timed span, divided by N in run_one's caller.
    static LAST_CPU_NS: Cell<u64> = Cell::new(0);
}

// ---- spawn --------------------------------------------------------------------------------

thread_local! {
    static COUNT: Cell<u64> = Cell::new(0);
}

fn bench_spawn(n: u64) -> f64 {
    let rt = runtime();
    let done = done_signal();
    COUNT.with(|c| c.set(0));
    let ns = rt.block_on(async move {
        let t0 = WallInstant::now();
        let c0 = cpu_ns();
        for _ in 0..n {
            tokio::spawn(async move {
                let k = COUNT.with(|c| {
                    let k = c.get() + 1;
                    c.set(k);
                    k
                });
                if k == n {
                    done.notify_one();
                }
            });
        }
        done.notified().await;
        LAST_CPU_NS.with(|c| c.set(cpu_ns() - c0));
        t0.elapsed().as_nanos()
    });
    if COUNT.with(|c| c.get()) != n {
        die("spawn: not every task ran");
    }
    drop(rt);
    ns as f64 / n as f64
}

// ---- ping-pong ----------------------------------------------------------------------------

fn bench_pingpong(n: u64) -> f64 {
    let rt = runtime();
    let ns = rt.block_on(async move {
        let (req_tx, mut req_rx) = mpsc::channel::<oneshot::Sender<u64>>(1);
        let t0 = WallInstant::now();
        let c0 = cpu_ns();
        let a = tokio::spawn(async move {
            for _ in 0..n {
                let (tx, rx) = oneshot::channel();
                if req_tx.send(tx).await.is_err() {
                    die("send request");
                }
                if rx.await.is_err() {
                    die("recv answer");
                }
            }
        });
        let b = tokio::spawn(async move {
            let mut served = 0u64;
            while let Some(reply) = req_rx.recv().await {
                served += 1;
                if reply.send(served).is_err() {
                    die("send answer");
                }
            }
            served
        });
        a.await.expect("ping");
        let served = b.await.expect("pong");
        let ns = t0.elapsed().as_nanos();
        LAST_CPU_NS.with(|c| c.set(cpu_ns() - c0));
        if served != n {
            die("pingpong did not finish");
        }
        ns
    });
    ns as f64 / n as f64
}

fn bench_pingpong_mpsc(n: u64) -> f64 {
    let rt = runtime();
    let ns = rt.block_on(async move {
        let (ab_tx, mut ab_rx) = mpsc::channel::<u64>(1);
        let (ba_tx, mut ba_rx) = mpsc::channel::<u64>(1);
        let t0 = WallInstant::now();
        let c0 = cpu_ns();
        let a = tokio::spawn(async move {
            let mut ball = 0u64;
            for _ in 0..n {
                if ab_tx.send(ball).await.is_err() {
                    die("send ball");
                }
                ball = ba_rx.recv().await.unwrap_or_else(|| die("recv ball"));
                ball += 1;
            }
            ball
        });
        let b = tokio::spawn(async move {
            while let Some(ball) = ab_rx.recv().await {
                if ba_tx.send(ball).await.is_err() {
                    die("echo ball");
                }
            }
        });
        let ball = a.await.expect("a");
        b.await.expect("b");
        let ns = t0.elapsed().as_nanos();
        LAST_CPU_NS.with(|c| c.set(cpu_ns() - c0));
        if ball != n {
            die("pingpong-mpsc did not finish");
        }
        ns
    });
    ns as f64 / n as f64
}

// ---- timers -------------------------------------------------------------------------------

/// splitmix64 seeded with 7 and Lemire's multiply-shift, as in bench/peers/peer_common.h.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
}

#[derive(Default)]
struct OrderCheck {
    last_key: u64,
    fired: u64,
    out_of_order: u64,
    inexact: u64,
}

thread_local! {
    static CHECK: RefCell<OrderCheck> = RefCell::new(OrderCheck::default());
}

fn ceil_ms(ns: u64) -> u64 {
    (ns + NS_PER_MS - 1) / NS_PER_MS
}

fn sabotage() -> bool {
    std::env::var("PEER_BENCH_SABOTAGE").map(|v| v == "1").unwrap_or(false)
}

fn bench_timers(n: u64) -> f64 {
    let rt = runtime();
    let done = done_signal();
    let sabotage = sabotage();
    CHECK.with(|c| *c.borrow_mut() = OrderCheck::default());
    let ns = rt.block_on(async move {
        let start = Instant::now();
        let arm = move |check_ns: u64, armed_ns: u64| {
            tokio::spawn(async move {
                tokio::time::sleep_until(start + Duration::from_nanos(armed_ns)).await;
                let key = ceil_ms(check_ns);
                let exact = Instant::now() == start + Duration::from_millis(key);
                let fired = CHECK.with(|c| {
                    let mut c = c.borrow_mut();
                    if c.fired > 0 && key < c.last_key {
                        c.out_of_order += 1;
                    }
                    if !exact {
                        c.inexact += 1;
                    }
                    c.last_key = key;
                    c.fired += 1;
                    c.fired
                });
                if fired == n {
                    done.notify_one();
                }
            });
        };
        let mut rng = Rng(7);
        let t0 = WallInstant::now();
        let c0 = cpu_ns();
        let mut i = 0;
        while i < n {
            let d0 = rng.below(NS_PER_S);
            if sabotage && i + 1 < n {
                let d1 = rng.below(NS_PER_S);
                arm(d0, d1);
                arm(d1, d0);
                i += 2;
            } else {
                arm(d0, d0);
                i += 1;
            }
        }
        done.notified().await;
        LAST_CPU_NS.with(|c| c.set(cpu_ns() - c0));
        t0.elapsed().as_nanos()
    });
    CHECK.with(|c| {
        let c = c.borrow();
        if c.fired != n || c.out_of_order != 0 || c.inexact != 0 {
            die(&format!(
                "timers fired {} of {}, {} out of order, {} not at their (rounded) deadline",
                c.fired, n, c.out_of_order, c.inexact
            ));
        }
    });
    drop(rt);
    ns as f64 / n as f64
}

// ---- driver -------------------------------------------------------------------------------

const WORKLOADS: [&str; 4] = ["spawn", "pingpong", "pingpong-mpsc", "timers"];

extern "C" {
    // glibc's; Rust's default global allocator is the system malloc.
    fn malloc_trim(pad: usize) -> i32;
}

/// Called after every run, outside the timed part: hands the heap the run freed back to the
/// OS, so each run starts from a trimmed heap whatever ran before it, as in the C peers (see
/// peer_settle in bench/peers/peer_common.h for why).
fn settle() {
    // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
    unsafe {
        malloc_trim(0);
    }
}

fn run_one(which: usize, n: u64) -> f64 {
    match which {
        0 => bench_spawn(n),
        1 => bench_pingpong(n),
        2 => bench_pingpong_mpsc(n),
        _ => bench_timers(n),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).map_or(1_000_000, |s| s.parse().unwrap_or(0));
    let only = args.get(2).map(|w| WORKLOADS.iter().position(|k| k == w));
    if n == 0 || only == Some(None) {
        eprintln!("usage: tokio-peer-bench [N [WORKLOAD]]\n  workloads: {}", WORKLOADS.join(" "));
        std::process::exit(2);
    }
    let want = |i: usize| only.is_none() || only == Some(Some(i));
    // BENCH_RUNS runs per figure (bench/peers/run.sh uses 1), as in the C peers.
    let runs = match std::env::var("BENCH_RUNS") {
        Err(_) => RUNS_DEFAULT,
        Ok(s) => match s.parse::<usize>() {
            Ok(r) if (1..=RUNS_MAX).contains(&r) => r,
            _ => {
                eprintln!("tokio peer bench: BENCH_RUNS={s}: expected 1..{RUNS_MAX}");
                std::process::exit(2);
            }
        },
    };
    let mut v = vec![vec![0f64; runs]; 4];
    let mut cpu = vec![vec![0f64; runs]; 4];
    // Runs are interleaved across workloads, as in sim-bench.
    for r in 0..runs {
        for i in 0..4 {
            if want(i) {
                v[i][r] = run_one(i, n);
                cpu[i][r] = LAST_CPU_NS.with(|c| c.get()) as f64 / n as f64;
                settle();
            }
        }
    }
    if want(0) {
        println!("spawn_complete_fifo {:.1} ns/task", median(&mut v[0]));
        println!("spawn_complete_fifo_cpu {:.1} ns-cpu/task", median(&mut cpu[0]));
    }
    if want(1) {
        println!("pingpong_oneshot_mpsc {:.1} ns/round-trip", median(&mut v[1]));
        println!("pingpong_oneshot_mpsc_cpu {:.1} ns-cpu/round-trip", median(&mut cpu[1]));
    }
    if want(2) {
        println!("pingpong_mpsc_pair {:.1} ns/round-trip", median(&mut v[2]));
        println!("pingpong_mpsc_pair_cpu {:.1} ns-cpu/round-trip", median(&mut cpu[2]));
    }
    if want(3) {
        println!("timer_fire_in_order {:.1} ns/timer", median(&mut v[3]));
        println!("timer_fire_in_order_cpu {:.1} ns-cpu/timer", median(&mut cpu[3]));
        println!("timer_out_of_order 0 firings");
    }
}
