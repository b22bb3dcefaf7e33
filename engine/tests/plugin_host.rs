//! The plugin host against real libraries: the fixture plugins of `distributary-plugin`
//! (`plugins/examples/fixture_*.rs`), built once per test run with
//! `cargo build -p distributary-plugin --examples --message-format=json` (a plain
//! `cargo test --workspace` builds no `cdylib`, so the test builds them and reads their paths from
//! cargo's own report). Each test copies the libraries it needs into a fresh directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use distributary::plugin_host::{PluginCallError, PluginHost, RefusalReason};
use distributary_plugin::abi::{ABI_MAJOR, ABI_MINOR};
use distributary_plugin::{
    Adapter, AdapterError, CanonicalOrder, ErrorKind, HttpRequest, ListPage, ListQuery, Manifest,
    OrderStatus, PushRequest, PushVerdict, RequestContext, StockItem, StockRefusal,
};
use serde_json::json;

/// The fixture libraries by example name, built once.
fn fixtures() -> &'static BTreeMap<String, PathBuf> {
    static FIXTURES: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    FIXTURES.get_or_init(build_fixtures)
}

fn build_fixtures() -> BTreeMap<String, PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/Cargo.toml");
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--examples", "--message-format=json"])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .expect("cannot run cargo to build the fixture plugins");
    assert!(
        output.status.success(),
        "building the fixture plugins failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut libraries = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let name = message["target"]["name"].as_str().unwrap_or_default();
        let library = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|file| file.as_str())
            .find(|file| file.ends_with(std::env::consts::DLL_SUFFIX));
        if let (true, Some(library)) = (name.starts_with("fixture_"), library) {
            libraries.insert(name.to_owned(), PathBuf::from(library));
        }
    }
    libraries
}

/// A fresh directory holding copies of the named fixtures, each under the given file stem.
fn plugin_dir(libraries: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (fixture, stem) in libraries {
        let source = fixtures().get(*fixture).unwrap_or_else(|| {
            panic!(
                "the fixture plugin `{fixture}` was not built: {fixtures:?}",
                fixtures = fixtures()
            )
        });
        let target = dir
            .path()
            .join(format!("{stem}.{}", std::env::consts::DLL_EXTENSION));
        std::fs::copy(source, target).unwrap();
    }
    dir
}

fn ctx() -> RequestContext {
    RequestContext {
        credentials: json!({"api_key": "k"}),
        timestamp: 1_700_000_000,
    }
}

/// The query of a first page.
fn first_page() -> ListQuery {
    ListQuery {
        time_from: 0,
        time_to: 1,
        page: None,
    }
}

fn get(path: &str, query: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: "GET".to_owned(),
        path: path.to_owned(),
        query: query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        headers: vec![],
        body: None,
        content_type: None,
    }
}

