//! "Did you mean": the help a diagnostic gives for a wrong name, the closest known name or the
//! list of known names.

use std::collections::BTreeMap;

/// How alike (Jaro-Winkler, 0 to 1) a known name must be to a wrong one to be suggested.
const SUGGESTION_SIMILARITY_MIN: f64 = 0.8;
/// How many known names a help text lists when none is close to the wrong one.
const KNOWN_NAMES_SHOWN_MAX: usize = 16;

/// "did you mean `x`?" when a known name is close to `wrong`, else the list of known names.
pub(crate) fn suggest<'k>(
    wrong: &str,
    known: impl IntoIterator<Item = &'k str>,
    what: &str,
) -> Option<String> {
    let known: BTreeMap<&str, f64> = known
        .into_iter()
        .map(|k| (k, strsim::jaro_winkler(wrong, k)))
        .collect();
    let best = known
        .iter()
        .filter(|(_, &score)| score >= SUGGESTION_SIMILARITY_MIN)
        .max_by(|a, b| a.1.total_cmp(b.1));
    if let Some((name, _)) = best {
        return Some(format!("did you mean `{name}`?"));
    }
    if known.is_empty() {
        return None;
    }
    let mut list: Vec<&str> = known.keys().copied().take(KNOWN_NAMES_SHOWN_MAX).collect();
    if known.len() > KNOWN_NAMES_SHOWN_MAX {
        list.push("...");
    }
    Some(format!("known {what}: {}", list.join(", ")))
}
