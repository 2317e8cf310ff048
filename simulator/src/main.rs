//! `emnify-sim`: runs the emnify API simulator until Ctrl-C (or SIGTERM).
//!
//! After binding it prints exactly one line to stdout,
//! `emnify-sim listening on http://127.0.0.1:PORT`, which tests wait for.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Parser;
use emnify_sim::{Seed, SimConfig};

/// A loopback simulator of the emnify REST API (for tests and the demo mode).
#[derive(Debug, Parser)]
#[command(name = "emnify-sim", version)]
struct Args {
    /// Port to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on; only loopback addresses are accepted.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Seed file (JSON, see simulator/README.md); default: the built-in demo seed.
    #[arg(long, value_name = "FILE")]
    seed: Option<PathBuf>,
    /// Serve the test-only /_sim/... admin routes (clock, stats, faults).
    #[arg(long)]
    admin: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.bind.is_loopback() {
        bail!(
            "refusing to bind {}: emnify-sim only listens on loopback addresses",
            args.bind
        );
    }
    let seed = match &args.seed {
        Some(path) => {
            Seed::from_file(path).with_context(|| format!("loading seed {}", path.display()))?
        }
        None => Seed::demo(),
    };
    let config = SimConfig::new()
        .with_bind(args.bind)
        .with_port(args.port)
        .with_seed(seed)
        .with_admin(args.admin);
    let sim = emnify_sim::serve(config)
        .await
        .context("starting the simulator")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "emnify-sim listening on {}", sim.url())?;
        out.flush()?;
    }
    wait_for_stop_signal().await?;
    sim.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}
