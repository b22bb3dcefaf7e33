//! The orders a transaction knows, so that its later reads of them need no statement.

use std::collections::HashMap;

use super::Tx;
use crate::model::{Order, OrderLine};

/// The orders a transaction knows, with their lines, by (distributor, name): its later reads of
/// them are answered from here. An order it wrote, as it wrote it: the order is the
/// transaction's until it ends (on SQLite it is the only writer, on PostgreSQL its `UPDATE`
/// holds the row's lock and its `INSERT` is seen by no one else). An order read ahead
/// (`Tx::read_orders_ahead`), as read then, or known absent (`None`): as good as a read when
/// the command asks, since a command reads its order without a lock on PostgreSQL anyway and
/// writes it only if it is still as read (`Tx::update_order`), or inserts it only if no
/// one did (the key). A rollback to a savepoint forgets them all.
pub(super) type KnownOrders = HashMap<(String, String), Option<(Order, Vec<OrderLine>)>>;

/// The most orders [`KnownOrders`] keeps; past it, it starts again empty.
const KNOWN_ORDERS_MAX: usize = 10_000;

impl Tx<'_> {
    /// Keeps what the transaction knows of an order: it, with its lines, or `None` for none.
    pub(super) fn remember(
        &self,
        distributor: &str,
        order: &str,
        found: Option<(Order, Vec<OrderLine>)>,
    ) {
        let mut known = self.known_orders.borrow_mut();
        if known.len() >= KNOWN_ORDERS_MAX {
            known.clear();
        }
        known.insert((distributor.to_owned(), order.to_owned()), found);
    }

    /// Keeps `o` and its lines as this transaction wrote them.
    pub(super) fn remember_order(&self, o: &Order, lines: &[OrderLine]) {
        self.remember(&o.distributor, &o.order, Some((o.clone(), lines.to_vec())));
    }

    /// What the transaction knows of an order: `None` when it must read it, `Some(None)` when
    /// it knows there is none.
    pub(super) fn known_order<T>(
        &self,
        distributor: &str,
        order: &str,
        answer: impl FnOnce(&Order, &[OrderLine]) -> T,
    ) -> Option<Option<T>> {
        let known = self.known_orders.borrow();
        if known.is_empty() {
            return None;
        }
        known
            .get(&(distributor.to_owned(), order.to_owned()))
            .map(|found| found.as_ref().map(|(o, lines)| answer(o, lines)))
    }
}
