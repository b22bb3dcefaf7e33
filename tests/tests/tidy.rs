//! The architecture's invariants, executable: each rule reads the source tree and names every
//! place that breaks it (rust-analyzer's habit). The unit tests below show each rule failing.
//!
//! - SQL only in the engine's `store/` (the bench's raw-SQLite ceiling and the tests' table dumps
//!   are hosts of SQLite, not of the engine, and may speak it);
//! - no marketplace named in `engine/src`;
//! - every library crate denies `unwrap`, `expect` and `panic!` outside its tests;
//! - every Rust module starts with its `//!` line;
//! - no comment points at a file that is not in the repository.

use std::path::{Path, PathBuf};

use distributary_tests::repo_root;

/// The marketplaces no engine source may name: adapters own them.
const MARKETPLACES: &[&str] = &["shopee", "lazada", "tiktok", "temu"];
/// What starts an SQL statement in a string literal.
const SQL_STARTS: &[&str] = &[
    "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "PRAGMA ", "WITH ", "BEGIN", "DROP ",
    "ALTER ", "REPLACE ",
];
/// The lints a library crate denies outside its tests.
const DENIED: &[&str] = &[
    "clippy::unwrap_used",
    "clippy::expect_used",
    "clippy::panic",
];
/// Folders never read: build output, VCS data, fuzzing corpora.
const SKIPPED_DIRS: &[&str] = &["target", ".git", "corpus", "artifacts"];
/// File kinds whose comments are read for paths.
const COMMENTED: &[&str] = &["rs", "toml", "yaml", "rhai", "sh"];
/// File kinds a comment may point at.
const POINTED: &[&str] = &["md", "rs", "yaml", "toml", "rhai", "json", "sh"];

/// Every file under `dir` whose extension is one of `kinds`, sorted.
fn files(dir: &Path, kinds: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_str()) {
                found.extend(files(&path, kinds));
            }
        } else if path
            .extension()
            .is_some_and(|e| kinds.contains(&e.to_string_lossy().as_ref()))
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn shown(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The text of each comment of a file (starting with `prefix`), with its line number.
fn comments<'t>(text: &'t str, prefix: &'t str) -> impl Iterator<Item = (usize, &'t str)> {
    text.lines().enumerate().filter_map(move |(n, line)| {
        let at = line.find(prefix)?;
        // `://` is a URL, and a prefix inside a string literal no comment.
        let in_string = line[..at].matches('"').count() % 2 == 1;
        let url = prefix == "//" && line[..at].ends_with(':');
        (!in_string && !url).then(|| (n + 1, &line[at + prefix.len()..]))
    })
}

/// SQL in string literals of a Rust file.
fn sql_outside_store(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let quoted = line.split('"').skip(1).step_by(2);
        for literal in quoted {
            if SQL_STARTS.iter().any(|s| literal.starts_with(s)) {
                problems.push(format!("{path}:{}: SQL outside store/: {literal:?}", n + 1));
            }
        }
    }
    problems
}

fn marketplace_named(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        for name in MARKETPLACES.iter().filter(|m| lower.contains(*m)) {
            problems.push(format!("{path}:{}: names the marketplace `{name}`", n + 1));
        }
    }
    problems
}

fn lints_not_denied(path: &str, lib_rs: &str) -> Vec<String> {
    DENIED
        .iter()
        .filter(|lint| !lib_rs.contains(*lint))
        .map(|lint| format!("{path}: the crate does not deny `{lint}`"))
        .collect()
}

fn module_doc_missing(path: &str, text: &str) -> Vec<String> {
    match text.lines().next() {
        Some(first) if first.starts_with("//!") => Vec::new(),
        _ => vec![format!(
            "{path}: the module does not start with its `//!` line"
        )],
    }
}

/// Paths named in comments that resolve nowhere: not from the repository root, the file's own
/// folder, its crate; a bare file name not anywhere in the repository.
fn dangling_paths(path: &Path, text: &str, exists: &dyn Fn(&Path, &str) -> bool) -> Vec<String> {
    let prefix = match path.extension().and_then(|e| e.to_str()) {
        Some("rs" | "rhai") => "//",
        _ => "#",
    };
    let mut problems = Vec::new();
    for (n, comment) in comments(text, prefix) {
        let words = comment.split(|c: char| !(c.is_alphanumeric() || "_./-".contains(c)));
        for word in words {
            let word = word.trim_end_matches('.');
            let pointed = Path::new(word)
                .extension()
                .is_some_and(|e| POINTED.contains(&e.to_string_lossy().as_ref()));
            if pointed && !word.starts_with(['.', '/']) && !exists(path, word) {
                problems.push(format!(
                    "{}:{n}: the comment points at `{word}`, which is not in the repository",
                    shown(path)
                ));
            }
        }
    }
    problems
}

