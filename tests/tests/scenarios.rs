//! Runs every scenario file in `tests/scenarios/`, on SQLite and on PostgreSQL.

use std::path::PathBuf;

use distributary_tests::{pg, repo_root, run_file, run_file_on};

/// The scenario files, in name order.
fn scenario_files() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
    files
}

/// Runs each file with `run`, then fails naming every file that failed.
fn run_all(run: impl Fn(&PathBuf) -> Result<usize, String>) {
    let files = scenario_files();
    let mut failures = Vec::new();
    for file in &files {
        match run(file) {
            Ok(steps) => println!("ok   {} ({steps} steps)", file.display()),
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_scenario_passes() {
    run_all(|file| run_file(file));
}

/// The same files against PostgreSQL, each in a database of its own.
#[test]
fn every_scenario_passes_on_postgres() {
    if pg::Database::create("the scenario files").is_none() {
        return;
    }
    run_all(|file| {
        let db = pg::Database::create("the scenario files").ok_or("the server went away")?;
        run_file_on(file, &db.path())
    });
}