#[test]
fn a_good_plugin_loads_and_answers_every_call() {
    let dir = plugin_dir(&[("fixture_adapter", "good")]);
    let host = PluginHost::load_dir(dir.path());
    assert_eq!(host.refused(), &[]);
    let [plugin] = host.plugins() else {
        panic!("expected one plugin: {:?}", host.plugins());
    };
    assert_eq!(plugin.abi_version(), (ABI_MAJOR, ABI_MINOR));
    assert_eq!(
        plugin.path(),
        Some(
            dir.path()
                .join(format!("good.{}", std::env::consts::DLL_EXTENSION))
                .as_path()
        )
    );
    assert_eq!(
        plugin.manifest(),
        &Manifest {
            name: "Fixture marketplace".to_owned(),
            marketplace: "fixture".to_owned(),
            version: "0.1.0".to_owned(),
            capabilities: vec!["order_sync".to_owned(), "stock_update".to_owned()],
        }
    );
    assert!(host.adapter("shopee").is_none());
    let adapter = host.adapter("fixture").expect("the fixture adapter");

    assert_eq!(
        adapter.list_windows(0, 250),
        Ok(vec![(0, 100), (100, 200), (200, 250)])
    );
    let query = ListQuery {
        time_from: 10,
        time_to: 20,
        page: None,
    };
    assert_eq!(
        adapter.order_list_request(&ctx(), &query),
        Ok(get(
            "/orders",
            &[
                ("api_key", "k"),
                ("timestamp", "1700000000"),
                ("from", "10"),
                ("to", "20")
            ]
        ))
    );
    assert_eq!(
        adapter.parse_order_list(&query, r#"{"order_ids": ["o1"], "next": "p2", "extra": 1}"#),
        Ok(ListPage {
            order_ids: vec!["o1".to_owned()],
            orders: vec![],
            next_page: Some("p2".to_owned()),
        })
    );
    assert_eq!(adapter.detail_batch_max(), Ok(2));
    assert_eq!(
        adapter.order_detail_request(&ctx(), &["o1".to_owned(), "o2".to_owned()]),
        Ok(get("/orders/detail", &[("api_key", "k"), ("ids", "o1,o2")]))
    );
    let orders = adapter
        .parse_orders(
            "s1",
            r#"[{"id": "o1", "status": "NEW", "sku": "X", "qty": 3}]"#,
        )
        .unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(
        (
            orders[0].shop.as_str(),
            orders[0].order_sn.as_str(),
            orders[0].status
        ),
        ("s1", "o1", OrderStatus::ReadyToShip)
    );
    assert_eq!(
        (
            orders[0].lines[0].store_sku.as_str(),
            orders[0].lines[0].qty
        ),
        ("X", 3)
    );
    assert_eq!(adapter.map_status("SENT"), Ok(Some(OrderStatus::Shipped)));
    assert_eq!(adapter.map_status("LOST"), Ok(None));
    let items = [StockItem {
        store_sku: "X".to_owned(),
        quantity: 7,
        listing: BTreeMap::new(),
    }];
    let requests = adapter.stock_update_requests(&ctx(), &items).unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].body.as_deref(),
        Some(r#"{"sku":"X","quantity":7}"#)
    );
}

#[test]
fn adapter_errors_keep_their_kind_and_code() {
    let dir = plugin_dir(&[("fixture_adapter", "good")]);
    let host = PluginHost::load_dir(dir.path());
    let adapter = host.adapter("fixture").unwrap();
    let no_key = RequestContext {
        credentials: json!({}),
        timestamp: 0,
    };
    let error = adapter.order_detail_request(&no_key, &[]).unwrap_err();
    assert_eq!(error.code(), "bad_request", "{error}");
    let error = adapter
        .parse_order_list(&first_page(), "<html>")
        .unwrap_err();
    assert_eq!(error.code(), "marketplace_error", "{error}");
    assert!(
        matches!(&error, PluginCallError::Adapter { source, call: "parse_order_list", .. }
            if source.kind == ErrorKind::Marketplace),
        "{error:?}"
    );
}

#[test]
fn a_panic_in_a_call_is_a_plugin_error_and_the_host_keeps_working() {
    let dir = plugin_dir(&[("fixture_adapter", "good")]);
    let host = PluginHost::load_dir(dir.path());
    let adapter = host.adapter("fixture").unwrap();
    let error = adapter
        .parse_order_list(&first_page(), "panic")
        .unwrap_err();
    assert_eq!(error.code(), "plugin_error");
    let PluginCallError::Plugin {
        marketplace,
        call,
        message,
    } = &error
    else {
        panic!("expected a plugin error: {error:?}");
    };
    assert_eq!(
        (marketplace.as_str(), *call),
        ("fixture", "parse_order_list")
    );
    assert!(
        message.contains("the fixture was asked to panic"),
        "{message}"
    );
    // The same plugin, and the host, go on answering.
    assert_eq!(adapter.detail_batch_max(), Ok(2));
    assert_eq!(adapter.map_status("VOID"), Ok(Some(OrderStatus::Cancelled)));
}

