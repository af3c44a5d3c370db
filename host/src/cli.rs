//! The command line, with stoQ's flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit status:
  0  the scan ran; errors of plugins (failures, panics, timeouts, missing plugins, limits)
     are in the response
  1  scanning a directory: some files could not be read (each is named on stderr); the
     others were scanned. stoq run: a provider failed (named on stderr); the others ran.
     stoq submit: some files were not submitted, or --wait saw dead letters or timed out
  2  usage, configuration or input error (nothing was scanned)

Plugin directories are searched in this order, and the first plugin found under a name wins:
  1. --plugin-dir DIR (repeatable)
  2. $STOQ_PLUGIN_DIR (a path list, like $PATH)
  3. plugin_dirs in the [core] section of --config-file
  4. the `plugins` folder next to the stoq executable

Examples:
  stoq scan sample.exe -s hash
  stoq scan samples/ -a hash --format ndjson --jobs 4
  stoq scan sample.eml -a hash --plugin-opts hash:sha512=true
  cat sample | stoq scan - -a hash --format ndjson
  stoq run -P filedir --plugin-opts filedir:source_dir=DIR -a hash -C stdout
  stoq run -P redis -C redis -a hash --plugin-opts redis:url=redis://queue:6379
  stoq submit mail/ --to redis://queue:6379 --wait
  stoq list";

/// stoq: scan payloads with plugins (a Rust re-creation of stoQ).
#[derive(Debug, Parser)]
#[command(name = "stoq", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan one file (or stdin) and print the response.
    Scan(Box<ScanArgs>),
    /// Run as a service: scan what providers feed until they are done or a signal arrives.
    Run(Box<RunArgs>),
    /// Put files on a Redis work stream for `stoq run -P redis` hosts, and print their task ids.
    Submit(SubmitArgs),
    /// List every plugin found, and every file that failed to load.
    List(ListArgs),
    /// Open one plugin library and exit (used by stoq itself to vet new library files).
    #[command(hide = true)]
    ProbePlugin {
        /// The library file.
        path: PathBuf,
    },
    /// Serve one plugin library to stoq over the socket on stdin (isolation = "process").
    #[command(hide = true)]
    PluginHost {
        /// The library file.
        path: PathBuf,
    },
}

/// Where plugins and configuration come from.
#[derive(Debug, Args)]
pub struct PluginSource {
    /// A directory of plugin libraries (repeatable; searched first).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,

    /// The global config file (TOML): a [core] section and one [NAME] section of options per plugin.
    #[arg(long, value_name = "FILE", env = "STOQ_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// A plugin option, NAME:KEY=VALUE (repeatable; wins over every config file).
    #[arg(long = "plugin-opts", value_name = "NAME:KEY=VALUE", num_args = 1..)]
    pub plugin_opts: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// stoQ's indented JSON.
    Json,
    /// One compact JSON response per line.
    Ndjson,
    /// The payload tree for people: type, size, name, extracting worker, headline findings
    /// and errors of each payload (in colour on a terminal).
    Tree,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The file to scan, or a directory (every file below it, one response each); `-` or
    /// nothing reads stdin.
    #[arg(value_name = "FILE|DIR")]
    pub input: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,

    #[command(flatten)]
    pub scan: ScanSettings,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Provider plugins that feed payloads or tasks (at least one).
    #[arg(short = 'P', long = "providers", value_name = "PROVIDER", num_args = 1.., value_delimiter = ',')]
    pub providers: Vec<String>,

    /// Source archivers: fetch the payloads that provider tasks name.
    #[arg(short = 'S', long = "source-archivers", value_name = "ARCHIVER", num_args = 1.., value_delimiter = ',')]
    pub source_archivers: Vec<String>,

    /// Items taken from providers at once; a full host blocks its providers [default: 128].
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<usize>,

    /// Seconds to finish the items in flight after SIGINT/SIGTERM; the rest are handed back
    /// to their providers [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub grace_period: Option<f64>,

    #[command(flatten)]
    pub scan: ScanSettings,
}

/// What every request runs and its limits (`stoq scan` and `stoq run`).
#[derive(Debug, Args)]
pub struct ScanSettings {
    /// Workers for the root payload only.
    #[arg(short = 's', long = "start-dispatch", value_name = "WORKER", num_args = 1.., value_delimiter = ',')]
    pub start_dispatch: Vec<String>,

    /// Workers for every payload, extracted ones included.
    #[arg(short = 'a', long = "always-dispatch", value_name = "WORKER", num_args = 1.., value_delimiter = ',')]
    pub always_dispatch: Vec<String>,

