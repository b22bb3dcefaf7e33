//! The schema, as a list of migrations applied in order; `PRAGMA user_version` records how many
//! have run. A migration is never edited once released: a change is a new migration.

/// Every migration, oldest first. The store's schema version is the number applied.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11];

/// V9's audit owner, added and filled the same way in both dialects (a literal, so that
/// PostgreSQL's V9 can `concat!` its re-keying after it).
macro_rules! v9_audit_account {
    () => {
        "
ALTER TABLE audit ADD COLUMN account TEXT NOT NULL DEFAULT '';
WITH RECURSIVE chain (seq, owner) AS (
    SELECT audit_head, distributor FROM orders WHERE audit_head IS NOT NULL
    UNION ALL
    SELECT a.prev, c.owner FROM audit a JOIN chain c ON a.seq = c.seq WHERE a.prev IS NOT NULL)
UPDATE audit SET account = chain.owner FROM chain
WHERE audit.seq = chain.seq AND audit.entity_kind = 'distribution_order';
UPDATE audit SET account = p.supplier FROM partnerships p
WHERE audit.account = '' AND audit.entity_kind = 'partnership' AND p.partnership = audit.entity_id;
UPDATE audit SET account = c.distributor FROM claims c
WHERE audit.account = '' AND audit.entity_kind = 'distribution_product' AND c.claim = audit.entity_id;
UPDATE audit SET account = actor WHERE account = '';
"
    };
}

mod postgres;
pub use postgres::{
    POSTGRES_BASELINE, POSTGRES_BASELINE_VERSION, POSTGRES_MEMO_VERSION, POSTGRES_MIGRATIONS,
};

const V1: &str = r#"
CREATE TABLE accounts (
    account     TEXT PRIMARY KEY,
    plan        TEXT NOT NULL,
    inventory   INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    account     TEXT NOT NULL REFERENCES accounts(account),
    user        TEXT NOT NULL,
    permissions TEXT NOT NULL,
    PRIMARY KEY (account, user)
) STRICT;

CREATE TABLE rates (
    owner       TEXT NOT NULL,
    from_cur    TEXT NOT NULL,
    to_cur      TEXT NOT NULL,
    rate        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (owner, from_cur, to_cur)
) STRICT;

CREATE TABLE warehouses (
    account     TEXT NOT NULL REFERENCES accounts(account),
    warehouse   TEXT NOT NULL,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    PRIMARY KEY (account, warehouse)
) STRICT;

