//! Synthesizes the 100-resource benchmark stack N times (default 50): a fixed workload for
//! instruction-count profiling (`valgrind --tool=callgrind`), which is repeatable on a busy
//! machine where wall-clock benchmarks are not.
#![allow(missing_docs)]

fn main() -> std::process::ExitCode {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let mut bytes = 0;
    for _ in 0..n {
        match integration_tests::wide_stack(100).synth() {
            Ok(s) => bytes += s.body.len(),
            Err(e) => {
                eprintln!("{e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    println!("{n} syntheses, {bytes} bytes");
    std::process::ExitCode::SUCCESS
}
