//! Prints what `lnk` reports on a shortcut, or times it:
//! `cargo run --release -p stoq-plugin-lnk --example lnk_inspect -- FILE [ITERATIONS]`.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: lnk_inspect FILE [ITERATIONS]");
        std::process::exit(2);
    };
    let data = std::fs::read(path).expect("readable file");
    let iterations: u32 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
    if iterations == 0 {
        match stoq_plugin_lnk::inspect(&data) {
            Ok((results, errors)) => {
                println!("{results:#}");
                eprintln!("{} errors", errors.len());
            }
            Err(e) => eprintln!("error: {e}"),
        }
        return;
    }
    let start = Instant::now();
    for _ in 0..iterations {
        let _ = std::hint::black_box(stoq_plugin_lnk::inspect(std::hint::black_box(&data)));
    }
    let per = start.elapsed() / iterations;
    println!("{per:?} per call on {} bytes", data.len());
}
