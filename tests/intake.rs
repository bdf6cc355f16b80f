//! Intake from other systems against a real server (docs/intake.md): the city's 12345 platform,
//! holding an integrator credential, dispatches work orders over HTTP; retries are idempotent;
//! every bad request gets its code with nothing stored; the platform follows its order through
//! the centre's real workflow.

use crate::sync::{actor, STAFF};
use crate::sync_errors::{assert_error, holdings};
use app_core::ids::{CaseId, UnitId};
use app_core::model::{Action, Assignee, Difficulty, SessionMode};
use app_core::org::Role;
use app_core::store::{CaseFilter, OrderFilter};
use serde_json::{json, Value};
use system_tests::{now_ms, Device, Server};

const HOTLINE: &str = "taishan-12345";
const POLICE: &str = "taishan-110";
const HOUR: i64 = 3_600_000;

/// A server of 海宴镇 with the city's hotline platform and the police linkage registered at the
/// county, each with an integrator credential for 海宴镇: (dir, server, hotline token, police
/// token).
pub(crate) fn intake_server() -> anyhow::Result<(tempfile::TempDir, Server, String, String)> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 4)?;
    let people = dir.path().join("intake.csv");
    std::fs::write(
        &people,
        format!(
            "id,name,unit,roles,specialties,phone\n\
             {HOTLINE},12345政务服务便民热线,taishan,intake,,\n\
             {POLICE},110警情联动,taishan,intake,,\n"
        ),
    )?;
    server.admin(&["import-people", &people.display().to_string()])?;
    let hotline =
        token(&server.admin(&["integrator-add", "--person", HOTLINE, "--units", "haiyan"])?);
    let police = token(&server.admin(&[
        "integrator-add",
        "--person",
        POLICE,
        "--units",
        "haiyan",
        "--source",
        "police",
    ])?);
    Ok((dir, server, hotline, police))
}

/// The token `integrator-add` prints on its last line.
fn token(printed: &str) -> String {
    printed.lines().last().unwrap_or_default().trim().to_owned()
}

/// A work order as the platform sends it.
pub(crate) fn order(number: &str) -> Value {
    let now = now_ms();
    json!({
        "number": number,
        "channel": "12345",
        "kind": "complaint",
        "title": "养殖场排污影响邻居",
        "content": "来电人反映邻居养殖场污水排入自家鱼塘，多次协商未果，要求处理。",
        "address": "台山市海宴镇五丰村仁和里12号",
        "caller": {"name": "黄秀英", "phone": "13800138000"},
        "confidential": false,
        "parties": [{"name": "陈国强"}],
        "dispatched_at": now,
        "sign_by": now + 2 * HOUR,
        "reply_by": now + 72 * HOUR,
    })
}

/// Posts a work order: status, JSON answer, whether it was a replay.
pub(crate) async fn post(
    server: &Server,
    token: Option<&str>,
    key: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<(u16, Value, bool)> {
    send(
        server.url(),
        token.map(str::to_owned),
        key.map(str::to_owned),
        body,
    )
    .await
}

async fn send(
    url: String,
    token: Option<String>,
    key: Option<String>,
    body: Vec<u8>,
) -> anyhow::Result<(u16, Value, bool)> {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/v1/intake/work-orders"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    let text = resp.text().await?;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, value, replayed))
}

/// Where an order stands, as the platform polls it.
async fn poll(server: &Server, token: &str, number: &str) -> anyhow::Result<(u16, Value)> {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/intake/work-orders/{number}", server.url()))
        .bearer_auth(token)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await?))
}

/// A bad request and its refusal: what it is, credential, key, body; status, code and words
/// the message must hold.
type BadRequest<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Vec<u8>,
    u16,
    &'a str,
    &'a str,
);

/// The work orders the server has recorded from these tests (numbered `TS12345-…`; the demo
/// data's own hotline orders are numbered otherwise).
fn recorded(server: &Server) -> anyhow::Result<i64> {
    server.count("SELECT COUNT(*) FROM intake_orders WHERE number LIKE 'TS12345-%'")
}

/// The orders of these tests (numbered `TS12345-…`, unlike the demo data's own) that `store`
/// has waiting to be signed for at 海宴镇.
pub(crate) fn to_sign_at_haiyan(
    store: &app_core::store::Store,
) -> anyhow::Result<Vec<app_core::summary::CaseSummary>> {
    let waiting = CaseFilter {
        responsible: Some(UnitId::new("haiyan")),
        orders: Some(OrderFilter::ToSign),
        ..Default::default()
    };
    Ok(store
        .list(&waiting, now_ms())?
        .into_iter()
        .filter(|s| {
            s.order
                .as_ref()
                .is_some_and(|o| o.number.starts_with("TS12345-"))
        })
        .collect())
}

