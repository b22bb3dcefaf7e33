//! The web console over plain HTTP on loopback: what it refuses. A wrong token at sign-in, a
//! tampered cookie, a form without its session's CSRF token (nothing changes), and one
//! distributor's pages never showing another's data. Each refusal has its accepted twin, so
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