CREATE TABLE invitations (
    token       TEXT PRIMARY KEY,
    supplier    TEXT NOT NULL REFERENCES accounts(account),
    warehouses  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE partnerships (
    partnership TEXT PRIMARY KEY,
    supplier    TEXT NOT NULL REFERENCES accounts(account),
    distributor TEXT NOT NULL REFERENCES accounts(account),
    state       TEXT NOT NULL,
    token       TEXT NOT NULL REFERENCES invitations(token),
    reason      TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX partnerships_by_pair ON partnerships (supplier, distributor, created_at);
CREATE INDEX partnerships_by_distributor ON partnerships (distributor);

CREATE TABLE assigned_warehouses (
    supplier    TEXT NOT NULL,
    distributor TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    PRIMARY KEY (supplier, distributor, warehouse),
    FOREIGN KEY (supplier, warehouse) REFERENCES warehouses(account, warehouse)
) STRICT;

CREATE TABLE supplier_warehouses (
    distributor TEXT NOT NULL REFERENCES accounts(account),
    supplier    TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (distributor, supplier, warehouse),
    FOREIGN KEY (supplier, warehouse) REFERENCES warehouses(account, warehouse)
) STRICT;

CREATE TABLE supplier_notes (
    distributor TEXT NOT NULL REFERENCES accounts(account),
    supplier    TEXT NOT NULL REFERENCES accounts(account),
    note        TEXT NOT NULL,
    PRIMARY KEY (distributor, supplier)
) STRICT;

CREATE TABLE ledger_accounts (
    supplier       TEXT NOT NULL REFERENCES accounts(account),
    distributor    TEXT NOT NULL REFERENCES accounts(account),
    currency       TEXT NOT NULL,
    balance        TEXT NOT NULL,
    credit_enabled INTEGER NOT NULL DEFAULT 0,
    credit_limit   TEXT NOT NULL DEFAULT '0',
    PRIMARY KEY (supplier, distributor)
) STRICT;

CREATE TABLE transactions (
    seq           INTEGER PRIMARY KEY,
    txn_id        TEXT NOT NULL UNIQUE,
    supplier      TEXT NOT NULL,
    distributor   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    order_name    TEXT,
    amount        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    balance_after TEXT NOT NULL,
    note          TEXT,
    at            TEXT NOT NULL,
    FOREIGN KEY (supplier, distributor) REFERENCES ledger_accounts(supplier, distributor)
) STRICT;
CREATE INDEX transactions_by_pair ON transactions (supplier, distributor, seq);

CREATE TABLE subscriptions (
    account     TEXT PRIMARY KEY REFERENCES accounts(account),
    web         INTEGER NOT NULL,
    app         INTEGER NOT NULL
) STRICT;

CREATE TABLE notifications (
    seq         INTEGER PRIMARY KEY,
    account     TEXT NOT NULL REFERENCES accounts(account),
    kind        TEXT NOT NULL,
    channels    TEXT NOT NULL,
    data        TEXT NOT NULL,
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX notifications_by_account ON notifications (account, seq);

CREATE TABLE audit (
    seq           INTEGER PRIMARY KEY,
    entity_kind   TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    from_state    TEXT,
    to_state      TEXT NOT NULL,
    event         TEXT NOT NULL,
    actor         TEXT NOT NULL,
    user          TEXT,
    rules_version TEXT NOT NULL,
    guards        TEXT NOT NULL,
    at            TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_entity ON audit (entity_kind, entity_id, seq);

CREATE TABLE idempotency (
    account     TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    answer      TEXT NOT NULL,
    PRIMARY KEY (account, key)
) STRICT;
CREATE TABLE products (
    supplier    TEXT NOT NULL REFERENCES accounts(account),
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    price       TEXT NOT NULL,
    combination INTEGER NOT NULL,
    visible_all INTEGER NOT NULL,
    enabled     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (supplier, sku)
) STRICT;

CREATE TABLE product_visibility (
    supplier    TEXT NOT NULL,
    sku         TEXT NOT NULL,
    distributor TEXT NOT NULL,
    PRIMARY KEY (supplier, sku, distributor),
    FOREIGN KEY (supplier, sku) REFERENCES products(supplier, sku)
) STRICT;

CREATE TABLE price_history (
    seq         INTEGER PRIMARY KEY,
    supplier    TEXT NOT NULL,
    sku         TEXT NOT NULL,
    price       TEXT NOT NULL,
    at          TEXT NOT NULL,
    FOREIGN KEY (supplier, sku) REFERENCES products(supplier, sku)
) STRICT;
CREATE INDEX price_history_by_sku ON price_history (supplier, sku, seq);

CREATE TABLE local_skus (
    account     TEXT NOT NULL REFERENCES accounts(account),
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (account, sku)
) STRICT;

CREATE TABLE claims (
    claim         TEXT PRIMARY KEY,
    distributor   TEXT NOT NULL REFERENCES accounts(account),
    supplier      TEXT NOT NULL,
    sku           TEXT NOT NULL,
    local_sku     TEXT NOT NULL,
    state         TEXT NOT NULL,
    cost          TEXT,
    cost_currency TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    FOREIGN KEY (supplier, sku) REFERENCES products(supplier, sku),
    FOREIGN KEY (distributor, local_sku) REFERENCES local_skus(account, sku)
) STRICT;
CREATE INDEX claims_by_distributor ON claims (distributor, state);
CREATE INDEX claims_by_product ON claims (supplier, sku, state);
CREATE INDEX claims_by_local_sku ON claims (distributor, local_sku);

CREATE TABLE store_skus (
    account     TEXT NOT NULL REFERENCES accounts(account),
    marketplace TEXT NOT NULL,
    shop        TEXT NOT NULL,
    store_sku   TEXT NOT NULL,
    local_sku   TEXT NOT NULL,
    listing     TEXT NOT NULL,
    PRIMARY KEY (account, marketplace, shop, store_sku),
    FOREIGN KEY (account, local_sku) REFERENCES local_skus(account, sku)
) STRICT;
CREATE INDEX store_skus_by_local ON store_skus (account, local_sku);

CREATE TABLE stock (
    account     TEXT NOT NULL,
    supplier    TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    sku         TEXT NOT NULL,
    available   INTEGER NOT NULL CHECK (available >= 0),
    locked      INTEGER NOT NULL CHECK (locked >= 0),
    PRIMARY KEY (account, supplier, warehouse, sku)
) STRICT, WITHOUT ROWID;
CREATE INDEX stock_by_cell ON stock (supplier, warehouse, sku);

CREATE TABLE movements (
    seq         INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    supplier    TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    sku         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    before      INTEGER NOT NULL,
    after       INTEGER NOT NULL,
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX movements_by_sku ON movements (account, sku, seq);
CREATE TABLE supplier_fees (
    supplier    TEXT PRIMARY KEY REFERENCES accounts(account),
    handling    TEXT NOT NULL,
    shipping    TEXT NOT NULL
) STRICT;

CREATE TABLE print_settings (
    account     TEXT PRIMARY KEY REFERENCES accounts(account),
    documents   TEXT NOT NULL
) STRICT;

CREATE TABLE orders (
    distributor        TEXT NOT NULL REFERENCES accounts(account),
    order_name         TEXT NOT NULL,
    marketplace        TEXT NOT NULL,
    shop               TEXT NOT NULL,
    order_sn           TEXT NOT NULL,
    parent             TEXT,
    state              TEXT NOT NULL,
    marketplace_status TEXT NOT NULL,
    cancel_flagged     INTEGER NOT NULL DEFAULT 0,
    currency           TEXT NOT NULL,
    address            TEXT NOT NULL,
    supplier           TEXT,
    warehouse          TEXT,
    shipping           TEXT NOT NULL DEFAULT 'platform',
    tracking_no        TEXT,
    charges            TEXT,
    charged            INTEGER NOT NULL DEFAULT 0,
    stock_locked       INTEGER NOT NULL DEFAULT 0,
    refunded_after_sale TEXT NOT NULL DEFAULT '0',
    documents          TEXT,
    withdrawn_from     TEXT,
    failure            TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (distributor, order_name)
) STRICT;
CREATE INDEX orders_by_state ON orders (distributor, state);
CREATE INDEX orders_by_supplier ON orders (supplier, order_name);

CREATE TABLE order_lines (
    distributor TEXT NOT NULL,
    order_name  TEXT NOT NULL,
    line        INTEGER NOT NULL,
    store_sku   TEXT NOT NULL,
    qty         INTEGER NOT NULL CHECK (qty > 0),
    unit_price  TEXT NOT NULL,
    local_sku   TEXT,
    supplier    TEXT,
    sku         TEXT,
    price       TEXT,
    PRIMARY KEY (distributor, order_name, line),
    FOREIGN KEY (distributor, order_name) REFERENCES orders(distributor, order_name)
) STRICT;

CREATE TABLE deliveries (
    seq         INTEGER PRIMARY KEY,
    distributor TEXT NOT NULL,
    order_name  TEXT NOT NULL,
    supplier    TEXT NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    FOREIGN KEY (distributor, order_name) REFERENCES orders(distributor, order_name)
) STRICT;
CREATE INDEX deliveries_pending ON deliveries (done, seq);
CREATE TABLE shops (
    account     TEXT NOT NULL REFERENCES accounts(account),
    marketplace TEXT NOT NULL,
    shop        TEXT NOT NULL,
    base_url    TEXT NOT NULL,
    credentials TEXT NOT NULL,
    synced_to   TEXT,
    PRIMARY KEY (account, marketplace, shop)
) STRICT;

CREATE TABLE listing_stock (
    account     TEXT NOT NULL,
    marketplace TEXT NOT NULL,
    shop        TEXT NOT NULL,
    store_sku   TEXT NOT NULL,
    sent        INTEGER NOT NULL CHECK (sent >= 0),
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (account, marketplace, shop, store_sku),
    FOREIGN KEY (account, marketplace, shop) REFERENCES shops(account, marketplace, shop)
) STRICT;
"#;

/// A covering index for stock pushes: the mirror join reads the distributor from the index
/// instead of fetching every claim row.
const V2: &str = "DROP INDEX claims_by_product;
CREATE INDEX claims_by_product ON claims (supplier, sku, state, distributor);";

/// The order path's tables, rebuilt so that a command touches fewer rows and B-trees (the
/// mega-sale, BENCHMARKS.md):
/// - an order's lines move into its row (`orders.lines`, a JSON array of one array per line, in
///   the order `[line, store_sku, qty, unit_price, local_sku, supplier, sku, price]`): they are
///   only ever read and written with their order, so reading, packing or pushing an order is
///   one row, not one plus one per line;
/// - `orders` is clustered by its primary key (`WITHOUT ROWID`): a lookup or an update by order
///   is one B-tree descent instead of two, an insert one B-tree fewer;
/// - the supplier's index of orders holds only the orders delivered to a supplier (the only ones
///   its queries read), so packing and pushing never touch it;
/// - the audit index leads with the entity's id, not its kind: the kind is the same for every
///   order, so each comparison in a descent settled nothing until the second column;
/// - the delivery queue's index holds only pending deliveries, so finishing one deletes an entry
///   instead of moving it;
/// - `transactions.txn_id` loses its UNIQUE index: it is `T` and the row's `seq` (the primary key),
///   written by the ledger alone, so it is unique by construction.
///
/// Runs with foreign keys off (SQLite's documented way to rebuild a table, see `Store::migrate`),
/// which checks every foreign key before it commits.
const V3: &str = "
CREATE TABLE orders_v3 (
    distributor        TEXT NOT NULL REFERENCES accounts(account),
    order_name         TEXT NOT NULL,
    marketplace        TEXT NOT NULL,
    shop               TEXT NOT NULL,
    order_sn           TEXT NOT NULL,
    parent             TEXT,
    state              TEXT NOT NULL,
    marketplace_status TEXT NOT NULL,
    cancel_flagged     INTEGER NOT NULL DEFAULT 0,
    currency           TEXT NOT NULL,
    address            TEXT NOT NULL,
    supplier           TEXT,
    warehouse          TEXT,
    shipping           TEXT NOT NULL DEFAULT 'platform',
    tracking_no        TEXT,
    charges            TEXT,
    charged            INTEGER NOT NULL DEFAULT 0,
    stock_locked       INTEGER NOT NULL DEFAULT 0,
    refunded_after_sale TEXT NOT NULL DEFAULT '0',
    documents          TEXT,
    withdrawn_from     TEXT,
    failure            TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    lines              TEXT NOT NULL,
    PRIMARY KEY (distributor, order_name)
) STRICT, WITHOUT ROWID;
INSERT INTO orders_v3 (distributor, order_name, marketplace, shop, order_sn, parent, state,
    marketplace_status, cancel_flagged, currency, address, supplier, warehouse, shipping,
    tracking_no, charges, charged, stock_locked, refunded_after_sale, documents, withdrawn_from,
    failure, created_at, updated_at, lines)
SELECT distributor, order_name, marketplace, shop, order_sn, parent, state,
    marketplace_status, cancel_flagged, currency, address, supplier, warehouse, shipping,
    tracking_no, charges, charged, stock_locked, refunded_after_sale, documents, withdrawn_from,
    failure, created_at, updated_at,
    (SELECT json_group_array(json_array(l.line, l.store_sku, l.qty, l.unit_price, l.local_sku,
        l.supplier, l.sku, l.price) ORDER BY l.line)
     FROM order_lines l WHERE l.distributor = o.distributor AND l.order_name = o.order_name)
FROM orders o;
DROP TABLE orders;
ALTER TABLE orders_v3 RENAME TO orders;
CREATE INDEX orders_by_state ON orders (distributor, state);
CREATE INDEX orders_by_supplier ON orders (supplier, order_name) WHERE documents IS NOT NULL;

DROP TABLE order_lines;

DROP INDEX audit_by_entity;
CREATE INDEX audit_by_entity ON audit (entity_id, entity_kind, seq);

DROP INDEX deliveries_pending;
CREATE INDEX deliveries_pending ON deliveries (seq) WHERE done = 0;

CREATE TABLE transactions_v3 (
    seq           INTEGER PRIMARY KEY,
    txn_id        TEXT NOT NULL,
    supplier      TEXT NOT NULL,
    distributor   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    order_name    TEXT,
    amount        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    balance_after TEXT NOT NULL,
    note          TEXT,
    at            TEXT NOT NULL,
    FOREIGN KEY (supplier, distributor) REFERENCES ledger_accounts(supplier, distributor)
) STRICT;
INSERT INTO transactions_v3 (seq, txn_id, supplier, distributor, kind, order_name, amount,
    currency, balance_after, note, at)
SELECT seq, txn_id, supplier, distributor, kind, order_name, amount, currency, balance_after,
    note, at FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_v3 RENAME TO transactions;
CREATE INDEX transactions_by_pair ON transactions (supplier, distributor, seq);
";

/// Histories that grow with every order are chains instead of index entries (the mega-sale,
/// BENCHMARKS.md). An index by entity spreads a batch's rows over as many leaves as it has
/// entities, and a commit writes each leaf it touched: these two indexes were the largest share
/// of the pages a commit wrote.
/// - An order's audit rows: each names the order's previous one (`audit.prev`) and the order
///   names its newest (`orders.audit_head`); the order row is written by every transition
///   anyway. This also keeps two distributors' orders of the same name apart, which the index by
///   name alone could not. Other entities' rows keep the index (now partial) and no `prev`. The
///   existing rows are chained by name, as the index found them.
/// - A stock cell's movements: each names the cell's previous one (`movements.prev`) and the
///   cell its newest (`stock.last_movement`), written by the same statement that changes the
///   cell.
///
/// And the delivery queue holds only what is queued: a delivery leaves it when it is done (the
/// order's audit row records it), so the queue needs no index, and a push delivered in its own
/// transaction (`Engine::deliver_within`) leaves nothing behind.
const V4: &str = "
ALTER TABLE audit ADD COLUMN prev INTEGER;
UPDATE audit SET prev = chained.prev
FROM (SELECT seq, lag(seq) OVER (PARTITION BY entity_id ORDER BY seq) AS prev FROM audit
      WHERE entity_kind = 'distribution_order') AS chained
WHERE audit.seq = chained.seq;
ALTER TABLE orders ADD COLUMN audit_head INTEGER;
UPDATE orders SET audit_head = (SELECT max(seq) FROM audit
    WHERE entity_id = orders.order_name AND entity_kind = 'distribution_order');
DROP INDEX audit_by_entity;
CREATE INDEX audit_by_entity ON audit (entity_id, entity_kind, seq)
    WHERE entity_kind <> 'distribution_order';

ALTER TABLE movements ADD COLUMN prev INTEGER;
UPDATE movements SET prev = chained.prev
FROM (SELECT seq, lag(seq) OVER (PARTITION BY account, supplier, warehouse, sku ORDER BY seq)
      AS prev FROM movements) AS chained
WHERE movements.seq = chained.seq;
ALTER TABLE stock ADD COLUMN last_movement INTEGER;
UPDATE stock SET last_movement = (SELECT max(seq) FROM movements m
    WHERE m.account = stock.account AND m.sku = stock.sku AND m.supplier = stock.supplier
    AND m.warehouse = stock.warehouse);
DROP INDEX movements_by_sku;

DELETE FROM deliveries WHERE done = 1;
DROP INDEX deliveries_pending;
ALTER TABLE deliveries DROP COLUMN done;
";

/// Why the engine fired a transition, when it says: an order's `stock_released` names what
/// auto-clear released (docs/protocol.md#stock-and-orders).
const V5: &str = "
ALTER TABLE audit ADD COLUMN reason TEXT;
";

/// The rule lifecycle: every pack version the store was run with, its files kept by the version
/// hash, so a recorded decision can be traced to the rules that made it; each install, with the
/// version it replaced; and, with a transition a rule decided, what the rules read
/// (`audit.inputs`), so a candidate pack can be replayed on it.
const V6: &str = "
CREATE TABLE rule_packs (
    version   TEXT PRIMARY KEY,
    origin    TEXT NOT NULL,
    files     TEXT NOT NULL,
    stored_at TEXT NOT NULL
) STRICT;
CREATE TABLE rule_loads (
    seq      INTEGER PRIMARY KEY,
    version  TEXT NOT NULL REFERENCES rule_packs(version),
    previous TEXT,
    at       TEXT NOT NULL
) STRICT;
ALTER TABLE audit ADD COLUMN inputs TEXT;
";

/// API tokens of the HTTP server (`create_token`): the secret is kept only as its SHA-256, so a
/// copy of the store lets no one act. `account` is `system` for a system token (no foreign key:
/// `system` is no account). A revoked token keeps its row, for the record.
const V7: &str = "
CREATE TABLE tokens (
    token_id     TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    user         TEXT,
    label        TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;
CREATE INDEX tokens_by_account ON tokens (account) WHERE revoked_at IS NULL;
";

/// Marketplace pushes: the callback URL a shop registered with its marketplace (`connect_shop`'s
/// `push_url`, which some marketplaces sign), and every verified notice, written before the push is
/// answered. A notice is one row per `(account, marketplace, shop, notice_key)`, so a repeat
/// stores nothing; `processed_at` is set once its orders were synced, and the periodic pull
/// retries the others (`attempts`, `last_error`).
const V8: &str = "
ALTER TABLE shops ADD COLUMN push_url TEXT;
CREATE TABLE push_notices (
    seq          INTEGER PRIMARY KEY,
    account      TEXT NOT NULL,
    marketplace  TEXT NOT NULL,
    shop         TEXT NOT NULL,
    notice_key   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    order_ids    TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    processed_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    UNIQUE (account, marketplace, shop, notice_key),
    FOREIGN KEY (account, marketplace, shop) REFERENCES shops(account, marketplace, shop)
) STRICT;
CREATE INDEX push_notices_unprocessed ON push_notices (seq) WHERE processed_at IS NULL;
";

/// Every table carries the account it belongs to (docs/scale-out.md): the audit log, the one
/// table without one, gains `account`, the owner of the entity a row records (an order's or a
/// claim's distributor, a partnership's supplier), so that a cluster keeps an entity's history
/// on the shard of the entity. The existing rows get theirs from their entity: an order's by
/// walking its chain from `orders.audit_head`, a partnership's and a claim's by id; a row whose
/// entity is gone keeps its actor.
///
/// SQLite keeps its keys: its `INTEGER PRIMARY KEY` is the rowid, which numbers a row for free
/// and finds it in one B-tree descent, and a single file has no shards to route to. PostgreSQL's
/// text of this migration (`postgres.rs`) also re-keys every distributed table by its owner;
/// `tests/tests/table_keys.rs` checks both.
const V9: &str = v9_audit_account!();

/// V10: the memo's version on PostgreSQL (`distributary_schema.memo_version`, bumped by a trigger
/// on every memoised table: `postgres.rs`). SQLite's memo is told by the connection's update
/// hook and `PRAGMA data_version`, so this version changes nothing here; it exists so that both
/// dialects number their schema alike.
const V10: &str = "-- V10 is PostgreSQL's memo version; nothing changes on SQLite.";

/// V11: the ledger's numbers on PostgreSQL come from a sequence (`transactions_seq`:
/// `postgres.rs`, `Tx::next_transaction_seq`). SQLite's single writer keeps numbering the ledger
/// by `MAX(seq) + 1`; this version changes nothing here.
const V11: &str = "-- V11 is PostgreSQL's ledger sequence; nothing changes on SQLite.";
