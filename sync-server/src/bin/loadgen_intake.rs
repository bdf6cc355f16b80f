//! Load generator for intake from other systems (docs/intake.md): the city's 12345 platform
//! dispatches work orders to a real server process (release build) over loopback HTTP while
//! devices of the township sync. Prints its figures; exits non-zero if an order is missing from
//! the desk after its next sync, or a retry was not answered as a replay.
//!
//! ```text
//! cargo build --release -p sync-server --features demo
//! $CARGO_TARGET_DIR/release/loadgen_intake [--seconds 10] [--rate 200] [--concurrency 16] [--devices 20]
//!     [--pause-ms 1000] [--cases 300] [--retries 0.1]
//! ```
//!
//! The platform is a person with the intake role at the county (`taishan`) with an integrator
//! credential for 海宴镇 (`integrator-add`). For `--seconds` it sends `--rate` new orders a
//! second and the retries on top (at 200 and one retry in ten, 222 requests/s), open loop (each request at its time, at most `--concurrency` in flight; when they are all
//! in flight the schedule waits, and what falls due after the window is not sent): each a new
//! order with its own number and `Idempotency-Key`, its address in one of the township's five
//! villages, except about one in ten, which is a retry of an earlier answered request (the same
//! key and the same bytes) and must be answered as that request was, 201 with
//! `Idempotent-Replayed: true`. Meanwhile `--devices` grid workers' phones (the real sync
//! client, a grid of their own each) report a case and sync, pausing `--pause-ms` between
//! syncs. Last, the township's desk (`haiyan-staff1`, synced before the run) syncs once and
//! must hold every accepted order waiting to be signed for, placed in the village its address
//! names. With the server stopped, 200 more orders go through `intake::dispatch` in this
//! process, one at a time: the time an order takes with no HTTP and no queue, and where it goes.

use anyhow::{bail, Context};
use app_core::client::SyncClient;
use app_core::ids::{PersonId, UnitId};
use app_core::model::{Actor, NewCase, NewParty, PartyRole, Source};
use app_core::org::Role;
use app_core::protocol::{IntakeAnswer, IntakeCaller, IntakeOrder, IntakeParty};
use app_core::store::{CaseFilter, OrderFilter, Store};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{add_grid_workers, admin, issue, now_ms, percentile, start_server};

/// The platform's person, registered at the county.
const HOTLINE: &str = "taishan-12345";
/// The township's desk.
const STAFF: &str = "haiyan-staff1";
/// The villages of 海宴镇 in the demo, by name as callers give them.
const VILLAGES: [(&str, &str); 5] = [
    ("五丰村", "haiyan-wufeng"),
    ("沙栏村", "haiyan-shalan"),
    ("华丰村", "haiyan-huafeng"),
    ("丰江村", "haiyan-fengjiang"),
    ("那陈村", "haiyan-nachen"),
];
const HOUR: i64 = 3_600_000;

struct Args {
    seconds: f64,
    rate: f64,
    concurrency: usize,
    devices: usize,
    pause_ms: u64,
    cases: usize,
    retry_share: f64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        seconds: 10.0,
        rate: 200.0,
        concurrency: 16,
        devices: 20,
        pause_ms: 1000,
        cases: 300,
        retry_share: 0.1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => a.seconds = v.parse()?,
            "--rate" => a.rate = v.parse()?,
            "--concurrency" => a.concurrency = v.parse()?,
            "--devices" => a.devices = v.parse()?,
            "--pause-ms" => a.pause_ms = v.parse()?,
            "--cases" => a.cases = v.parse()?,
            "--retries" => a.retry_share = v.parse()?,
            _ => bail!("unknown option {flag}"),
        }
    }
    if a.rate <= 0.0 || a.seconds <= 0.0 || a.concurrency == 0 {
        bail!("--rate, --seconds and --concurrency must be positive");
    }
    if !(0.0..0.9).contains(&a.retry_share) {
        bail!("--retries is the share of requests that are retries, from 0 to 0.9");
    }
    Ok(a)
}

