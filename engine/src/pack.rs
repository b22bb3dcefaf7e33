//! The rule pack: the workflow, script and rule-test files a rule set is built from, read from a
//! directory or taken from the default pack embedded in the library.

use std::{
    fmt, fs, io,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

/// The three kinds of file a rule pack holds, each in its own folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    /// `workflows/*.yaml`: state machines.
    Workflow,
    /// `scripts/*.rhai`: Rhai rules.
    Script,
    /// `tests/*.yaml`: rule test cases.
    Test,
}

impl FileKind {
    const ALL: [FileKind; 3] = [FileKind::Workflow, FileKind::Script, FileKind::Test];

    fn folder(self) -> &'static str {
        match self {
            FileKind::Workflow => "workflows",
            FileKind::Script => "scripts",
            FileKind::Test => "tests",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            FileKind::Workflow | FileKind::Test => "yaml",
            FileKind::Script => "rhai",
        }
    }
}

/// One file of a rule pack: its path as shown to a user, its stem (the workflow, script or test
/// file name) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// What kind of file this is.
    pub kind: FileKind,
    /// The path shown in diagnostics, e.g. `rules/scripts/fees.rhai`.
    pub path: String,
    /// The file name without folder and extension, e.g. `fees`.
    pub stem: String,
    /// The file's text.
    pub text: String,
}

/// A rule pack: every source file, in a stable order (kind, then name).
#[derive(Debug, Clone)]
pub struct RulePack {
    origin: String,
    /// The directory the pack was read from, read again by a reload.
    dir: Option<PathBuf>,
    files: Vec<SourceFile>,
}

/// The default pack, embedded at build time so the binary works anywhere.
const EMBEDDED: &[(FileKind, &str, &str)] = &[
    (
        FileKind::Workflow,
        "partnership",
        include_str!("../../rules/workflows/partnership.yaml"),
    ),
    (
        FileKind::Workflow,
        "distribution_product",
        include_str!("../../rules/workflows/distribution_product.yaml"),
    ),
    (
        FileKind::Workflow,
        "distribution_order",
        include_str!("../../rules/workflows/distribution_order.yaml"),
    ),
    (
        FileKind::Script,
        "push_checks",
        include_str!("../../rules/scripts/push_checks.rhai"),
    ),
    (
        FileKind::Script,
        "fees",
        include_str!("../../rules/scripts/fees.rhai"),
    ),
    (
        FileKind::Script,
        "allocate_warehouse",
        include_str!("../../rules/scripts/allocate_warehouse.rhai"),
    ),
    (
        FileKind::Test,
        "push_checks",
        include_str!("../../rules/tests/push_checks.yaml"),
    ),
    (
        FileKind::Test,
        "fees",
        include_str!("../../rules/tests/fees.yaml"),
    ),
    (
        FileKind::Test,
        "allocate_warehouse",
        include_str!("../../rules/tests/allocate_warehouse.yaml"),
    ),
];

/// The text of one file of the embedded default pack, by kind and stem; `None` when the default
/// pack has no such file. The rule set compares a script against it to run it natively.
pub(crate) fn embedded_text(kind: FileKind, stem: &str) -> Option<&'static str> {
    EMBEDDED
        .iter()
        .find(|&&(k, s, _)| k == kind && s == stem)
        .map(|&(_, _, text)| text)
}

impl RulePack {
    /// Reads `workflows/*.yaml`, `scripts/*.rhai` and `tests/*.yaml` under `dir`. A missing folder
    /// is an empty one; an unreadable file is an error.
    pub fn from_dir(dir: &Path) -> io::Result<RulePack> {
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("rule directory {} does not exist", dir.display()),
            ));
        }
        let mut files = Vec::new();
        for kind in FileKind::ALL {
            let folder = dir.join(kind.folder());
            if !folder.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&folder)? {
                let path = entry?.path();
                if path.extension().and_then(|e| e.to_str()) != Some(kind.extension()) {
                    continue;
                }
                let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                files.push(SourceFile {
                    kind,
                    path: path.display().to_string(),
                    stem: stem.to_owned(),
                    text: fs::read_to_string(&path)?,
                });
            }
        }
        let mut pack = RulePack::new(dir.display().to_string(), files);
        pack.dir = Some(dir.to_path_buf());
        Ok(pack)
    }

    /// The pack as its source holds it now: its directory read again, the default pack, or
    /// (a pack built in memory) the same files.
    pub fn reread(&self) -> io::Result<RulePack> {
        match &self.dir {
            Some(dir) => RulePack::from_dir(dir),
            None => Ok(self.clone()),
        }
    }

    /// The directory the pack was read from, if it was.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The default rule pack as it was when the library was built.
    pub fn embedded() -> RulePack {
        let files = EMBEDDED
            .iter()
            .map(|&(kind, stem, text)| SourceFile {
                kind,
                path: format!(
                    "<default pack>/{}/{stem}.{}",
                    kind.folder(),
                    kind.extension()
                ),
                stem: stem.to_owned(),
                text: text.to_owned(),
            })
            .collect();
        RulePack::new("<default pack>".to_owned(), files)
    }

    /// A pack made of the given files (tests and embedding hosts build packs in memory).
    pub fn new(origin: String, mut files: Vec<SourceFile>) -> RulePack {
        files.sort_by(|a, b| (a.kind, &a.stem).cmp(&(b.kind, &b.stem)));
        RulePack {
            origin,
            dir: None,
            files,
        }
    }

    /// Where the pack came from: a directory, or `<default pack>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The files of one kind, in name order.
    pub fn files(&self, kind: FileKind) -> impl Iterator<Item = &SourceFile> {
        self.files.iter().filter(move |f| f.kind == kind)
    }

    /// Every file, in the pack's order.
    pub fn files_all(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }

    /// The rule set's version: a hash of every file's kind, name and text, stored with every
    /// transition so an audit row says which rules decided it.
    pub fn version(&self) -> String {
        let mut hasher = Sha256::new();
        for file in &self.files {
            hasher.update(file.kind.folder().as_bytes());
            hasher.update([0]);
            hasher.update(file.stem.as_bytes());
            hasher.update([0]);
            hasher.update((file.text.len() as u64).to_le_bytes());
            hasher.update(file.text.as_bytes());
        }
        hex::encode(&hasher.finalize()[..8])
    }
}

impl fmt::Display for RulePack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} files)", self.origin, self.files.len())
    }
}
