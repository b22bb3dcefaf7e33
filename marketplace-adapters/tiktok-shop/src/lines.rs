//! Summing one-unit rows into canonical lines: one line per store SKU, in first-seen order, its
//! unit price the mean of the rows' prices.

use std::collections::HashMap;

use distributary_plugin::{AdapterError, OrderLine};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::json::bad;

/// The lines of one order while its rows are read.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    index: HashMap<String, usize>,
    lines: Vec<Line>,
}

#[derive(Debug)]
struct Line {
    store_sku: String,
    qty: u32,
    total: Decimal,
    scale: u32,
    all_priced: bool,
}

impl Lines {
    /// Adds one unit of `store_sku` at `price` (`None` when the row carries no price); `path`
    /// names the row in errors.
    pub(crate) fn add_unit(
        &mut self,
        store_sku: &str,
        price: Option<Decimal>,
        path: &str,
    ) -> Result<(), AdapterError> {
        let position = match self.index.get(store_sku) {
            Some(position) => *position,
            None => {
                self.index.insert(store_sku.to_owned(), self.lines.len());
                self.lines.push(Line {
                    store_sku: store_sku.to_owned(),
                    qty: 0,
                    total: Decimal::ZERO,
                    scale: 0,
                    all_priced: true,
                });
                self.lines.len() - 1
            }
        };
        let Some(line) = self.lines.get_mut(position) else {
            return Err(bad(path, "internal error: line index out of range"));
        };
        line.qty = line
            .qty
            .checked_add(1)
            .ok_or_else(|| bad(path, "too many units of one SKU"))?;
        match price {
            Some(price) => {
                line.total = line
                    .total
                    .checked_add(price)
                    .ok_or_else(|| bad(path, "price total overflows"))?;
                line.scale = line.scale.max(price.scale());
            }
            None => line.all_priced = false,
        }
        Ok(())
    }

    /// The canonical lines. A line whose rows all carry a price gets their mean, rounded half
    /// away from zero to the finest scale among them (equal prices come back unchanged); a line
    /// with an unpriced row gets an empty unit price.
    pub(crate) fn finish(self) -> Vec<OrderLine> {
        self.lines
            .into_iter()
            .map(|line| {
                let unit_price = if line.all_priced {
                    mean(line.total, line.qty, line.scale)
                        .map(|price| price.to_string())
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                OrderLine {
                    store_sku: line.store_sku,
                    qty: line.qty,
                    unit_price,
                }
            })
            .collect()
    }
}

fn mean(total: Decimal, qty: u32, scale: u32) -> Option<Decimal> {
    let mut mean = total
        .checked_div(Decimal::from(qty))?
        .round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    mean.rescale(scale);
    Some(mean)
}
