//! `cargo xtask`: the project's automation.
//!
//! - `build-plugins [--release]`: builds the `stoq` binary and every bundled plugin in one cargo
//!   invocation and lays out `target/<profile>/plugins/` next to the binary, so
//!   `target/<profile>/stoq scan FILE -s hash` works with no flags. Test plugins go to
//!   `target/<profile>/test-plugins/`, out of the user-facing folder.
//! - `test [--no-lint]`: formatting and clippy checks, then builds everything once (plugins,
//!   test plugins, the ABI fixtures, the third-party example against the workspace and against
//!   the packaged ABI crate) and runs the whole test suite against those builds, then the doc
//!   tests and `cargo doc` with warnings denied.
//! - `bench [NAME]`: release builds, then the benchmarks, or the one in `tests/benches/NAME.rs`
//!   (results are printed as ratios).
//! - `samples`: regenerates the bundled sample (`samples/invoice-4471.eml`) from the writers in
//!   `tests/src/sample.rs`; a test fails while the committed file differs from what they build.
//! - `freeze-abi`: when a `stoq-plugin-abi` version is released, keeps its packaged crate in
//!   `tests/fixtures/abi-<version>/` (once; a released version never changes), for the
//!   compatibility gate: a plugin built against it must load and run in every later host.

mod build;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    match args.first().map(String::as_str) {
        Some("build-plugins") => {
            let built = build::build_workspace(flag("--release"))?;
            println!("stoq: {}", built.stoq.display());
            println!("plugins: {}", built.plugin_dir.display());
            Ok(())
        }
        Some("test") => build::test(!flag("--no-lint"), &args[1..]),
        Some("bench") => build::bench(args.get(1).map(String::as_str)),
        Some("freeze-abi") => build::freeze_abi(),
        Some("samples") => build::samples(),
        _ => bail!(
            "usage: cargo xtask <build-plugins [--release] | test [--no-lint] [-- TEST-ARGS] | bench [NAME] | samples | freeze-abi>"
        ),
    }
}
