//! `reload_rules` and `rules_version`.

use super::answers::{RulesReloaded, RulesVersion};
use crate::{command::NoArgs, engine::Prepared, error::Error, flow::Ctx};

/// `reload_rules {}` (system): installs the pack the engine read and compiled before the store
/// was locked (`Engine::prepare`), after checking the live store against it; the engine swaps it
/// in once this command commits. A pack that does not compile, breaks the contract or strands
/// live entities is `rules_invalid` and changes nothing.
pub(crate) fn reload_rules(
    ctx: &Ctx<'_, '_>,
    _args: &NoArgs,
    prepared: Option<&Prepared>,
) -> Result<RulesReloaded, Error> {
    let (compiled, installed) = prepared
        .and_then(Prepared::reload)
        .ok_or_else(|| Error::internal("`reload_rules` ran without its compiled pack"))?;
    let next = compiled.clone()?;
    let (migrated, _) = super::install(ctx.tx, &next, Some(ctx.workflows), &ctx.now())?;
    *installed.borrow_mut() = Some(next.clone());
    Ok(RulesReloaded {
        version: next.version().to_owned(),
        previous: ctx.rules.version().to_owned(),
        migrated,
    })
}

/// `rules_version {}`: the pack in force, and when the store installed it.
pub fn rules_version(ctx: &Ctx<'_, '_>, _args: &NoArgs) -> Result<RulesVersion, Error> {
    let version = ctx.rules.version().to_owned();
    let loaded_at = ctx.tx.rules_loaded_at(&version)?;
    Ok(RulesVersion { version, loaded_at })
}