fn actor_of(store: &Store, person: &PersonId, role: Role) -> anyhow::Result<Actor> {
    let p = store
        .directory()
        .person(person)
        .with_context(|| format!("{person} in the directory"))?;
    Ok(Actor {
        person: p.id.clone(),
        name: p.name.clone(),
        role,
        unit: p.unit.clone(),
    })
}

/// The `n`th order of the run: its number, body and the village its address names.
fn order(n: usize) -> (String, Vec<u8>, &'static str) {
    const KINDS: [&str; 4] = ["complaint", "help", "consultation", "suggestion"];
    const TITLES: [&str; 5] = [
        "养殖场排污影响邻居",
        "宅基地边界争议",
        "拖欠务工人员工资",
        "鱼塘承包合同纠纷",
        "邻居加建遮挡采光",
    ];
    const CALLERS: [&str; 6] = ["黄秀英", "陈国强", "李桂芳", "林志明", "吴少华", "梁月娥"];
    const LANES: [&str; 4] = ["仁和里", "东兴路", "西华里", "新村巷"];
    let (village, village_id) = VILLAGES[n % VILLAGES.len()];
    let number = format!("TS12345-20261203-{n:06}");
    let now = now_ms();
    let order = IntakeOrder {
        number: number.clone(),
        channel: Some("12345".to_owned()),
        kind: KINDS[n % KINDS.len()].to_owned(),
        title: TITLES[n % TITLES.len()].to_owned(),
        content: format!(
            "来电人反映{}，多次协商未果，要求镇综治中心协调处理。（工单{number}）",
            TITLES[n % TITLES.len()]
        ),
        address: format!(
            "台山市海宴镇{village}{}{}号",
            LANES[n % LANES.len()],
            n % 97 + 1
        ),
        unit: None,
        category: None,
        caller: IntakeCaller {
            name: CALLERS[n % CALLERS.len()].to_owned(),
            phone: Some(format!("138{:08}", n % 100_000_000)),
        },
        confidential: n % 20 == 7,
        parties: vec![IntakeParty {
            name: CALLERS[(n + 3) % CALLERS.len()].to_owned(),
            phone: None,
        }],
        dispatched_at: now,
        sign_by: now + 2 * HOUR,
        reply_by: now + 72 * HOUR,
    };
    let body = serde_json::to_vec(&order).expect("an order serialises");
    (number, body, village_id)
}

/// A request as sent: its key, its bytes, and (once answered) the answer's body.
#[derive(Clone)]
struct Sent {
    key: String,
    body: Arc<Vec<u8>>,
    answer: String,
}