    /// Dispatcher plugins that pick workers for each payload.
    #[arg(short = 'R', long = "dispatchers", value_name = "DISPATCHER", num_args = 1.., value_delimiter = ',')]
    pub dispatchers: Vec<String>,

    /// Destination archivers: save every payload with should_archive once scanning is done.
    #[arg(short = 'A', long = "dest-archivers", value_name = "ARCHIVER", num_args = 1.., value_delimiter = ',')]
    pub dest_archivers: Vec<String>,

    /// Decorators: add a summary over the whole response.
    #[arg(short = 'D', long = "decorators", value_name = "DECORATOR", num_args = 1.., value_delimiter = ',')]
    pub decorators: Vec<String>,

    /// Connectors: where the response goes (then it is not printed).
    #[arg(short = 'C', long = "connectors", value_name = "CONNECTOR", num_args = 1.., value_delimiter = ',')]
    pub connectors: Vec<String>,

    /// A payload this many extractions below the root is listed but not scanned [default: 10].
    #[arg(long, value_name = "N")]
    pub max_recursion: Option<u32>,

    /// Worker threads [default: one per core].
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Seconds one request may take; then it ends with what finished and an error.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// Seconds one plugin call may take, unless the plugin's `timeout` option says otherwise
    /// [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub worker_timeout: Option<f64>,

    /// Largest payload scanned or kept, in bytes (suffixes K, M, G) [default: 4G].
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_payload_size: Option<u64>,

    /// Most extracted payloads per request [default: 100000].
    #[arg(long, value_name = "N")]
    pub max_extracted_payloads: Option<usize>,

    /// Most extracted bytes per request (suffixes K, M, G) [default: 8G].
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_extracted_bytes: Option<u64>,

    /// Byte-identical output for identical input: ids from content and lineage, sorted
    /// lists, no clock (`time` is null).
    #[arg(long)]
    pub deterministic: bool,

    /// The request's source (request_meta.source).
    #[arg(long, value_name = "SOURCE")]
    pub request_source: Option<String>,

    /// Extra request metadata, KEY=VALUE (repeatable; `true`/`false` become booleans).
    #[arg(long, value_name = "KEY=VALUE", num_args = 1..)]
    pub request_extra: Vec<String>,

    #[command(flatten)]
    pub plugins: PluginSource,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Files or directories (every file below them) to submit.
    #[arg(value_name = "FILE|DIR", required = true)]
    pub inputs: Vec<PathBuf>,

    /// The Redis server: redis://HOST:PORT[/DB] or redis+unix:///PATH.
    #[arg(long, value_name = "URL", env = "STOQ_REDIS_URL")]
    pub to: String,

    /// Key prefix of the queue (the redis plugin's `prefix` option).
    #[arg(long, value_name = "PREFIX", default_value = "stoq")]
    pub prefix: String,

    /// Payloads larger than this go by reference to --blob-dir, not inline (suffixes K, M, G).
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "1M")]
    pub inline_max: u64,

    /// The shared folder every host reads large payloads from (the redis plugin's `blob_dir`).
    #[arg(long, value_name = "DIR")]
    pub blob_dir: Option<PathBuf>,

    /// Largest file submitted (suffixes K, M, G).
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "4G")]
    pub max_size: u64,

    /// Wait for every task's response and print each as one JSON line as it arrives (task
    /// ids then go to stderr).
    #[arg(long)]
    pub wait: bool,

    /// Seconds --wait waits at most [default: for ever].
    #[arg(long, value_name = "SECONDS")]
    pub wait_timeout: Option<f64>,

    /// The requests' source (request_meta.source).
    #[arg(long, value_name = "SOURCE")]
    pub request_source: Option<String>,

    /// Extra request metadata, KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE", num_args = 1..)]
    pub request_extra: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub plugins: PluginSource,
}

/// Parses a byte count with an optional K/M/G/T suffix (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("unknown size suffix `{c}` (use K, M, G or T)")),
            };
            (&text[..i], shift)
        }
        _ => (text, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a byte count"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(super::parse_size("512"), Ok(512));
        assert_eq!(super::parse_size("64K"), Ok(64 << 10));
        assert_eq!(super::parse_size("3g"), Ok(3 << 30));
        assert!(super::parse_size("1Q").is_err());
        assert!(super::parse_size("x").is_err());
        assert!(super::parse_size("99999999999T").is_err());
    }
}