pub(crate) fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_ten_retries_at_once_make_one_case_that_the_hotline_follows_to_its_conclusion(
) -> anyhow::Result<()> {
    let (_dir, server, hotline, _) = intake_server()?;
    let desk = Device::enrol(&server, STAFF).await?;
    desk.sync().await?;
    let before = holdings(&server)?;

    // The platform's client times out and retries: ten copies of one request at once.
    let number = "TS12345-20261203-0001";
    let body = bytes(&order(number));
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..10 {
        sends.spawn(send(
            server.url(),
            Some(hotline.clone()),
            Some("8e2c1f0a-retry".to_owned()),
            body.clone(),
        ));
    }
    let mut answers = Vec::new();
    while let Some(a) = sends.join_next().await {
        answers.push(a??);
    }
    for (status, value, _) in &answers {
        assert_eq!(*status, 201, "{value}");
        assert_eq!(value, &answers[0].1, "every retry gets the one answer");
    }
    assert_eq!(
        answers.iter().filter(|a| !a.2).count(),
        1,
        "one request did the work, nine were replayed"
    );
    assert_eq!(recorded(&server)?, 1);
    let after = holdings(&server)?;
    assert_eq!(after.0 - before.0, 2, "one case and its contacts");
    let first = &answers[0].1;
    assert_eq!(first["state"], "dispatched");
    assert_eq!(first["state_zh"], "待签收");
    assert_eq!(first["centre"], "haiyan");
    assert_eq!(first["centre_name"], "海宴镇");
    assert_eq!(first["dispatches"], 1);
    let case = CaseId::new(first["case"].as_str().unwrap_or_default());

    // It reaches the township's desk in its next sync, waiting to be signed for, placed in
    // 五丰村 from the address, the caller an applicant with her phone.
    desk.sync().await?;
    let rows = to_sign_at_haiyan(&desk.store())?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, case);
    assert_eq!(rows[0].village, Some(UnitId::new("haiyan-wufeng")));
    assert_eq!(rows[0].party_names, ["黄秀英", "陈国强"]);
    assert_eq!(
        rows[0].order.as_ref().map(|o| o.number.as_str()),
        Some(number)
    );
    let contacts = desk.store().case(&case)?.contacts.expect("contacts");
    assert!(
        contacts
            .parties
            .values()
            .any(|c| c.phone.as_deref() == Some("13800138000")),
        "the caller's phone is with the case"
    );

    // The centre works the case; the platform sees each step.
    let mediator = desk
        .store()
        .directory()
        .people()
        .find(|p| p.roles.contains(&Role::Mediator) && p.unit.as_str() == "haiyan")
        .cloned()
        .expect("a mediator of 海宴镇");
    let steps: Vec<(Vec<Action>, &str)> = vec![
        (vec![Action::SignOrder], "signed"),
        (
            vec![Action::Assess {
                difficulty: Difficulty::General,
                risks: Vec::new(),
                note: "邻里排污纠纷".to_owned(),
            }],
            "handling",
        ),
        (
            vec![
                Action::Assign {
                    to: Assignee::Mediator {
                        person: mediator.id.clone(),
                        name: mediator.name.clone(),
                    },
                    chosen_by_parties: false,
                    note: String::new(),
                },
                Action::RecordSession {
                    mode: SessionMode::OnSite,
                    note: "现场查看排污口，组织双方协商".to_owned(),
                },
                Action::ReplyOrder {
                    reply: "已受理并现场调处，养殖户同意三日内改建排污管道".to_owned(),
                },
            ],
            "replied",
        ),
        (
            vec![Action::Resolve {
                agreement: None,
                note: "排污管道已改建，双方无异议".to_owned(),
            }],
            "concluded",
        ),
    ];
    for (actions, state) in steps {
        {
            let mut s = desk.store();
            let staff = actor(&s, STAFF, Role::CentreStaff);
            for a in actions {
                s.act(&case, &staff, a, now_ms())?;
            }
        }
        desk.sync().await?;
        let (status, seen) = poll(&server, &hotline, number).await?;
        assert_eq!(status, 200, "{seen}");
        assert_eq!(seen["state"], state, "{seen}");
        assert_eq!(seen["case"], case.as_str());
    }
    let (_, seen) = poll(&server, &hotline, number).await?;
    assert_eq!(
        seen["reply"],
        "已受理并现场调处，养殖户同意三日内改建排污管道"
    );
    assert_eq!(seen["state_zh"], "办结");
    Ok(())
}