/// What became of one request.
struct Outcome {
    retry: bool,
    status: u16,
    replayed: bool,
    /// The answer's body is the original request's (for a retry).
    same_answer: bool,
    ms: f64,
    /// For a new order: its number, the village its address names, and its answer.
    order: Option<(String, &'static str, String)>,
    error: Option<String>,
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: Vec<u8>,
) -> anyhow::Result<(u16, bool, String)> {
    let resp = http
        .post(format!("{url}/v1/intake/work-orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v.as_bytes() == b"true");
    Ok((status, replayed, resp.text().await?))
}

/// A grid worker's phone: its store, its client, its person.
type Phone = (Arc<Mutex<Store>>, Arc<SyncClient>, PersonId);

/// What a phone did: sync latencies (ms), cases reported, failures (their first message).
struct PhoneRun {
    syncs: Vec<f64>,
    reported: usize,
    failed: usize,
    first_failure: Option<String>,
}

/// Reports a case and syncs, over and over, until `stop`.
async fn phone_loop(phone: Phone, stop: Arc<AtomicBool>, pause: Duration) -> PhoneRun {
    let (store, client, person) = phone;
    let mut run = PhoneRun {
        syncs: Vec::new(),
        reported: 0,
        failed: 0,
        first_failure: None,
    };
    let fail = |run: &mut PhoneRun, e: String| {
        run.failed += 1;
        run.first_failure.get_or_insert(e);
    };
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let reported = (|| -> anyhow::Result<()> {
            let mut s = store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            let actor = actor_of(&s, &person, Role::GridWorker)?;
            let grid = actor.unit.clone();
            s.create_case(&actor, &visit_case(&grid, i), now_ms())?;
            Ok(())
        })();
        match reported {
            Ok(()) => run.reported += 1,
            Err(e) => fail(&mut run, format!("report: {e}")),
        }
        i += 1;
        let t = Instant::now();
        match client.sync(&store, |_| {}).await {
            Ok(p) if p.rejected.is_empty() => run.syncs.push(t.elapsed().as_secs_f64() * 1000.0),
            Ok(p) => fail(&mut run, format!("refused: {:?}", p.rejected)),
            Err(e) => fail(&mut run, format!("sync: {e}")),
        }
        tokio::time::sleep(pause).await;
    }
    run
}

fn visit_case(grid: &UnitId, i: usize) -> NewCase {
    NewCase {
        title: format!("入户走访发现的相邻纠纷（{}）", i + 1),
        category: "neighbour".to_owned(),
        narrative: "网格员入户走访时了解到，两户村民因排水沟走向多次发生争吵，需要尽快调处。"
            .to_owned(),
        place_unit: grid.clone(),
        address: "台山市海宴镇丰江村委会西华里18号".to_owned(),
        gps: Some((21.95, 112.65)),
        parties: vec![
            NewParty {
                name: "陈大文".to_owned(),
                role: PartyRole::Applicant,
                phone: Some("13800138000".to_owned()),
                id_number: None,
            },
            NewParty {
                name: "李秀英".to_owned(),
                role: PartyRole::Respondent,
                phone: None,
                id_number: None,
            },
        ],
        source: Source::GridVisit,
    }
}

/// This thread's time on a core and waiting for one, in ms (`/proc/thread-self/schedstat`).
fn thread_times() -> Option<(f64, f64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut f = s.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some((f.next()?? / 1e6, f.next()?? / 1e6))
}

/// The time `intake::dispatch` took for new orders: per order (ms, sorted), and on average
/// where it went: on a core, waiting for one, and neither (the disk: SQLite's fsync).
struct Alone {
    orders: Vec<f64>,
    replays: Vec<f64>,
    split: Option<(f64, f64, f64)>,
}

/// `n` more orders (numbered from `from`) through `intake::dispatch` on the stopped server's
/// database, one at a time on this thread, each then replayed.
fn dispatch_alone(
    db_path: &std::path::Path,
    token: &str,
    from: usize,
    n: usize,
) -> anyhow::Result<Alone> {
    let mut db = sync_server::db::ServerDb::open(db_path)?;
    let device = db
        .authenticate(token)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let scope = sync_server::intake::integrator_of(&db, &device)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let shared = Mutex::new(db);
    let intake = sync_server::intake::Intake::default();
    let limits = sync_server::sync::SyncLimits::default();
    let (mut orders, mut replays) = (Vec::new(), Vec::new());
    let mut split = Some((0.0, 0.0, 0.0));
    for k in from..from + n {
        let (_, body, _) = order(k);
        let key = format!("alone-{k:06}");
        for replay in [false, true] {
            let before = thread_times();
            let t = Instant::now();
            let answer = sync_server::intake::parse(&body)
                .and_then(|parsed| {
                    sync_server::intake::dispatch(
                        &shared,
                        &intake,
                        &device,
                        &scope,
                        &key,
                        &parsed,
                        &limits,
                        now_ms(),
                    )
                })
                .map_err(|e| anyhow::anyhow!("order {k}: {}", e.message))?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if answer.status != 201 || answer.replayed != replay {
                bail!("order {k}: {} replayed {}", answer.status, answer.replayed);
            }
            if replay {
                replays.push(ms);
                continue;
            }
            orders.push(ms);
            split = match (split, before, thread_times()) {
                (Some((cpu, queued, rest)), Some(b), Some(a)) => {
                    let (c, q) = (a.0 - b.0, a.1 - b.1);
                    Some((cpu + c, queued + q, rest + (ms - c - q).max(0.0)))
                }
                _ => None,
            };
        }
    }
    let per = n.max(1) as f64;
    Ok(Alone {
        orders: sorted(orders),
        replays: sorted(replays),
        split: split.map(|(c, q, r)| (c / per, q / per, r / per)),
    })
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let bin = support::server_bin()?;
    let work = tempfile::tempdir()?;
    std::fs::write(
        work.path().join("server.toml"),
        format!(
            // Phones syncing in a loop and a platform at any rate from one address: the rate
            // limiters must not shape the load (intake's own default is 500/s per integrator).
            "unit = \"haiyan\"\ndemo_cases = {}\n[limits]\nrate_per_second = 1000000.0\nburst = 1000000.0\n\
             enrol_per_minute = 1000000.0\nenrol_burst = 1000000.0\n\
             enrol_all_per_minute = 1000000.0\nenrol_all_burst = 1000000.0\n\
             intake_per_second = 1000000.0\nintake_burst = 1000000.0\n",
            a.cases
        ),
    )?;
    let t = Instant::now();
    let server = start_server(&bin, work.path())?;
    let url = server.url.clone();
    let db_path = work.path().join("data").join("server.sqlite3");

    // The platform: a person with the intake role at the county, its credential for 海宴镇.
    let people = work.path().join("intake.csv");
    std::fs::write(
        &people,
        format!("id,name,unit,roles,specialties,phone\n{HOTLINE},12345政务服务便民热线,taishan,intake,,\n"),
    )?;
    admin(
        &bin,
        work.path(),
        &["import-people", &people.display().to_string()],
    )?;
    let printed = admin(
        &bin,
        work.path(),
        &["integrator-add", "--person", HOTLINE, "--units", "haiyan"],
    )?;
    // The token is the last line printed.
    let token = printed
        .lines()
        .last()
        .map(str::trim)
        .filter(|t| t.contains('.'))
        .with_context(|| format!("no token in {printed:?}"))?
        .to_owned();

    // The township's desk, up to date before the run.
    let staff_dir = work.path().join("staff");
    std::fs::create_dir_all(&staff_dir)?;
    let staff_store = Mutex::new(Store::open(staff_dir.join("device.sqlite3"))?);
    let staff =
        SyncClient::enrol(&url, &issue(&db_path, STAFF)?, "综治中心电脑", &staff_store).await?;
    staff.sync(&staff_store, |_| {}).await?;
    let to_sign = CaseFilter {
        orders: Some(OrderFilter::ToSign),
        ..Default::default()
    };
    let to_sign_before = {
        let s = staff_store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        for (name, id) in VILLAGES {
            let unit = s
                .directory()
                .unit(&UnitId::new(id))
                .with_context(|| format!("village {id}"))?;
            if unit.name != name {
                bail!("village {id} is {}, not {name}", unit.name);
            }
        }
        s.count(&to_sign, now_ms())?
    };

    // The phones, each enrolled and synced once.
    let mut phones: Vec<Phone> = Vec::new();
    for person in add_grid_workers(&db_path, a.devices)? {
        let store = Mutex::new(Store::open(":memory:")?);
        let code = issue(&db_path, person.as_str())?;
        let client = SyncClient::enrol(&url, &code, "网格员手机", &store).await?;
        client.sync(&store, |_| {}).await?;
        phones.push((Arc::new(store), Arc::new(client), person));
    }
    println!(
        "server: {} demo cases of 海宴镇, the platform {HOTLINE} (intake, at taishan) with an integrator credential for haiyan, the desk {STAFF} and {} phones enrolled and synced, in {:.1} s; the desk has {to_sign_before} orders to sign",
        a.cases,
        a.devices,
        t.elapsed().as_secs_f64()
    );

    // The phones sync while the platform sends.
    let stop = Arc::new(AtomicBool::new(false));
    let pause = Duration::from_millis(a.pause_ms);
    let phone_tasks: Vec<_> = phones
        .iter()
        .cloned()
        .map(|p| tokio::spawn(phone_loop(p, stop.clone(), pause)))
        .collect();

    let http = reqwest::Client::new();
    let token = Arc::new(token);
    let answered: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(a.concurrency));
    let mut rng = rand::rngs::SmallRng::seed_from_u64(12345);
    // New orders at `--rate`, retries on top.
    let requests_per_s = a.rate / (1.0 - a.retry_share);
    let interval = Duration::from_secs_f64(1.0 / requests_per_s);
    let window = Duration::from_secs_f64(a.seconds);
    let mut sends = tokio::task::JoinSet::new();
    let mut orders = 0usize;
    let mut lag = Duration::ZERO;
    let cpu_before = (server.cpu_ms(), support::cpu_ms("self"));
    let started = Instant::now();
    let started_at = tokio::time::Instant::now();
    for i in 0u32.. {
        let due = interval * i;
        if due >= window {
            break;
        }
        tokio::time::sleep_until(started_at + due).await;
        let permit = in_flight.clone().acquire_owned().await?;
        if started.elapsed() >= window {
            // The server did not keep up: what was due in the window and not sent is not sent.
            break;
        }
        lag = lag.max(started.elapsed().saturating_sub(due));
        // About one request in ten is a retry of a request already answered.
        let retry = rng.gen_bool(a.retry_share).then(|| {
            let done = answered.lock().unwrap_or_else(|e| e.into_inner());
            (!done.is_empty()).then(|| done[rng.gen_range(0..done.len())].clone())
        });
        let (http, url, token, answered) =
            (http.clone(), url.clone(), token.clone(), answered.clone());
        match retry.flatten() {
            Some(earlier) => {
                sends.spawn(async move {
                    let t = Instant::now();
                    let r = post(&http, &url, &token, &earlier.key, earlier.body.to_vec()).await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    drop(permit);
                    let mut o = Outcome {
                        retry: true,
                        status: 0,
                        replayed: false,
                        same_answer: false,
                        ms,
                        order: None,
                        error: None,
                    };
                    match r {
                        Ok((status, replayed, text)) => {
                            o.status = status;
                            o.replayed = replayed;
                            o.same_answer = text == earlier.answer;
                            if status != 201 || !replayed || !o.same_answer {
                                o.error = Some(format!(
                                    "retry of {}: {status} replayed {replayed}: {text}",
                                    earlier.key
                                ));
                            }
                        }
                        Err(e) => o.error = Some(format!("retry of {}: {e}", earlier.key)),
                    }
                    o
                });
            }
            None => {
                let n = orders;
                orders += 1;
                let (number, body, village) = order(n);
                let key = format!("lg-{n:06}-{:08x}", rng.gen::<u32>());
                sends.spawn(async move {
                    let body = Arc::new(body);
                    let t = Instant::now();
                    let r = post(&http, &url, &token, &key, body.to_vec()).await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    drop(permit);
                    let mut o = Outcome {
                        retry: false,
                        status: 0,
                        replayed: false,
                        same_answer: true,
                        ms,
                        order: None,
                        error: None,
                    };
                    match r {
                        Ok((status, replayed, text)) => {
                            o.status = status;
                            o.replayed = replayed;
                            if status == 201 && !replayed {
                                answered
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .push(Sent {
                                        key,
                                        body,
                                        answer: text.clone(),
                                    });
                                o.order = Some((number, village, text));
                            } else {
                                o.error = Some(format!(
                                    "order {number}: {status} replayed {replayed}: {text}"
                                ));
                            }
                        }
                        Err(e) => o.error = Some(format!("order {number}: {e}")),
                    }
                    o
                });
            }
        }
    }
    let mut outcomes = Vec::new();
    while let Some(o) = sends.join_next().await {
        outcomes.push(o?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (
        server.cpu_ms() - cpu_before.0,
        support::cpu_ms("self") - cpu_before.1,
    );
    stop.store(true, Ordering::Relaxed);
    let mut runs = Vec::new();
    for t in phone_tasks {
        runs.push(t.await?);
    }

    // The platform's figures.
    let sent = outcomes.len();
    let new: Vec<&Outcome> = outcomes.iter().filter(|o| !o.retry).collect();
    let retries: Vec<&Outcome> = outcomes.iter().filter(|o| o.retry).collect();
    let accepted: Vec<&(String, &str, String)> =
        new.iter().filter_map(|o| o.order.as_ref()).collect();
    let replays_right = retries
        .iter()
        .filter(|o| o.status == 201 && o.replayed && o.same_answer)
        .count();
    let errors: Vec<&str> = outcomes.iter().filter_map(|o| o.error.as_deref()).collect();
    let all = sorted(outcomes.iter().map(|o| o.ms).collect());
    let new_ms = sorted(new.iter().map(|o| o.ms).collect());
    let retry_ms = sorted(retries.iter().map(|o| o.ms).collect());
    let accepted_rate = accepted.len() as f64 / elapsed;
    println!(
        "intake: {sent} requests in {elapsed:.2} s ({:.0} requests/s, target {:.0}/s: {:.0} new orders/s and the retries, {} in flight at most; the schedule fell behind by up to {:.0} ms): {} new orders, {} retries",
        sent as f64 / elapsed,
        requests_per_s,
        a.rate,
        a.concurrency,
        lag.as_secs_f64() * 1000.0,
        new.len(),
        retries.len()
    );
    println!(
        "    accepted: {} orders, {accepted_rate:.0} orders/s ({:.0} requests/s answered with the retries)   [goal ≥ 200 orders/s: {}]",
        accepted.len(),
        (accepted.len() + replays_right) as f64 / elapsed,
        if accepted_rate >= 200.0 { "met" } else { "NOT met" }
    );
    println!(
        "    POST latency: all p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; new orders p50 {:.1} ms, p99 {:.1} ms; {}",
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(0.0),
        percentile(&new_ms, 0.5),
        percentile(&new_ms, 0.99),
        if retry_ms.is_empty() {
            "no retries".to_owned()
        } else {
            format!(
                "retries p50 {:.1} ms, p99 {:.1} ms",
                percentile(&retry_ms, 0.5),
                percentile(&retry_ms, 0.99)
            )
        }
    );
    println!(
        "    replays: {replays_right} of {} retries answered 201, Idempotent-Replayed: true, the first answer's body   [goal: all]",
        retries.len()
    );
    println!(
        "    CPU while sending: the server {:.2} cores ({:.1} ms per accepted order, the phones' syncs included), this load generator {:.2} cores (the platform, the phones and their stores), of the machine's {}",
        cpu.0 / 1000.0 / elapsed,
        cpu.0 / accepted.len().max(1) as f64,
        cpu.1 / 1000.0 / elapsed,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if !errors.is_empty() {
        println!(
            "    {} requests answered otherwise, the first: {}",
            errors.len(),
            errors[0]
        );
    }

    // The phones' figures.
    let syncs = sorted(runs.iter().flat_map(|r| r.syncs.iter().copied()).collect());
    let failed: usize = runs.iter().map(|r| r.failed).sum();
    println!(
        "phones: {} phones reported {} cases; {} syncs completed ({:.1}/s), p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {failed} failed{}",
        a.devices,
        runs.iter().map(|r| r.reported).sum::<usize>(),
        syncs.len(),
        syncs.len() as f64 / elapsed,
        percentile(&syncs, 0.5),
        percentile(&syncs, 0.99),
        syncs.last().copied().unwrap_or(0.0),
        runs.iter()
            .find_map(|r| r.first_failure.as_deref())
            .map(|e| format!(" (the first: {e})"))
            .unwrap_or_default()
    );

    // The desk's next sync: every accepted order waiting to be signed for, in its village.
    let t = Instant::now();
    let p = staff.sync(&staff_store, |_| {}).await?;
    let desk_ms = t.elapsed().as_secs_f64() * 1000.0;
    let (to_sign_after, placed) = {
        let s = staff_store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let rows = s.list(&to_sign, now_ms())?;
        let by_number: HashMap<&str, &app_core::summary::CaseSummary> = rows
            .iter()
            .filter_map(|r| r.order.as_ref().map(|o| (o.number.as_str(), r)))
            .collect();
        let mut placed = 0usize;
        for (number, village, answer) in &accepted {
            let answer: IntakeAnswer = serde_json::from_str(answer)?;
            if by_number.get(number.as_str()).is_some_and(|r| {
                r.id == answer.case
                    && r.place_unit.as_str() == *village
                    && answer.centre.as_str() == "haiyan"
            }) {
                placed += 1;
            }
        }
        (s.count(&to_sign, now_ms())?, placed)
    };
    let server_orders: i64 = rusqlite::Connection::open_with_flags(
        &db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?
    .query_row(
        "SELECT COUNT(*) FROM intake_orders WHERE number LIKE 'TS12345-%'",
        [],
        |r| r.get(0),
    )?;
    let on_desk = to_sign_after - to_sign_before;
    println!(
        "desk: {STAFF}'s next sync took {desk_ms:.0} ms ({} documents, {} round trips); orders waiting to be signed: {to_sign_before} → {to_sign_after}, {on_desk} new for {} accepted ({server_orders} on the server); {placed} of them its case, in the village the address names   [goal: all, within its next sync]",
        p.received_docs,
        p.rounds,
        accepted.len()
    );
    println!(
        "    server peak memory (VmHWM): {:.1} MiB",
        server.peak_rss_kib() as f64 / 1024.0
    );
    drop(server);

    // The same work in process, alone: the time `intake::dispatch` takes per order, with no
    // HTTP, no queue and nothing else running; one order at a time is the most intake can take.
    let alone = dispatch_alone(&db_path, &token, orders, 200)?;
    println!(
        "in process, alone: intake::dispatch of a new order p50 {:.1} ms, p99 {:.1} ms (at most {:.0} orders/s one at a time); of a replay p50 {:.2} ms   [200 orders/s needs ≤ 5 ms]",
        percentile(&alone.orders, 0.5),
        percentile(&alone.orders, 0.99),
        1000.0 / percentile(&alone.orders, 0.5),
        percentile(&alone.replays, 0.5)
    );
    if let Some((cpu, queued, disk)) = alone.split {
        println!(
            "    a new order on average: {cpu:.1} ms on a core, {queued:.1} ms waiting for one, {disk:.1} ms waiting on neither (the disk: the commit's fsync)"
        );
    }

    let mut wrong = Vec::new();
    if on_desk != accepted.len() || placed != accepted.len() {
        wrong.push(format!(
            "{} accepted orders, {on_desk} on the desk to sign, {placed} placed as answered",
            accepted.len()
        ));
    }
    if server_orders != accepted.len() as i64 {
        wrong.push(format!(
            "{} accepted orders, {server_orders} on the server",
            accepted.len()
        ));
    }
    if replays_right != retries.len() {
        wrong.push(format!(
            "{} of {} retries not replayed as answered",
            retries.len() - replays_right,
            retries.len()
        ));
    }
    if accepted.len() != new.len() {
        wrong.push(format!(
            "{} of {} new orders not accepted",
            new.len() - accepted.len(),
            new.len()
        ));
    }
    if !wrong.is_empty() {
        bail!("intake went wrong: {}", wrong.join("; "));
    }
    Ok(())
}