#[test]
fn broken_libraries_are_refused_with_path_and_reason_while_the_good_one_loads() {
    let dir = plugin_dir(&[
        ("fixture_adapter", "a_good"),
        ("fixture_adapter", "b_duplicate"),
        ("fixture_no_entry", "no_entry"),
        ("fixture_wrong_magic", "wrong_magic"),
        ("fixture_wrong_major", "wrong_major"),
        ("fixture_short_table", "short_table"),
        ("fixture_bad_manifest", "bad_manifest"),
        ("fixture_panic_manifest", "panic_manifest"),
    ]);
    std::fs::write(dir.path().join("x.so"), "not a library\n").unwrap();
    std::fs::write(
        dir.path().join("notes.txt"),
        "ignored: not a library name\n",
    )
    .unwrap();

    let host = PluginHost::load_dir(dir.path());

    let loaded: Vec<_> = host
        .plugins()
        .iter()
        .map(|p| p.manifest().marketplace.clone())
        .collect();
    assert_eq!(loaded, ["fixture"]);
    assert!(host.adapter("fixture").unwrap().map_status("NEW").is_ok());

    let ext = std::env::consts::DLL_EXTENSION;
    let refused: BTreeMap<String, &RefusalReason> = host
        .refused()
        .iter()
        .map(|r| {
            (
                r.path.file_name().unwrap().to_string_lossy().into_owned(),
                &r.reason,
            )
        })
        .collect();
    type Check = fn(&RefusalReason) -> bool;
    let expected: Vec<(String, Check)> = vec![
        (format!("b_duplicate.{ext}"), |r| {
            matches!(r, RefusalReason::DuplicateMarketplace { marketplace, first }
                if marketplace == "fixture" && first.contains("a_good"))
        }),
        (format!("no_entry.{ext}"), |r| {
            matches!(r, RefusalReason::NoEntrySymbol(_))
        }),
        (format!("wrong_magic.{ext}"), |r| {
            matches!(r, RefusalReason::WrongMagic { .. })
        }),
        (
            format!("wrong_major.{ext}"),
            |r| matches!(r, RefusalReason::WrongAbiVersion { major, .. } if *major == ABI_MAJOR + 1),
        ),
        (format!("short_table.{ext}"), |r| {
            matches!(r, RefusalReason::TableTooSmall { .. })
        }),
        (
            format!("bad_manifest.{ext}"),
            |r| matches!(r, RefusalReason::ManifestUnparsable(m) if m.contains("malformed answer")),
        ),
        (
            format!("panic_manifest.{ext}"),
            |r| matches!(r, RefusalReason::ManifestFailed(m) if m.contains("no manifest today")),
        ),
        ("x.so".to_owned(), |r| {
            matches!(r, RefusalReason::NotALibrary(_))
        }),
    ];
    assert_eq!(refused.len(), expected.len(), "{:#?}", host.refused());
    for (file, check) in expected {
        let reason = refused
            .get(&file)
            .unwrap_or_else(|| panic!("{file} not refused: {refused:#?}"));
        assert!(check(reason), "{file}: unexpected reason {reason:?}");
    }
    // Every refusal reads as the path and a reason a person understands.
    for refusal in host.refused() {
        let text = refusal.to_string();
        assert!(
            text.starts_with(&refusal.path.display().to_string()),
            "{text}"
        );
    }
}

#[test]
fn the_same_library_loaded_twice_is_one_image_and_keeps_working() {
    let dir = plugin_dir(&[("fixture_adapter", "good")]);
    let first = PluginHost::load_dir(dir.path());
    let second = PluginHost::load_dir(dir.path());
    for host in [&first, &second] {
        assert_eq!(host.plugins().len(), 1, "{:?}", host.refused());
        assert_eq!(host.adapter("fixture").unwrap().detail_batch_max(), Ok(2));
    }
    // Within one host, the second load of a path is the same marketplace again.
    let mut host = first;
    let path = host.plugins()[0].path().unwrap().to_path_buf();
    host.load_library(&path);
    assert_eq!(host.plugins().len(), 1);
    assert!(matches!(
        host.refused(),
        [r] if r.path == path && matches!(r.reason, RefusalReason::DuplicateMarketplace { .. })
    ));
}

#[test]
fn an_unreadable_directory_is_refused_and_the_host_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let host = PluginHost::load_dir(&missing);
    assert!(host.plugins().is_empty());
    assert!(matches!(
        host.refused(),
        [r] if r.path == missing && matches!(r.reason, RefusalReason::UnreadableDirectory(_))
    ));
    assert!(PluginHost::empty().plugins().is_empty());
    let default = PluginHost::default_dir().unwrap();
    assert_eq!(
        Some(default.as_path()),
        std::env::current_exe().unwrap().parent()
    );
}