/// Whether `word`, named in a comment of `from`, is a file of the repository.
fn in_repository(from: &Path, word: &str, all: &[PathBuf]) -> bool {
    let root = repo_root();
    let mut bases = vec![root.to_path_buf()];
    bases.extend(
        from.ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(root))
            .map(Path::to_path_buf),
    );
    if bases.iter().any(|base| base.join(word).exists()) {
        return true;
    }
    !word.contains('/') && all.iter().any(|f| f.file_name().is_some_and(|n| n == word))
}

fn library_crates() -> Vec<PathBuf> {
    let root = repo_root();
    let mut libs = vec![
        root.join("engine/src/lib.rs"),
        root.join("plugins/src/lib.rs"),
        root.join("server/src/lib.rs"),
    ];
    libs.extend(
        files(&root.join("marketplace-adapters"), &["rs"])
            .into_iter()
            .filter(|p| p.ends_with("src/lib.rs")),
    );
    libs
}

#[test]
fn the_tree_keeps_the_architecture_invariants() {
    let root = repo_root();
    let mut problems = Vec::new();
    let engine_src = root.join("engine/src");
    for path in files(&engine_src, &["rs"]) {
        let text = read(&path);
        if !path.starts_with(engine_src.join("store")) {
            problems.extend(sql_outside_store(&shown(&path), &text));
        }
        problems.extend(marketplace_named(&shown(&path), &text));
    }
    for lib in library_crates() {
        problems.extend(lints_not_denied(&shown(&lib), &read(&lib)));
    }
    for dir in [
        "engine/src",
        "plugins/src",
        "cli/src",
        "server",
        "marketplace-adapters",
        "tests",
    ] {
        for path in files(&root.join(dir), &["rs"]) {
            problems.extend(module_doc_missing(&shown(&path), &read(&path)));
        }
    }
    let all = files(
        root,
        &POINTED.iter().chain(COMMENTED).copied().collect::<Vec<_>>(),
    );
    let exists = |from: &Path, word: &str| in_repository(from, word, &all);
    for path in files(root, COMMENTED) {
        problems.extend(dangling_paths(&path, &read(&path), &exists));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn sql_in_a_string_is_found() {
    let text = "let n = tx.query(\"SELECT count(*) FROM orders\", [])?;\n// SELECT in a comment\n";
    assert_eq!(sql_outside_store("a.rs", text).len(), 1);
}

#[test]
fn a_marketplace_name_is_found() {
    assert_eq!(
        marketplace_named("a.rs", "// as Lazada signs it\nlet x = 1;\n").len(),
        1
    );
    assert!(marketplace_named("a.rs", "let market = adapter.name();\n").is_empty());
}

#[test]
fn a_crate_that_allows_unwrap_is_found() {
    let lib = "//! A crate.\n#![deny(clippy::expect_used, clippy::panic)]\n";
    assert_eq!(
        lints_not_denied("lib.rs", lib),
        ["lib.rs: the crate does not deny `clippy::unwrap_used`"]
    );
}

#[test]
fn a_module_without_its_doc_line_is_found() {
    assert_eq!(module_doc_missing("a.rs", "use std::fs;\n").len(), 1);
    assert!(module_doc_missing("a.rs", "//! What it does.\n").is_empty());
}

#[test]
fn a_comment_pointing_outside_the_repository_is_found() {
    let from = repo_root().join("engine/src/lib.rs");
    let all = vec![repo_root().join("engine/src/lib.rs")];
    let exists = |from: &Path, word: &str| in_repository(from, word, &all);
    let text =
        "// See ELSEWHERE.md 7 and ARCHITECTURE.md, https://example.com/x.md\nlet s = \"a.md\";\n";
    assert_eq!(
        dangling_paths(&from, text, &exists),
        ["engine/src/lib.rs:1: the comment points at `ELSEWHERE.md`, which is not in the repository"]
    );
}
