//! The store's statements that no scenario file reaches, run on SQLite and on PostgreSQL: the
//! marketplace pushes' notices and a shop's `push_url` (written by the server's webhooks, whose
//! suite reads SQLite's file), and the backtest's scan of the recorded decisions (a backtest
//! itself replays SQLite stores only).

use std::path::Path;

use distributary::{
    contract,
    model::{Account, AuditEntry, Plan},
    store::{NewNotice, ShopConnection, Store, StoreOptions},
};
use distributary_tests::pg;

const AT: &str = "2026-12-07T10:00:00Z";

fn account(tx: &distributary::store::Tx<'_>, name: &str) {
    let account = Account {
        account: name.into(),
        plan: Plan::V3,
        inventory: false,
        currency: "USD".into(),
    };
    assert!(tx.insert_account(&account, AT).unwrap());
}

fn notices_and_push_url(path: &Path) {
    let mut store = Store::open(path, &StoreOptions::default()).unwrap();
    store
        .write(|tx| {
            account(tx, "d1");
            let shop = ShopConnection {
                marketplace: "shopee",
                shop: "main",
                base_url: "http://127.0.0.1:1",
                credentials: "{}",
                push_url: Some("https://example.test/push"),
            };
            tx.upsert_shop("d1", &shop)?;
            let mut stored = Vec::new();
            for key in ["k1", "k2", "k1"] {
                let notice = NewNotice {
                    account: "d1",
                    marketplace: "shopee",
                    shop: "main",
                    key,
                    kind: "order_status",
                    order_ids: r#"["1"]"#,
                    body: "{}",
                    received_at: AT,
                };
                // The repeat of `k1` stores nothing.
                assert_eq!(tx.insert_notice(&notice)?, !stored.contains(&key));
                stored.push(key);
            }
            Ok(())
        })
        .unwrap();
    let (shop, all, retry) = store
        .read(|tx| {
            Ok((
                tx.shop("d1", "shopee", "main")?,
                tx.all_shops(10)?,
                tx.notices_to_retry(3, 10)?,
            ))
        })
        .unwrap();
    assert_eq!(
        shop.unwrap().push_url.as_deref(),
        Some("https://example.test/push")
    );
    assert_eq!(all, vec![("d1".into(), "shopee".into(), "main".into())]);
    let keys: Vec<_> = retry.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(keys, ["k1", "k2"]);
    store
        .write(|tx| {
            tx.settle_notice(&retry[0], AT, None)?;
            tx.settle_notice(&retry[1], AT, Some("the marketplace did not answer"))?;
            Ok(())
        })
        .unwrap();
    let (first, second, retry) = store
        .read(|tx| {
            Ok((
                tx.unprocessed_notice("d1", "shopee", "main", "k1")?,
                tx.unprocessed_notice("d1", "shopee", "main", "k2")?,
                tx.notices_to_retry(3, 10)?,
            ))
        })
        .unwrap();
    assert_eq!(first, None);
    assert_eq!(second.map(|n| n.attempts), Some(1));
    assert_eq!(retry.len(), 1);
    // Reconnected without a push URL: it is dropped.
    store
        .write(|tx| {
            let shop = ShopConnection {
                marketplace: "shopee",
                shop: "main",
                base_url: "http://127.0.0.1:1",
                credentials: "{}",
                push_url: None,
            };
            tx.upsert_shop("d1", &shop)
        })
        .unwrap();
    let shop = store.read(|tx| tx.shop("d1", "shopee", "main")).unwrap();
    assert_eq!(shop.unwrap().push_url, None);
}