/// A native adapter for the in-process path: serves `native`, or panics in `map_status`.
#[derive(Default)]
struct Native;

impl Adapter for Native {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "Native".to_owned(),
            marketplace: "native".to_owned(),
            version: "1".to_owned(),
            capabilities: vec![],
        }
    }
    fn order_list_request(
        &self,
        _: &RequestContext,
        _: &ListQuery,
    ) -> Result<HttpRequest, AdapterError> {
        Err(AdapterError::invalid_input("no listing"))
    }
    fn parse_order_list(&self, _: &ListQuery, _: &str) -> Result<ListPage, AdapterError> {
        Ok(ListPage::default())
    }
    fn detail_batch_max(&self) -> usize {
        0
    }
    fn order_detail_request(
        &self,
        _: &RequestContext,
        _: &[String],
    ) -> Result<HttpRequest, AdapterError> {
        Err(AdapterError::invalid_input("no detail"))
    }
    fn parse_orders(&self, _: &str, _: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
        Ok(vec![])
    }
    fn map_status(&self, native: &str) -> Option<OrderStatus> {
        panic!("cannot map {native}")
    }
    fn stock_update_requests(
        &self,
        _: &RequestContext,
        _: &[StockItem],
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        Ok(vec![])
    }
    fn parse_stock_update(
        &self,
        _: &[StockItem],
        _: &str,
    ) -> Result<Vec<StockRefusal>, AdapterError> {
        Ok(vec![])
    }
    fn parse_push(&self, _: &PushRequest) -> Result<PushVerdict, AdapterError> {
        Ok(PushVerdict::Unsupported {
            reason: "none".to_owned(),
        })
    }
}

#[test]
fn an_in_process_adapter_goes_through_the_same_table() {
    let dir = plugin_dir(&[("fixture_adapter", "good")]);
    let mut host = PluginHost::load_dir(dir.path());
    host.add_in_process::<Native>().unwrap();
    assert!(matches!(
        host.add_in_process::<Native>(),
        Err(RefusalReason::DuplicateMarketplace { marketplace, first })
            if marketplace == "native" && first == "an in-process adapter"
    ));
    let adapter = host.adapter("native").unwrap();
    assert_eq!(host.plugins()[1].path(), None);
    assert_eq!(adapter.parse_orders("s", "[]"), Ok(vec![]));
    assert_eq!(adapter.map_status("X").unwrap_err().code(), "plugin_error");
    // A batch maximum of 0 would never send a batch: a plugin error, not a value.
    assert_eq!(
        adapter.detail_batch_max().unwrap_err().code(),
        "plugin_error"
    );
    assert!(host.adapter("fixture").is_some());
}

#[test]
fn the_host_is_send_and_sync_and_callable_from_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PluginHost>();
    let dir = plugin_dir(&[("fixture_adapter", "good")]);
    let host = Arc::new(PluginHost::load_dir(dir.path()));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let host = Arc::clone(&host);
            std::thread::spawn(move || {
                let adapter = host.adapter("fixture").unwrap();
                (0..50).all(|_| {
                    adapter.list_windows(0, 100 * (i + 1)).map(|w| w.len()) == Ok(i as usize + 1)
                })
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap());
    }
}

/// Records the events of this thread's subscriber: (level, plugin field, message).
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", field.name(), value));
            }
        }
        let mut fields = Fields(format!(
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        ));
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn plugin_logs_reach_the_host_subscriber() {
    let dir = plugin_dir(&[("fixture_adapter", "good")]);
    let host = PluginHost::load_dir(dir.path());
    let recorder = Arc::new(Recorder::default());
    let dispatch = tracing::Dispatch::new(Arc::clone(&recorder));
    tracing::dispatcher::with_default(&dispatch, || {
        host.adapter("fixture")
            .unwrap()
            .parse_orders("log-shop", "[]")
            .unwrap();
    });
    let lines = recorder.0.lock().unwrap();
    assert!(
        lines.iter().any(|line| line
            == "INFO distributary::plugin message=parsing orders of shop log-shop plugin=fixture"),
        "{lines:#?}"
    );
}
