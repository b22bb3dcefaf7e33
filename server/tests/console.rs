//! The web console over plain HTTP on loopback: what it refuses. A wrong token at sign-in, a
//! tampered cookie, a form without its session's CSRF token (nothing changes), and one
//! distributor's pages never showing another's data; a candidate pack's check and backtest, for
//! a system session only. Each refusal has its accepted twin, so
//! every test can fail.

mod console_fixture;

use std::time::Duration;

use console_fixture::{World, DIS2_NOTE, DIS2_TOPUP_NOTE};
use serde_json::json;

struct Browser {
    agent: ureq::Agent,
}

/// An answer: status, `Set-Cookie` headers, `Location`, body.
struct Page {
    status: u16,
    cookies: Vec<String>,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new() -> Browser {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Browser { agent }
    }

    fn get(&self, url: &str, cookie: Option<&str>) -> Page {
        let mut request = self.agent.get(url);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", &format!("dst_console={cookie}"));
        }
        read(request.call().unwrap())
    }

    fn post(&self, url: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Page {
        let mut request = self.agent.post(url);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", &format!("dst_console={cookie}"));
        }
        read(request.send_form(form.iter().copied()).unwrap())
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> Page {
    let header = |name: &str| -> Vec<String> {
        response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    let cookies = header("set-cookie");
    let location = header("location").into_iter().next();
    Page {
        status: response.status().as_u16(),
        cookies,
        location,
        body: response.body_mut().read_to_string().unwrap(),
    }
}

/// The CSRF token in a page's forms.
fn csrf(body: &str) -> String {
    let start = body
        .find(r#"name="csrf" value=""#)
        .expect("a form with its CSRF field")
        + 19;
    body[start..start + 64].to_owned()
}

#[test]
fn a_wrong_token_is_refused_at_sign_in_and_a_right_one_sets_a_strict_http_only_cookie() {
    let world = World::start();
    let browser = Browser::new();
    let signed_out = browser.get(&world.url("/"), None);
    assert_eq!(signed_out.status, 200);
    assert!(signed_out.body.contains(r#"action="/sign-in""#));

    let wrong = browser.post(&world.url("/sign-in"), None, &[("token", "dst_0000_1111")]);
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("unauthenticated"), "{}", wrong.body);
    assert!(wrong.cookies.is_empty());

    let right = browser.post(&world.url("/sign-in"), None, &[("token", &world.dis)]);
    assert_eq!(right.status, 303);
    assert_eq!(right.location.as_deref(), Some("/"));
    let cookie = &right.cookies[0];
    assert!(cookie.starts_with(&format!("dst_console={};", world.dis)));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // The token is never in an address: not in the redirect, not in a page.
    let home = browser.get(&world.url("/"), Some(&world.dis));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Signed in as"));
    assert!(!home.body.contains(&world.dis));

    // Another site's sign-in form is refused even with a right token.
    let request = browser
        .agent
        .post(&world.url("/sign-in"))
        .header("Origin", "http://evil.example");
    let crossed = read(request.send_form([("token", world.dis.as_str())]).unwrap());
    assert_eq!(crossed.status, 403);
    assert!(crossed.cookies.is_empty());
}

#[test]
fn a_tampered_or_revoked_cookie_signs_the_browser_out() {
    let world = World::start();
    let browser = Browser::new();
    let mut tampered = world.dis.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    for path in ["/", "/orders", "/balances"] {
        let page = browser.get(&world.url(path), Some(&tampered));
        assert_eq!(page.status, 401, "{path}");
        assert!(page.body.contains(r#"action="/sign-in""#), "{path}");
        assert!(
            page.cookies.iter().any(|c| c.contains("Max-Age=0")),
            "{path}"
        );
    }
    assert_eq!(
        browser.get(&world.url("/orders"), Some(&world.dis)).status,
        200
    );
    // Without a cookie: sent to sign in.
    let anonymous = browser.get(&world.url("/orders"), None);
    assert_eq!(
        (anonymous.status, anonymous.location.as_deref()),
        (303, Some("/"))
    );
    // A revoked token signs out at the next click.
    let tokens = world.exec("system", "tokens", json!({"account": "dis"}));
    let id = tokens["tokens"][0]["token_id"].as_str().unwrap().to_owned();
    world.exec("system", "revoke_token", json!({"token_id": id}));
    assert_eq!(
        browser.get(&world.url("/orders"), Some(&world.dis)).status,
        401
    );
}

#[test]
fn a_form_without_its_sessions_csrf_token_changes_nothing() {
    let world = World::start();
    let browser = Browser::new();
    let balance = || {
        world.exec("sup", "balances", json!({}))["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["distributor"] == "dis2")
            .map(|b| b["balance"].as_str().unwrap().to_owned())
    };
    let form = |csrf: Option<&str>| {
        let mut fields = vec![
            ("cmd", "add_balance"),
            ("back", "/partners"),
            ("distributor", "dis2"),
            ("amount", "5.00"),
        ];
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf));
        }
        browser.post(
            &world.url("/act"),
            Some(&world.sup),
            &fields.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
        )
    };
    let before = balance();
    assert_eq!(before.as_deref(), Some("77.00"));
    let missing = form(None);
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("nothing was changed"));
    // Another session's token (dis2's own page) is not this session's.
    let theirs = csrf(
        &browser
            .get(&world.url("/suppliers"), Some(&world.dis2))
            .body,
    );
    assert_eq!(form(Some(&theirs)).status, 403);
    assert_eq!(form(Some("00")).status, 403);
    assert_eq!(balance(), before);
    // Signing out is a form too.
    let out = browser.post(&world.url("/sign-out"), Some(&world.sup), &[]);
    assert_eq!(out.status, 403);

    let ours = csrf(&browser.get(&world.url("/partners"), Some(&world.sup)).body);
    let done = form(Some(&ours));
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/partners?done=add_balance"))
    );
    assert_eq!(balance().as_deref(), Some("82.00"));
    let out = browser.post(
        &world.url("/sign-out"),
        Some(&world.sup),
        &[("csrf", &ours)],
    );
    assert_eq!(out.status, 303);
    assert!(out.cookies.iter().any(|c| c.contains("Max-Age=0")));
}

#[test]
fn a_command_the_engine_refuses_is_shown_with_its_code_and_changes_nothing() {
    let world = World::start();
    let browser = Browser::new();
    let ours = csrf(&browser.get(&world.url("/balances"), Some(&world.dis)).body);
    // A distributor cannot top up: the engine says so, the page shows the code.
    let refused = browser.post(
        &world.url("/act"),
        Some(&world.dis),
        &[
            ("csrf", &ours),
            ("cmd", "add_balance"),
            ("back", "/balances"),
            ("distributor", "dis"),
            ("amount", "5"),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("<code>distributor_cannot_top_up</code>"),
        "{}",
        refused.body
    );
    assert_eq!(
        world.exec("dis", "balances", json!({}))["balances"],
        json!([])
    );
    // A command the console does not send is refused before the engine.
    let unknown = browser.post(
        &world.url("/act"),
        Some(&world.dis),
        &[("csrf", &ours), ("cmd", "create_account"), ("account", "x")],
    );
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("bad_request"));
}

#[test]
fn one_distributors_pages_never_show_anothers_data() {
    let world = World::start();
    let browser = Browser::new();
    // The positive control: dis2 sees its own note, top-up and claim.
    let own = |path: &str| browser.get(&world.url(path), Some(&world.dis2)).body;
    assert!(own("/suppliers").contains(DIS2_NOTE));
    assert!(own("/transactions?supplier=sup").contains(DIS2_TOPUP_NOTE));
    assert!(own("/balances").contains("77.00"));
    assert!(own("/products?tab=claimed").contains("CAP"));
    // The supplier sees both of its applicants.
    let applications = browser
        .get(&world.url("/applications"), Some(&world.sup))
        .body;
    assert!(applications.contains("dis2") && applications.contains(">dis<"));

    let theirs = |path: &str| browser.get(&world.url(path), Some(&world.dis));
    for path in [
        "/",
        "/suppliers",
        "/products?tab=claimed",
        "/products?tab=expired",
        "/orders",
        "/balances",
        "/transactions",
        "/transactions?supplier=sup",
    ] {
        let page = theirs(path);
        assert_eq!(page.status, 200, "{path}");
        for secret in ["dis2", DIS2_NOTE, DIS2_TOPUP_NOTE, "77.00"] {
            assert!(!page.body.contains(secret), "{path} shows {secret}");
        }
    }
    // Asking by name for dis2's ledger is the engine's refusal, shown as such.
    let probe = theirs("/transactions?distributor=dis2");
    assert!(!probe.body.contains(DIS2_TOPUP_NOTE));
    assert!(probe.body.contains("role=\"alert\""), "{}", probe.body);
}

/// The repository's root (the default pack is `rules/`, the test packs under `tests/packs/`).
fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The default pack with the handling fee doubled (`tests/packs/rules_fee`, its script and its
/// rule tests), in a directory of its own.
fn doubled_fee_pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for folder in ["workflows", "scripts", "tests"] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        for entry in std::fs::read_dir(repo().join("rules").join(folder)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(
                &path,
                dir.path().join(folder).join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    for file in ["scripts/fees.rhai", "tests/fees.yaml"] {
        std::fs::copy(
            repo().join("tests/packs/rules_fee").join(file),
            dir.path().join(file),
        )
        .unwrap();
    }
    dir
}

/// The text of a table cell with `class`, e.g. `<td class="money-total">1.50</td>`.
fn cell<'a>(body: &'a str, class: &str) -> Vec<&'a str> {
    let open = format!(r#"<td class="{class}">"#);
    body.match_indices(&open)
        .map(|(at, _)| {
            let rest = &body[at + open.len()..];
            &rest[..rest.find("</td>").unwrap()]
        })
        .collect()
}

#[test]
fn a_system_session_checks_and_backtests_a_candidate_pack() {
    let world = World::start();
    world.pushed();
    let charged = world.exec("dis", "order", json!({"order": "shopee:5001"}));
    assert_eq!(charged["state"], "pushed", "{charged}");
    let system = world.system_token();
    let browser = Browser::new();
    let rules = browser.get(&world.url("/rules"), Some(&system));
    assert!(
        rules.body.contains("Try a candidate pack")
            && rules.body.contains(r#"<label for="candidate-dir">"#),
        "{}",
        rules.body
    );
    let ours = csrf(&rules.body);
    let try_pack = |dir: &str, since: &str| {
        browser.post(
            &world.url("/rules/candidate"),
            Some(&system),
            &[
                ("csrf", &ours),
                ("dir", dir),
                ("since", since),
                ("until", ""),
            ],
        )
    };

    // Handling doubled: the one order pushed changes, by the handling fee charged (1.50).
    let doubled = doubled_fee_pack();
    let page = try_pack(doubled.path().to_str().unwrap(), "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Live compatibility check"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Compatible: a reload would install")
            && page.body.contains("No live entity moves."),
        "{}",
        page.body
    );
    assert!(page.body.contains("Orders replayed: 1."), "{}", page.body);
    assert_eq!(cell(&page.body, "money-total"), ["1.50"], "{}", page.body);
    assert_eq!(cell(&page.body, "money-delta"), ["1.50"], "{}", page.body);
    assert!(
        page.body.contains("<td><code>fees</code></td><td>1</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("shopee:5001"), "{}", page.body);

    // The pack in force: nothing differs.
    let same = try_pack(repo().join("rules").to_str().unwrap(), "");
    assert_eq!(same.status, 200, "{}", same.body);
    assert!(same.body.contains("Orders replayed: 1."), "{}", same.body);
    assert_eq!(cell(&same.body, "money-total"), ["0.00"], "{}", same.body);
    for rule in ["fees", "push_checks", "allocate_warehouse"] {
        assert!(
            same.body
                .contains(&format!("<td><code>{rule}</code></td><td>0</td>")),
            "{rule}: {}",
            same.body
        );
    }
    assert!(!same.body.contains("Examples of differences"));

    // A window after the push: nothing replayed.
    let later = try_pack(doubled.path().to_str().unwrap(), "2999-01-01T00:00:00Z");
    assert!(later.body.contains("Orders replayed: 0."), "{}", later.body);

    // A directory that is not there, and a pack that does not compile: their codes.
    let missing = doubled.path().join("nowhere");
    let bad = try_pack(missing.to_str().unwrap(), "");
    assert_eq!(bad.status, 404, "{}", bad.body);
    assert!(
        bad.body.contains("<code>not_found</code>") && bad.body.contains("cannot read rules"),
        "{}",
        bad.body
    );
    std::fs::copy(
        repo().join("tests/packs/rules_broken/scripts/fees.rhai"),
        doubled.path().join("scripts/fees.rhai"),
    )
    .unwrap();
    let broken = try_pack(doubled.path().to_str().unwrap(), "");
    assert!(
        broken.body.contains("<code>rules_invalid</code>")
            && broken.body.contains("scripts/fees.rhai:6:1</code>"),
        "{}",
        broken.body
    );
}

#[test]
fn only_a_system_session_with_its_csrf_token_may_try_a_candidate_pack() {
    let world = World::start();
    let browser = Browser::new();
    let dir = repo().join("rules");
    let dir = dir.to_str().unwrap();
    // A supplier's /rules shows no such form, and its POST is refused.
    let sup_rules = browser.get(&world.url("/rules"), Some(&world.sup));
    assert_eq!(sup_rules.status, 200);
    assert!(!sup_rules.body.contains("Try a candidate pack"));
    let sup_csrf = csrf(&sup_rules.body);
    let refused = browser.post(
        &world.url("/rules/candidate"),
        Some(&world.sup),
        &[("csrf", &sup_csrf), ("dir", dir)],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("only a system session"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("Orders replayed"));

    // A system session without its CSRF token: refused too.
    let system = world.system_token();
    let forged = browser.post(
        &world.url("/rules/candidate"),
        Some(&system),
        &[("dir", dir)],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(!forged.body.contains("Orders replayed"));
    // With it: the report.
    let ours = csrf(&browser.get(&world.url("/rules"), Some(&system)).body);
    let done = browser.post(
        &world.url("/rules/candidate"),
        Some(&system),
        &[("csrf", &ours), ("dir", dir)],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Orders replayed: 0."), "{}", done.body);
}

#[test]
fn without_a_store_file_the_page_says_the_check_needs_one() {
    let engine = std::sync::Arc::new(
        distributary::Engine::open(
            std::path::Path::new(":memory:"),
            distributary::EngineOptions::default(),
        )
        .unwrap(),
    );
    let envelope =
        distributary::Envelope::from_value(json!({"as": "system", "cmd": "create_token",
        "args": {"account": "system", "label": "console test"}}))
        .unwrap();
    let system = engine.execute(&envelope).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = distributary_server::Running::start(
        engine,
        "127.0.0.1:0".parse().unwrap(),
        distributary_server::ServerOptions::default(),
    )
    .unwrap();
    let url = |path: &str| format!("http://{}{path}", server.addr());
    let browser = Browser::new();
    let ours = csrf(&browser.get(&url("/rules"), Some(&system)).body);
    let rules = repo().join("rules");
    let page = browser.post(
        &url("/rules/candidate"),
        Some(&system),
        &[("csrf", &ours), ("dir", rules.to_str().unwrap())],
    );
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(
        page.body.contains("need a store file") && !page.body.contains("Orders replayed"),
        "{}",
        page.body
    );
}
