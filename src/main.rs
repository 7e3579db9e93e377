//! The `portier` command: run the proxy, check a configuration, or run the
//! embedded demo. Exit codes: 0 success, 1 invalid configuration, 2 startup
//! failure (a listener could not be bound...), 3 io_uring unavailable.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use portier::config::{self, Config};
use portier::runtime::{signals, Server};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "portier",
    version,
    about = "HTTP/1.1 reverse proxy on io_uring for the DMZ"
)]
struct Cli {
    /// Configuration file (TOML). Without it, the embedded demo runs.
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy (the default).
    Run,
    /// Validate the configuration and exit 0 (valid) or 1 (with the error).
    Check {
        /// The file to check (same as --config).
        file: Option<PathBuf>,
        /// Also refuse expired certificates (otherwise a warning).
        #[arg(long)]
        strict: bool,
    },
    /// Run the embedded demo configuration, ignoring --config.
    Demo,
}

fn load(path: Option<&PathBuf>) -> Result<Config, config::ConfigError> {
    match path {
        Some(p) => config::load_file(p),
        None => config::demo(),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTIER_LOG")
        // rustls warns about client-controlled details (an IP address as
        // SNI): one line per connection would let clients flood the log.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rustls=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let path = match &cli.command {
        Some(Command::Demo) => None,
        Some(Command::Check { file: Some(f), .. }) => Some(f.clone()),
        _ => cli.config.clone(),
    };
    let config = match load(path.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portier: invalid configuration: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(Command::Check { strict, .. }) = cli.command {
        return match portier::tls::acceptor::check_certificates(&config, strict) {
            Ok(warnings) => {
                for w in warnings {
                    eprintln!("portier: warning: {w}");
                }
                println!("{}: configuration ok", config.origin);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("portier: invalid configuration: {e}");
                ExitCode::from(1)
            }
        };
    }
    init_logging();
    run(config)
}

fn run(config: Config) -> ExitCode {
    let config = Arc::new(config);
    let mut stop = match signals::StopSignals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("portier: cannot install signal handlers: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(config.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("portier: cannot start: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    println!(
        "portier {} running {} ({} worker{})",
        env!("CARGO_PKG_VERSION"),
        config.origin,
        server.workers(),
        if server.workers() == 1 { "" } else { "s" }
    );
    for addr in server.listen_addrs() {
        println!("  listening on http://{addr}/");
    }
    if let Some(echo) = server.echo_addr() {
        println!("  built-in echo origin on http://{echo}/ (shows each request as a backend receives it)");
        if let Some(addr) = server.listen_addrs().first() {
            println!("try:\n  curl -i http://{addr}/hello?name=world");
        }
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let sig = stop.wait();
    tracing::info!(
        "{sig}: stopping; in-flight requests have up to {:?}",
        config.runtime.shutdown_timeout
    );
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    server.shutdown();
    tracing::info!("stopped");
    ExitCode::SUCCESS
}
