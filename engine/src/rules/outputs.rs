//! Turning what a script returned into typed results, refusing anything of the wrong shape.

use rhai::{Dynamic, Map};
use rust_decimal::Decimal;

use super::{Failure, Fees, RuleError, WarehouseCandidate};

/// An array of `#{code, message}` maps (or `Failure` values).
pub(crate) fn failures(script: &str, result: Dynamic) -> Result<Vec<Failure>, RuleError> {
    let type_name = result.type_name();
    let Some(items) = result.try_cast::<rhai::Array>() else {
        return Err(RuleError::new(
            script,
            format!("expected an array of failures `#{{code, message}}`, got {type_name}"),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| failure(script, index, item))
        .collect()
}

fn failure(script: &str, index: usize, item: Dynamic) -> Result<Failure, RuleError> {
    let wrong = |what: String| {
        RuleError::new(
            script,
            format!("failure #{}: {what}", index.saturating_add(1)),
        )
    };
    if item.is::<Failure>() {
        return item
            .try_cast::<Failure>()
            .ok_or_else(|| wrong("unreadable Failure".to_owned()));
    }
    let type_name = item.type_name();
    let Some(mut map) = item.try_cast::<Map>() else {
        return Err(wrong(format!(
            "expected `#{{code, message}}`, got {type_name}"
        )));
    };
    let code = take_string(&mut map, "code").map_err(&wrong)?;
    let message = take_string(&mut map, "message").map_err(&wrong)?;
    if let Some(extra) = map.keys().next() {
        return Err(wrong(format!(
            "unknown key `{extra}` (a failure has `code` and `message`)"
        )));
    }
    if code.is_empty() {
        return Err(wrong("`code` is empty".to_owned()));
    }
    Ok(Failure { code, message })
}

fn take_string(map: &mut Map, key: &str) -> Result<String, String> {
    let value = map.remove(key).ok_or_else(|| format!("no `{key}`"))?;
    let type_name = value.type_name();
    value
        .into_immutable_string()
        .map(|s| s.to_string())
        .map_err(|_| format!("`{key}` must be a string, got {type_name}"))
}

/// A `#{goods, handling, shipping}` map of non-negative decimals whose total fits a Decimal.
pub(crate) fn fees(script: &str, result: Dynamic) -> Result<Fees, RuleError> {
    let type_name = result.type_name();
    let Some(mut map) = result.try_cast::<Map>() else {
        return Err(RuleError::new(
            script,
            format!("expected `#{{goods, handling, shipping}}`, got {type_name}"),
        ));
    };
    let mut part = |key: &str| -> Result<Decimal, RuleError> {
        let value = map
            .remove(key)
            .ok_or_else(|| RuleError::new(script, format!("the result has no `{key}`")))?;
        let type_name = value.type_name();
        let amount = value.as_decimal().map_err(|_| {
            RuleError::new(
                script,
                format!("`{key}` must be a decimal, got {type_name} (use to_decimal or a decimal input)"),
            )
        })?;
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(RuleError::new(
                script,
                format!("`{key}` is negative: {amount}"),
            ));
        }
        Ok(amount)
    };
    let fees = Fees {
        goods: part("goods")?,
        handling: part("handling")?,
        shipping: part("shipping")?,
    };
    if let Some(extra) = map.keys().next() {
        return Err(RuleError::new(
            script,
            format!("unknown key `{extra}` (fees have `goods`, `handling` and `shipping`)"),
        ));
    }
    if fees.total().is_none() {
        return Err(RuleError::new(script, "the fees' total overflows"));
    }
    Ok(fees)
}

/// The id of one of the candidates.
pub(crate) fn warehouse(
    script: &str,
    result: Dynamic,
    candidates: &[WarehouseCandidate],
) -> Result<String, RuleError> {
    let type_name = result.type_name();
    let id = result.into_immutable_string().map_err(|_| {
        RuleError::new(
            script,
            format!("expected a warehouse id (a string), got {type_name}"),
        )
    })?;
    if !candidates.iter().any(|c| c.warehouse == id.as_str()) {
        return Err(RuleError::new(
            script,
            format!("`{id}` is not one of the candidate warehouses"),
        ));
    }
    Ok(id.to_string())
}
