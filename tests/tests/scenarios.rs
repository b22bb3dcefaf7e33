//! Runs every scenario file in `tests/scenarios/`.

use distributary_tests::{repo_root, run_file};

#[test]
fn every_scenario_passes() {
    let dir = repo_root().join("tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        match run_file(file) {
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
