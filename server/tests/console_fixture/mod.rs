//! The world the console's tests act in: a store with a supplier (`sup`, warehouse KL, a mug and
//! a cap, fees), a distributor `dis` whose application waits for review, and a second
//! distributor `dis2`, partnered, with a balance, a claim and a note of its own (what `dis` must
//! never see); a token each; and `serve` on a loopback port the OS picks.

#![allow(dead_code)]

use std::{net::SocketAddr, sync::Arc};

use distributary::{
    store::{Durability, StoreOptions},
    Engine, EngineOptions, Envelope,
};
use distributary_server::{Running, ServerOptions};
use serde_json::{json, Value};

/// What only `dis2` may see.
pub const DIS2_NOTE: &str = "dis2-private-note";
pub const DIS2_TOPUP_NOTE: &str = "dis2-private-topup";

pub struct World {
    pub engine: Arc<Engine>,
    pub server: Running,
    pub sup: String,
    pub dis: String,
    pub dis2: String,
    _dir: tempfile::TempDir,
}

impl World {
    pub fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let options = EngineOptions {
            store: StoreOptions {
                durability: Durability::Normal,
            },
            ..EngineOptions::default()
        };
        let engine = Arc::new(Engine::open(&dir.path().join("store.db"), options).unwrap());
        let run = |actor: &str, cmd: &str, args: Value| exec(&engine, actor, cmd, args);
        for (account, plan) in [("sup", "V3"), ("dis", "V1"), ("dis2", "V1")] {
            run(
                "system",
                "create_account",
                json!({"account": account, "plan": plan, "inventory": true, "currency": "MYR"}),
            );
        }
        run(
            "sup",
            "create_warehouse",
            json!({"warehouse": "KL", "name": "Kuala Lumpur", "region": "Selangor"}),
        );
        run(
            "sup",
            "publish_product",
            json!({"sku": "MUG", "name": "Mug", "price": "12.50"}),
        );
        run(
            "sup",
            "publish_product",
            json!({"sku": "CAP", "name": "Cap", "price": "20.00"}),
        );
        run(
            "sup",
            "set_fees",
            json!({"handling": "1.50", "shipping": "4.00"}),
        );
        let link = |engine: &Engine| {
            exec(
                engine,
                "sup",
                "create_invitation",
                json!({"warehouses": ["KL"]}),
            )["link"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        run("dis", "bind_supplier", json!({"link": link(&engine)}));
        run(
            "dis2",
            "bind_supplier",
            json!({"link": link(&engine), "note": DIS2_NOTE}),
        );
        run(
            "sup",
            "review_partnership",
            json!({"distributor": "dis2", "approve": true}),
        );
        run(
            "sup",
            "add_balance",
            json!({"distributor": "dis2", "amount": "77.00", "note": DIS2_TOPUP_NOTE}),
        );
        run("dis2", "claim", json!({"supplier": "sup", "skus": ["CAP"]}));
        let token = |account: &str| {
            exec(
                &engine,
                "system",
                "create_token",
                json!({"account": account, "label": "console test"}),
            )["token"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (sup, dis, dis2) = (token("sup"), token("dis"), token("dis2"));
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let server = Running::start(engine.clone(), loopback, ServerOptions::default()).unwrap();
        World {
            engine,
            server,
            sup,
            dis,
            dis2,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// One command straight to the engine (set-up and checks, not what a test shows).
    pub fn exec(&self, actor: &str, cmd: &str, args: Value) -> Value {
        exec(&self.engine, actor, cmd, args)
    }

    /// After `dis` is partnered: the supplier's stock, and 40.00 of balance for `dis` (one
    /// order of two mugs costs 2 x 12.50 + 1.50 + 4.00 = 30.50: the second finds 9.50).
    pub fn stock_and_balance(&self) {
        self.exec(
            "sup",
            "push_stock",
            json!({"warehouse": "KL", "items": [{"sku": "MUG", "available": 10}, {"sku": "CAP", "available": 5}]}),
        );
        self.exec(
            "sup",
            "add_balance",
            json!({"distributor": "dis", "amount": "40.00", "note": "bank transfer"}),
        );
    }

    /// After `dis` claimed the mug: its store SKU mapped and two orders of two mugs imported
    /// (`shopee:5001`, `shopee:5002`).
    pub fn orders(&self) {
        self.exec(
            "dis",
            "map_store_sku",
            json!({"sku": "MUG", "marketplace": "shopee", "shop": "s1", "store_sku": "SP-MUG"}),
        );
        let order = |sn: &str| {
            json!({"marketplace": "shopee", "shop": "s1", "order_sn": sn, "status": "ready_to_ship",
                   "currency": "MYR", "address": {"country": "MY", "state": "Selangor"},
                   "lines": [{"store_sku": "SP-MUG", "qty": 2, "unit_price": "19.90"}]})
        };
        self.exec(
            "dis",
            "import_orders",
            json!({"marketplace": "shopee", "format": "canonical", "payload": [order("5001"), order("5002")]}),
        );
    }
}

fn exec(engine: &Engine, actor: &str, cmd: &str, args: Value) -> Value {
    let envelope = Envelope::from_value(json!({"as": actor, "cmd": cmd, "args": args})).unwrap();
    engine
        .execute(&envelope)
        .unwrap_or_else(|error| panic!("{actor} {cmd}: {}", error.to_json()))
}
