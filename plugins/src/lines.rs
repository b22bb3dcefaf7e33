//! Summing an order's items into canonical lines, one per store SKU in first-seen order:
//! [`UnitLines`] for marketplaces that answer with a row per unit (Lazada, TikTok Shop), the unit
//! price the mean of the rows' prices; [`merge_line`] for those whose items carry a quantity
//! (Shopee, Temu), the line keeping the first item's price.

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::adapter::AdapterError;
use crate::canonical::OrderLine;
use crate::payload::Node;

/// The lines of one order while its rows are read.
#[derive(Debug, Default)]
pub struct UnitLines {
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

impl UnitLines {
    /// Adds one unit of `store_sku` at `price` (`None` when the row carries no price); an error
    /// (more than `u32::MAX` units of one SKU, or a price total past [`Decimal::MAX`]) names
    /// `row`.
    pub fn add_unit(
        &mut self,
        store_sku: &str,
        price: Option<Decimal>,
        row: &Node<'_>,
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
            return Err(row.fail("internal error: line index out of range"));
        };
        line.qty = line
            .qty
            .checked_add(1)
            .ok_or_else(|| row.fail("too many units of one SKU"))?;
        match price {
            Some(price) => {
                line.total = line
                    .total
                    .checked_add(price)
                    .ok_or_else(|| row.fail("price total overflows"))?;
                line.scale = line.scale.max(price.scale());
            }
            None => line.all_priced = false,
        }
        Ok(())
    }

    /// The canonical lines. A line whose rows all carry a price gets their mean, rounded half
    /// away from zero to the finest scale among them (equal prices come back unchanged); a line
    /// with an unpriced row gets an empty unit price.
    pub fn finish(self) -> Vec<OrderLine> {
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

/// Adds `line` to `lines`: its quantity summed into the line of the same store SKU (which keeps
/// its own unit price), or appended as a new line. A summed quantity past `u32::MAX` is an error
/// about `qty`, the node the added quantity was read from.
pub fn merge_line(
    lines: &mut Vec<OrderLine>,
    line: OrderLine,
    qty: &Node<'_>,
) -> Result<(), AdapterError> {
    match lines
        .iter_mut()
        .find(|known| known.store_sku == line.store_sku)
    {
        Some(known) => {
            known.qty = known
                .qty
                .checked_add(line.qty)
                .ok_or_else(|| qty.error("a total quantity below 4294967296"))?;
        }
        None => lines.push(line),
    }
    Ok(())
}

/// `total / qty` rounded half away from zero to `scale` places; `None` for no units.
fn mean(total: Decimal, qty: u32, scale: u32) -> Option<Decimal> {
    let mut mean = total
        .checked_div(Decimal::from(qty))?
        .round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    mean.rescale(scale);
    Some(mean)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::payload::Source;

    fn price(text: &str) -> Option<Decimal> {
        Some(text.parse().unwrap())
    }

    fn line(store_sku: &str, qty: u32, unit_price: &str) -> OrderLine {
        OrderLine {
            store_sku: store_sku.to_owned(),
            qty,
            unit_price: unit_price.to_owned(),
        }
    }

    #[test]
    fn units_sum_per_sku_in_first_seen_order_at_their_mean_price() {
        let value = json!({});
        let row = Source::ANSWER.root(&value);
        let mut lines = UnitLines::default();
        for (sku, unit_price) in [
            ("B", price("10.00")),
            ("A", price("1")),
            ("B", price("10.01")),
            ("C", price("5.5")),
            ("A", price("2.00")),
            ("C", None),
            ("B", price("10.00")),
        ] {
            lines.add_unit(sku, unit_price, &row).unwrap();
        }
        // B: 30.01 / 3 = 10.00333 -> 10.00; A: 3.00 / 2 = 1.5 -> 1.50 at the finer scale; C has
        // an unpriced unit.
        assert_eq!(
            lines.finish(),
            vec![
                line("B", 3, "10.00"),
                line("A", 2, "1.50"),
                line("C", 2, "")
            ]
        );
    }

    #[test]
    fn the_mean_rounds_half_away_from_zero_and_keeps_equal_prices() {
        let value = json!({});
        let row = Source::ANSWER.root(&value);
        let mut lines = UnitLines::default();
        for unit_price in ["0.01", "0.02"] {
            lines.add_unit("HALF", price(unit_price), &row).unwrap();
        }
        for _ in 0..3 {
            lines.add_unit("SAME", price("19.90"), &row).unwrap();
        }
        assert_eq!(
            lines.finish(),
            vec![line("HALF", 2, "0.02"), line("SAME", 3, "19.90")]
        );
        assert_eq!(UnitLines::default().finish(), Vec::new());
    }

    #[test]
    fn merged_lines_sum_quantities_per_sku_and_keep_the_first_price() {
        let value = json!({"qty": 4_294_967_295_u64});
        let qty = Source::named("test answer")
            .root(&value)
            .require("qty")
            .unwrap();
        let mut lines = Vec::new();
        for (sku, count, unit_price) in [("A", 2, "1.5"), ("B", 1, ""), ("A", 3, "9")] {
            merge_line(&mut lines, line(sku, count, unit_price), &qty).unwrap();
        }
        assert_eq!(lines, vec![line("A", 5, "1.5"), line("B", 1, "")]);
        let err = merge_line(&mut lines, line("B", u32::MAX, ""), &qty).unwrap_err();
        assert_eq!(
            err.message,
            "test answer: $.qty: expected a total quantity below 4294967296, found the number \
             4294967295"
        );
        assert_eq!(lines[1], line("B", 1, ""));
    }

    #[test]
    fn an_overflowing_price_total_names_the_row() {
        let value = json!({"data": [{}, {}]});
        let root = Source::named("test answer").root(&value);
        let rows = root.require("data").unwrap().items().unwrap();
        let mut lines = UnitLines::default();
        lines.add_unit("X", Some(Decimal::MAX), &rows[0]).unwrap();
        let err = lines
            .add_unit("X", Some(Decimal::MAX), &rows[1])
            .unwrap_err();
        assert_eq!(err.message, "test answer: $.data[1]: price total overflows");
    }
}
