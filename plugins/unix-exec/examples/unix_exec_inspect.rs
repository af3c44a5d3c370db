//! Prints what `elfinfo` or `machoinfo` reports on a file, or times it:
//! `cargo run --release -p stoq-plugin-unix-exec --example unix_exec_inspect -- elf FILE [ITERATIONS]`.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: unix_exec_inspect elf|macho FILE [ITERATIONS]");
        std::process::exit(2);
    };
    let data = std::fs::read(path).expect("readable file");
    let run = |data: &[u8]| match kind.as_str() {
        "elf" => stoq_plugin_unix_exec::elf::inspect(data).map(|(r, e)| (r, e.len())),
        _ => stoq_plugin_unix_exec::macho::inspect(data).map(|(r, _, e)| (r, e.len())),
    };
    let iterations: u32 = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(0);
    if iterations == 0 {
        match run(&data) {
            Ok((results, errors)) => {
                println!("{results:#}");
                eprintln!("{errors} errors");
            }
            Err(e) => eprintln!("error: {e}"),
        }
        return;
    }
    let start = Instant::now();
    for _ in 0..iterations {
        let _ = std::hint::black_box(run(std::hint::black_box(&data)));
    }
    let per = start.elapsed() / iterations;
    println!(
        "{per:?} per call, {:.0} MB/s on {} bytes",
        data.len() as f64 / per.as_secs_f64() / 1e6,
        data.len()
    );
}