/// Orders sent at once are taken in at once, and committed together (the server's group
/// commit): each is stored once, with its own case, answer and log row, while the desk syncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_many_orders_sent_at_once_are_each_stored_once_while_the_desk_syncs(
) -> anyhow::Result<()> {
    let (_dir, server, hotline, _) = intake_server()?;
    let desk = Device::enrol(&server, STAFF).await?;
    desk.sync().await?;
    let before = holdings(&server)?;
    const N: usize = 24;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..N {
        let number = format!("TS12345-20261203-1{i:03}");
        let body = bytes(&order(&number));
        let (url, token) = (server.url(), hotline.clone());
        sends.spawn(async move {
            // Each order also retried once, at once.
            let key = format!("batch-{i}");
            let (a, b) = tokio::join!(
                send(
                    url.clone(),
                    Some(token.clone()),
                    Some(key.clone()),
                    body.clone()
                ),
                send(url, Some(token), Some(key), body)
            );
            anyhow::Ok((number, a?, b?))
        });
    }
    // The desk syncs while they arrive.
    desk.sync().await?;
    let mut cases = std::collections::BTreeSet::new();
    while let Some(r) = sends.join_next().await {
        let (number, a, b) = r??;
        for (status, value, _) in [&a, &b] {
            assert_eq!(*status, 201, "{number}: {value}");
            assert_eq!(value["number"], number.as_str());
        }
        assert_eq!(a.1, b.1, "{number}: the retry gets the first answer");
        assert!(a.2 != b.2, "{number}: one did the work, one was replayed");
        cases.insert(a.1["case"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(cases.len(), N, "a case for each order");
    assert_eq!(recorded(&server)?, N as i64);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM intake_requests")?,
        N as i64
    );
    let after = holdings(&server)?;
    assert_eq!(
        after.0 - before.0,
        2 * N as i64,
        "each case and its contacts"
    );
    assert_eq!(
        after.3 - before.3,
        2 * N as i64,
        "a version logged for each document"
    );
    desk.sync().await?;
    let rows = to_sign_at_haiyan(&desk.store())?;
    let on_desk: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r.id.as_str().to_owned()).collect();
    assert_eq!(on_desk, cases, "every order on the desk, to sign");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_a_redispatched_order_updates_its_case_and_a_confidential_caller_is_kept_nowhere(
) -> anyhow::Result<()> {
    let (_dir, server, hotline, police) = intake_server()?;
    let number = "TS12345-20261203-0002";
    let mut first = order(number);
    first["confidential"] = json!(true);
    first["caller"] = json!({"name": "区美玲", "phone": "13912345678"});
    let (status, made, _) = post(&server, Some(&hotline), Some("k-first"), bytes(&first)).await?;
    assert_eq!(status, 201, "{made}");

    // The platform dispatches it again (重派) with new deadlines, under a new key: the same
    // case, a second dispatch.
    let mut again = first.clone();
    again["reply_by"] = json!(first["reply_by"].as_i64().unwrap_or_default() + 24 * HOUR);
    let (status, redone, replayed) =
        post(&server, Some(&hotline), Some("k-second"), bytes(&again)).await?;
    assert_eq!((status, replayed), (200, false), "{redone}");
    assert_eq!(redone["case"], made["case"]);
    assert_eq!(redone["dispatches"], 2);
    assert_eq!(recorded(&server)?, 1);
    let case = made["case"].as_str().unwrap_or_default().to_owned();
    let reply_by: i64 = server.count(&format!(
        "SELECT json_extract(summary, '$.order.reply_by') FROM cases WHERE id = '{case}'"
    ))?;
    assert_eq!(Some(reply_by), again["reply_by"].as_i64());

    // The caller asked for secrecy: her name and phone are nowhere on the server.
    for sql in [
        "SELECT COUNT(*) FROM case_parties WHERE name = '区美玲' OR phone = '13912345678'",
        "SELECT COUNT(*) FROM party_keys WHERE key LIKE '%13912345678%'",
        "SELECT COUNT(*) FROM cases WHERE summary LIKE '%区美玲%'",
        "SELECT COUNT(*) FROM intake_requests WHERE body LIKE '%区美玲%' OR body LIKE '%13912345678%'",
    ] {
        assert_eq!(server.count(sql)?, 0, "{sql}");
    }
    assert_eq!(
        server.count(&format!(
            "SELECT COUNT(*) FROM cases WHERE id = '{case}' AND summary LIKE '%来电人（保密）%'"
        ))?,
        1,
        "named only as a confidential caller"
    );

    // The police's order numbers are their own: the same number from the police is another
    // order (on its own line, 110, when it names none).
    let mut theirs = first.clone();
    theirs.as_object_mut().map(|m| m.remove("channel"));
    let (status, theirs, _) = post(&server, Some(&police), Some("k-first"), bytes(&theirs)).await?;
    assert_eq!(status, 201, "{theirs}");
    assert_ne!(theirs["case"], made["case"]);
    assert_eq!(recorded(&server)?, 2);

    // The desk sees the police's order as a 公安移交 case.
    let desk = Device::enrol(&server, STAFF).await?;
    desk.sync().await?;
    let police_case = CaseId::new(theirs["case"].as_str().unwrap_or_default());
    let view = desk.store().case(&police_case)?;
    assert_eq!(
        view.summary.order.map(|o| o.channel).as_deref(),
        Some("110")
    );
    assert!(matches!(
        view.document.timeline[0].action,
        Action::Report {
            source: app_core::model::Source::Police,
            ..
        }
    ));
    // The hotline cannot read the police's order, though the number is the same as its own:
    // it reads its own.
    let (status, seen) = poll(&server, &hotline, number).await?;
    assert_eq!((status, seen["case"].clone()), (200, made["case"].clone()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_refuses_each_bad_request_with_its_code_and_stores_nothing() -> anyhow::Result<()> {
    let (_dir, server, hotline, _) = intake_server()?;
    // One order in, so that its key and number can be reused.
    let number = "TS12345-20261203-0003";
    let original = bytes(&order(number));
    let (status, made, _) = post(&server, Some(&hotline), Some("k-made"), original.clone()).await?;
    assert_eq!(status, 201, "{made}");
    let desk = Device::enrol(&server, STAFF).await?;
    let desk_token = crate::sync_errors::token(&desk);
    // A revoked integrator.
    let revoked =
        token(&server.admin(&["integrator-add", "--person", HOTLINE, "--units", "haiyan"])?);
    let device = revoked.split('.').next().unwrap_or_default().to_owned();
    server.admin(&["revoke", "--device", &device])?;
    let listed = server.admin(&["integrators"])?;
    let row = |d: &str| listed.lines().find(|l| l.starts_with(d)).map(str::to_owned);
    let revoked_row = row(&device).expect("the revoked integrator is listed");
    assert!(revoked_row.ends_with("revoked"), "{revoked_row}");
    let hotline_device = hotline.split('.').next().unwrap_or_default();
    assert_eq!(
        row(hotline_device).as_deref(),
        Some(format!("{hotline_device}\t{HOTLINE}\thotline_12345\thaiyan\tactive").as_str())
    );
    // A person without the intake role, or a unit outside the person's, gets no credential.
    let refused = server.admin(&["integrator-add", "--person", STAFF, "--units", "haiyan"]);
    assert!(
        format!("{refused:?}").contains("intake role"),
        "{refused:?}"
    );

    let stored = || -> anyhow::Result<_> {
        Ok((
            holdings(&server)?,
            recorded(&server)?,
            server.count("SELECT COUNT(*) FROM intake_requests")?,
        ))
    };
    let before = stored()?;
    let good = bytes(&order("TS12345-20261203-0004"));
    let with = |f: &dyn Fn(&mut Value)| {
        let mut o = order("TS12345-20261203-0004");
        f(&mut o);
        bytes(&o)
    };
    let cases: Vec<BadRequest> = vec![
        (
            "no credential",
            None,
            Some("k1"),
            good.clone(),
            401,
            "unauthenticated",
            "Bearer",
        ),
        (
            "a person's device",
            Some(&desk_token),
            Some("k1"),
            good.clone(),
            403,
            "out_of_scope",
            "integrator",
        ),
        (
            "a revoked integrator",
            Some(&revoked),
            Some("k1"),
            good.clone(),
            401,
            "revoked",
            "revoked",
        ),
        (
            "no key",
            Some(&hotline),
            None,
            good.clone(),
            400,
            "missing_idempotency_key",
            "Idempotency-Key",
        ),
        (
            "a reused key, another body",
            Some(&hotline),
            Some("k-made"),
            good.clone(),
            422,
            "idempotency_key_reused",
            "k-made",
        ),
        (
            "a unit outside its scope",
            Some(&hotline),
            Some("k2"),
            with(&|o| o["unit"] = json!("duhu-shencun")),
            403,
            "out_of_scope",
            "duhu-shencun",
        ),
        (
            "an address outside its scope",
            Some(&hotline),
            Some("k3"),
            with(&|o| o["address"] = json!("台山市都斛镇莘村村")),
            422,
            "unplaceable",
            "names no place",
        ),
        (
            "a missing field",
            Some(&hotline),
            Some("k4"),
            with(&|o| {
                o.as_object_mut().map(|m| m.remove("sign_by"));
            }),
            400,
            "bad_json",
            "sign_by",
        ),
        (
            "an unknown kind",
            Some(&hotline),
            Some("k5"),
            with(&|o| o["kind"] = json!("表扬")),
            400,
            "bad_json",
            "表扬",
        ),
        (
            "deadlines out of order",
            Some(&hotline),
            Some("k6"),
            with(&|o| o["reply_by"] = json!(o["sign_by"].as_i64().unwrap_or_default() - HOUR)),
            400,
            "bad_json",
            "reply_by",
        ),
        (
            "not JSON",
            Some(&hotline),
            Some("k7"),
            b"{\"number\": ".to_vec(),
            400,
            "bad_json",
            "not a work order",
        ),
        (
            "too large",
            Some(&hotline),
            Some("k8"),
            with(&|o| o["content"] = json!("很".repeat(300_000))),
            413,
            "too_large",
            "larger",
        ),
    ];
    for (what, token, key, body, status, code, words) in cases {
        let (got, value, _) = post(&server, token, key, body).await?;
        let a = (got, value);
        assert_error(&a, status, code);
        let message = a.1["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(words),
            "{what}: `{message}` names `{words}`"
        );
        assert_eq!(stored()?, before, "{what}: nothing stored");
    }

    // An unknown order, and one of another system, are unknown alike.
    let (status, v) = poll(&server, &hotline, "TS12345-NOPE").await?;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("unknown_order"))
    );
    let (status, v) = poll(&server, &desk_token, number).await?;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("out_of_scope"))
    );
    // After all that, the order made replays as it was answered, the same body differently
    // spaced.
    let spaced = serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&original)?)?;
    let (status, again, replayed) = post(&server, Some(&hotline), Some("k-made"), spaced).await?;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again, made);
    assert_eq!(stored()?, before);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_the_demo_hotline_follows_its_own_orders_with_the_token_the_demo_prints(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 80)?;
    let token = server
        .hotline_token
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the demo prints the hotline's token"))?;
    // The demo's hotline cases: reported by the platform, each with its work order.
    let orders: Vec<(CaseId, app_core::summary::OrderSummary)> = {
        let store = server.store()?;
        store
            .list(&CaseFilter::default(), now_ms())?
            .into_iter()
            .filter_map(|s| s.order.clone().map(|o| (s.id, o)))
            .collect()
    };
    assert!(
        orders.len() >= 2,
        "{} hotline orders in 80 cases",
        orders.len()
    );
    // Among them the call of half an hour ago, waiting on the desk to be signed for.
    let waiting: Vec<_> = orders
        .iter()
        .filter(|(_, o)| o.state == app_core::workflow::OrderState::Dispatched)
        .collect();
    assert_eq!(waiting.len(), 1, "{orders:?}");
    assert!(waiting[0].1.dispatched_at > now_ms() - HOUR);
    let to_sign = CaseFilter {
        responsible: Some(UnitId::new("haiyan")),
        orders: Some(OrderFilter::ToSign),
        ..Default::default()
    };
    assert_eq!(server.store()?.count(&to_sign, now_ms())?, 1);
    for (case, order) in &orders {
        let (status, answer) = poll(&server, &token, &order.number).await?;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["case"], case.as_str());
        assert_eq!(answer["state_zh"], order.state.zh(), "{answer}");
    }
    // An open one dispatched again by the platform (重派): its case is updated, no other made.
    let (case, order) = orders
        .iter()
        .find(|(_, o)| o.state != app_core::workflow::OrderState::Concluded)
        .ok_or_else(|| anyhow::anyhow!("an open order among {orders:?}"))?;
    let cases_before = server.count("SELECT COUNT(*) FROM cases")?;
    let (status, answer, _) = post(
        &server,
        Some(&token),
        Some("demo-redispatch"),
        bytes(&self::order(&order.number)),
    )
    .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["case"], case.as_str());
    assert_eq!(answer["dispatches"], order.dispatches + 1);
    assert_eq!(server.count("SELECT COUNT(*) FROM cases")?, cases_before);
    Ok(())
}