fn scan_of_recorded_decisions(path: &Path) {
    let mut store = Store::open(path, &StoreOptions::default()).unwrap();
    store
        .write(|tx| {
            for (order, from, inputs) in [
                ("o1", None, Some(r#"{"a":1}"#)),
                ("o2", None, None),
                ("o1", Some("new"), Some(r#"{"b":2}"#)),
            ] {
                let inputs: Option<serde_json::Value> =
                    inputs.map(|inputs| serde_json::from_str(inputs).unwrap());
                let entry = AuditEntry {
                    account: "d1".into(),
                    entity_kind: contract::order::WORKFLOW.into(),
                    entity_id: order.into(),
                    from_state: from.map(str::to_owned),
                    to_state: "next".into(),
                    event: "push".into(),
                    actor: "d1".into(),
                    user: None,
                    rules_version: "v1".into(),
                    guards: serde_json::json!([]),
                    at: AT.into(),
                    prev: None,
                    reason: None,
                };
                tx.append_decision(&entry, inputs.as_ref())?;
            }
            Ok(())
        })
        .unwrap();
    let seen = store
        .read(|tx| {
            let mut seen = Vec::new();
            tx.scan_recorded_decisions(|row| {
                seen.push((
                    row.order.to_owned(),
                    row.from_state.map(str::to_owned),
                    row.inputs.to_owned(),
                ));
                Ok(())
            })?;
            assert_eq!(tx.audit_seq_max()?, 3);
            Ok(seen)
        })
        .unwrap();
    assert_eq!(
        seen,
        vec![
            ("o1".into(), None, r#"{"a":1}"#.into()),
            ("o1".into(), Some("new".into()), r#"{"b":2}"#.into()),
        ]
    );
    // A visit's error stops the scan and is answered.
    let visited = store.read(|tx| {
        let mut visited = 0;
        let scanned = tx.scan_recorded_decisions(|_| {
            visited += 1;
            Err(distributary::Error::new(
                distributary::Code::Internal,
                "stop",
            ))
        });
        Ok((visited, scanned.is_err()))
    });
    assert_eq!(visited.unwrap(), (1, true));

    // A long scan (PostgreSQL fetches it a batch at a time) whose visit runs other statements,
    // after a scan its visit stopped, in one transaction: every row, in order.
    const MORE: i64 = 2_500;
    store
        .write(|tx| {
            for i in 0..MORE {
                let entry = AuditEntry {
                    account: "d1".into(),
                    entity_kind: contract::order::WORKFLOW.into(),
                    entity_id: format!("bulk{i}"),
                    from_state: None,
                    to_state: "next".into(),
                    event: "pack".into(),
                    actor: "d1".into(),
                    user: None,
                    rules_version: "v1".into(),
                    guards: serde_json::json!([]),
                    at: AT.into(),
                    prev: None,
                    reason: None,
                };
                tx.append_decision(&entry, Some(&serde_json::json!({ "i": i })))?;
            }
            Ok(())
        })
        .unwrap();
    let (stopped, seqs) = store
        .read(|tx| {
            let mut stopped = 0;
            let _ = tx.scan_recorded_decisions(|_| {
                stopped += 1;
                Err(distributary::Error::new(
                    distributary::Code::Internal,
                    "stop",
                ))
            });
            let mut seqs = Vec::new();
            tx.scan_recorded_decisions(|row| {
                assert_eq!(tx.audit_seq_max()?, 3 + MORE);
                seqs.push(row.seq);
                Ok(())
            })?;
            Ok((stopped, seqs))
        })
        .unwrap();
    assert_eq!(stopped, 1);
    assert_eq!(seqs.len(), 2 + MORE as usize);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in audit order");
}

fn sets(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// A write is seen by the statements after it, and a write that fails fails its transaction,
/// which keeps nothing: on PostgreSQL the writes a command does not wait on are sent with its
/// next read (the store's pipeline), so the failure is reported there, or by the `COMMIT`.
fn writes_then_reads(path: &Path) {
    let mut store = Store::open(path, &StoreOptions::default()).unwrap();
    store
        .write(|tx| {
            account(tx, "d1");
            tx.upsert_user("d1", "ann", &sets(&["supplier"]))?;
            assert_eq!(tx.user_permissions("d1", "ann")?, Some(sets(&["supplier"])));
            tx.upsert_user("d1", "ann", &sets(&["distributor"]))?;
            tx.upsert_user("d1", "bob", &sets(&["supplier"]))?;
            assert_eq!(
                tx.user_permissions("d1", "ann")?,
                Some(sets(&["distributor"]))
            );
            Ok(())
        })
        .unwrap();
    // A user of an account that does not exist breaks a foreign key: the read after it fails.
    let failed = store.write(|tx| {
        tx.upsert_user("d1", "cat", &sets(&["supplier"]))?;
        tx.upsert_user("nobody", "dan", &sets(&["supplier"]))?;
        tx.user_permissions("d1", "cat")
    });
    assert!(failed.is_err(), "{failed:?}");
    // ... and when nothing is read after it, the commit fails.
    let failed = store.write(|tx| {
        tx.upsert_user("d1", "cat", &sets(&["supplier"]))?;
        tx.upsert_user("nobody", "dan", &sets(&["supplier"]))
    });
    assert!(failed.is_err(), "{failed:?}");
    let kept = store
        .read(|tx| {
            Ok((
                tx.user_permissions("d1", "cat")?,
                tx.user_permissions("d1", "ann")?,
            ))
        })
        .unwrap();
    assert_eq!(kept, (None, Some(sets(&["distributor"]))));
}

/// A write run more times than a statement keeps its plan (1,000, then prepared again), all of
/// the runs queued in one transaction with nothing read between them, then read back; and the
/// transaction after it (which lets the old statement go) writes and reads as well.
fn writes_past_a_new_plan(path: &Path) {
    let mut store = Store::open(path, &StoreOptions::default()).unwrap();
    store
        .write(|tx| {
            account(tx, "d1");
            for i in 0..2_500 {
                let roles = if i % 2 == 0 {
                    "supplier"
                } else {
                    "distributor"
                };
                tx.upsert_user("d1", &format!("u{i}"), &sets(&[roles]))?;
            }
            assert_eq!(
                tx.user_permissions("d1", "u2499")?,
                Some(sets(&["distributor"]))
            );
            Ok(())
        })
        .unwrap();
    store
        .write(|tx| tx.upsert_user("d1", "u0", &sets(&["distributor"])))
        .unwrap();
    let read = store.read(|tx| tx.user_permissions("d1", "u0")).unwrap();
    assert_eq!(read, Some(sets(&["distributor"])));
}

#[test]
fn writes_past_a_new_plan_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    writes_past_a_new_plan(&dir.path().join("store.db"));
}

#[test]
fn writes_past_a_new_plan_on_postgres() {
    if let Some(db) = pg::Database::create("writes past a new plan") {
        writes_past_a_new_plan(&db.path());
    }
}

/// The memo of one connection forgets a row another connection changed and committed: on
/// SQLite by `PRAGMA data_version`, on PostgreSQL by the version a trigger on the memoised
/// table bumps.
fn memo_sees_another_connections_commit(path: &Path) {
    let mut first = Store::open(path, &StoreOptions::default()).unwrap();
    let mut second = Store::open(path, &StoreOptions::default()).unwrap();
    let read = |store: &mut Store| store.read(|tx| tx.user_permissions("d1", "ann")).unwrap();
    first
        .write(|tx| {
            account(tx, "d1");
            tx.upsert_user("d1", "ann", &sets(&["supplier"]))
        })
        .unwrap();
    assert_eq!(read(&mut first), Some(sets(&["supplier"])));
    // Twice: the second read is the memo's.
    assert_eq!(read(&mut first), Some(sets(&["supplier"])));
    second
        .write(|tx| tx.upsert_user("d1", "ann", &sets(&["distributor"])))
        .unwrap();
    assert_eq!(read(&mut first), Some(sets(&["distributor"])));
}

#[test]
fn writes_then_reads_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    writes_then_reads(&dir.path().join("store.db"));
}

#[test]
fn writes_then_reads_on_postgres() {
    if let Some(db) = pg::Database::create("the pipelined writes") {
        writes_then_reads(&db.path());
    }
}

#[test]
fn memo_sees_another_connections_commit_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    memo_sees_another_connections_commit(&dir.path().join("store.db"));
}

#[test]
fn memo_sees_another_connections_commit_on_postgres() {
    if let Some(db) = pg::Database::create("the memo across connections") {
        memo_sees_another_connections_commit(&db.path());
    }
}

#[test]
fn notices_and_push_url_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    notices_and_push_url(&dir.path().join("store.db"));
}

#[test]
fn notices_and_push_url_on_postgres() {
    if let Some(db) = pg::Database::create("the push notices") {
        notices_and_push_url(&db.path());
    }
}

#[test]
fn scan_of_recorded_decisions_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scan_of_recorded_decisions(&dir.path().join("store.db"));
}

#[test]
fn scan_of_recorded_decisions_on_postgres() {
    if let Some(db) = pg::Database::create("the recorded decisions' scan") {
        scan_of_recorded_decisions(&db.path());
    }
}
