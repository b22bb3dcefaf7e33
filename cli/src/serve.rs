//! `distributary serve` and `distributary token create`: the engine opened as `exec` opens it,
//! handed to the server crate (`distributary-server`), or asked for a token on the machine
//! itself.

use std::{
    io::{self, Write},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use distributary::{
    command::{Command, CreateToken},
    engine::{Engine, EngineOptions},
    flow::SYSTEM_ACTOR,
    Envelope,
};
use distributary_server::{GroupOptions, ServerOptions};

/// How `serve` groups commits: `None` turns group commit off.
pub struct Grouping {
    pub off: bool,
    pub commands_max: usize,
    pub wait_us: u64,
}

/// How big, how many and how often `serve` works.
pub struct Bounds {
    pub body_bytes_max: usize,
    pub connections_max: usize,
    /// 0 never pulls.
    pub pull_interval_seconds: u64,
}

/// Serves until SIGTERM or Ctrl-C (SIGHUP reloads the rules); prints `listening on ADDR` on
/// stdout once it listens.
pub fn serve(
    db: &Path,
    options: EngineOptions,
    listen: SocketAddr,
    grouping: Grouping,
    bounds: Bounds,
) -> miette::Result<ExitCode> {
    let engine = Engine::open(db, options)?;
    let group = (!grouping.off).then(|| GroupOptions {
        commands_max: grouping.commands_max.max(1),
        wait: Duration::from_micros(grouping.wait_us),
    });
    let options = ServerOptions {
        group,
        body_bytes_max: bounds.body_bytes_max,
        connections_max: bounds.connections_max,
        pull_interval: (bounds.pull_interval_seconds > 0)
            .then(|| Duration::from_secs(bounds.pull_interval_seconds)),
        store_path: store_file(db),
    };
    distributary_server::serve(engine, listen, options, |addr| {
        let mut stdout = io::stdout().lock();
        let _ = writeln!(stdout, "listening on {addr}").and_then(|()| stdout.flush());
    })
    .map_err(|e| miette::miette!("cannot serve on {listen}: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Where the store is, when `--db` names a lasting one (a file or a `postgres://` URL, not
/// `:memory:`): the console's candidate pack check and backtest open it read only by it.
fn store_file(db: &Path) -> Option<PathBuf> {
    (db.as_os_str() != ":memory:").then(|| db.to_path_buf())
}

/// Makes a token as `system` (the machine's operator is the setup actor, as with `exec`) and
/// prints it alone on one line of stdout: the only time it is shown.
pub fn create_token(
    db: &Path,
    options: EngineOptions,
    account: String,
    user: Option<String>,
    label: String,
) -> miette::Result<ExitCode> {
    let engine = Engine::open(db, options)?;
    let envelope = Envelope {
        id: serde_json::Value::Null,
        actor: SYSTEM_ACTOR.to_owned(),
        user: None,
        at: None,
        key: None,
        command: Command::CreateToken(CreateToken {
            account,
            user,
            label,
        }),
        fingerprint: None,
    };
    let made = engine
        .execute(&envelope)
        .map_err(|e| miette::miette!("{} ({})", e.message(), e.code().as_str()))?;
    let token = made
        .get("token")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| miette::miette!("the engine answered no token: {made}"))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_or_a_database_is_a_store_path() {
        assert_eq!(
            store_file(Path::new("shop.db")),
            Some(PathBuf::from("shop.db"))
        );
        assert_eq!(store_file(Path::new(":memory:")), None);
        assert_eq!(
            store_file(Path::new("postgres://db.example/shop")),
            Some(PathBuf::from("postgres://db.example/shop"))
        );
    }
}
