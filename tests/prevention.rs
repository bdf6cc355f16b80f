//! Prevention (化解在萌芽) against a real server: reports made apart that are one matter, repeat
//! parties, possible duplicates, and early-warning alerts, as the desk and the phones see them.

use app_core::identity::PartyMatch;
use app_core::ids::{CaseId, UnitId};
use app_core::model::{Action, NewCase, NewParty, PartyRole, Source};
use app_core::screens::{ActInput, AlertRow};
use app_core::session::Session;
use app_core::warning::Level;
use system_tests::{now_ms, Server};

const STAFF: &str = "haiyan-staff1";
const DAY: i64 = 86_400_000;

fn session(dir: &tempfile::TempDir, name: &str) -> anyhow::Result<Session> {
    Ok(Session::open(dir.path().join(format!("{name}.sqlite3")))?)
}

async fn enrolled(
    server: &Server,
    dir: &tempfile::TempDir,
    person: &str,
) -> anyhow::Result<Session> {
    let s = session(dir, person)?;
    s.enrol(&server.url(), &server.code_for(person)?, person)
        .await?;
    s.sync_now().await?;
    Ok(s)
}

/// The seeds' crop-insurance complaint as one village's farmers report it.
fn crop_insurance(grid: &str, farmer: &str, phone: &str) -> NewCase {
    NewCase {
        title: "水稻政策性保险理赔纠纷".to_owned(),
        category: "agriculture_fishery".to_owned(),
        narrative: "台风过后稻田受灾，村民认为保险公司定损偏低、理赔款迟迟未到，要求重新核定。"
            .to_owned(),
        place_unit: UnitId::new(grid),
        address: "村委会".to_owned(),
        gps: None,
        parties: vec![
            NewParty {
                name: farmer.to_owned(),
                role: PartyRole::Applicant,
                phone: Some(phone.to_owned()),
                id_number: None,
            },
            NewParty {
                name: "中国人民财产保险股份有限公司台山支公司".to_owned(),
                role: PartyRole::Respondent,
                phone: None,
                id_number: None,
            },
        ],
        source: Source::GridVisit,
    }
}

fn containing<'a>(rows: &'a [AlertRow], cases: &[CaseId]) -> Vec<&'a AlertRow> {
    rows.iter()
        .filter(|r| cases.iter().any(|c| r.alert.cases.contains(c)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crop_insurance_reported_from_four_villages_raises_one_group_alert_and_becomes_one_matter(
) -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 1)?;
    let dir = tempfile::tempdir()?;
    let villages = [
        ("wufeng", "黄永强", "13902270001"),
        ("shalan", "伍丽华", "13902270002"),
        ("huafeng", "陈国栋", "13902270003"),
        ("fengjiang", "李少芬", "13902270004"),
    ];
    let mut phones = Vec::new();
    for (v, _, _) in villages {
        phones.push(enrolled(&server, &dir, &format!("haiyan-{v}-g1-gw")).await?);
    }
    let desk = enrolled(&server, &dir, STAFF).await?;
    let now = now_ms();
    let before = desk.figures(now - 30 * DAY, now + DAY, now)?.report.total;

    // Four grid workers, offline, report it in four villages on one day.
    let mut cases = Vec::new();
    for (i, (phone, (v, farmer, tel))) in phones.iter().zip(villages).enumerate() {
        let report = crop_insurance(&format!("haiyan-{v}-g1"), farmer, tel);
        // Against the phone's own caseload: nothing like it there.
        assert!(phone.report_matches(&report, now)?.is_empty());
        cases.push(phone.report_case(&report, now - 10 * 60_000 + i as i64 * 60_000)?);
    }
    for phone in &phones {
        phone.sync_now().await?;
    }
    desk.sync_now().await?;

    // The township gets one group-risk alert naming the four.
    let screen = desk.alerts(now + 10 * 60_000)?;
    let ours = containing(&screen.open, &cases);
    assert_eq!(ours.len(), 1, "one alert for the four: {ours:#?}");
    let alert = ours[0].clone();
    assert_eq!(alert.alert.rule, "category-spread");
    assert_eq!(alert.alert.level, Level::Red);
    for c in &cases {
        assert!(alert.alert.cases.contains(c), "the alert names {c}");
    }
    assert!(
        alert.may_acknowledge,
        "the township's staff may acknowledge it"
    );
    // The server evaluates the same rules over the same cases: the same alert, by its key.
    let on_server = server.admin(&["alerts", "--unit", "haiyan"])?;
    assert!(on_server.contains(&alert.alert.key), "{on_server}");
    assert!(on_server.contains(&alert.alert.words), "{on_server}");
    let today = desk.today(now + 10 * 60_000)?;
    assert!(today.alerts.iter().any(|r| r.alert.key == alert.alert.key));
    assert_eq!(today.counts.alerts, screen.open.len());

    // Staff link the four as one matter.
    let matter = desk.link_cases(&cases, "同一批次水稻保险理赔，合并研判", now + 11 * 60_000)?;
    assert_eq!(matter.cases.len(), 4);
    let screen = desk.case(&cases[0], now + 11 * 60_000)?;
    assert_eq!(screen.matter.len(), 3, "the case shows the other three");
    assert_eq!(
        screen.state.as_ref().and_then(|s| s.matter.clone()),
        Some(matter.matter.clone())
    );
    // The alert is acknowledged with a note, in each case, and not raised again.
    let after = desk.acknowledge_alert(
        &alert.alert.key,
        "已联系县农业农村局和保险公司，下周联合调处",
        now + 12 * 60_000,
    )?;
    assert!(after.open.iter().all(|r| r.alert.key != alert.alert.key));
    let acked: Vec<_> = after
        .acknowledged
        .iter()
        .filter(|r| r.alert.key == alert.alert.key)
        .collect();
    assert_eq!(acked.len(), 1);
    let ack = acked[0].alert.acknowledged.clone().expect("acknowledged");
    assert_eq!(ack.note, "已联系县农业农村局和保险公司，下周联合调处");
    assert!(desk
        .acknowledge_alert(&alert.alert.key, "再次签收", now + 13 * 60_000)
        .is_err());
    // As one matter the four have eight parties (four farmers, and the insurer as written in
    // four villages): the matter's own group-incident alert, which names the four.
    let open = containing(&after.open, &cases);
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_eq!(open[0].alert.rule, "group-risk");
    assert!(cases.iter().all(|c| open[0].alert.cases.contains(c)));
    let again = desk.alerts(now + 14 * 60_000)?;
    assert_eq!(
        containing(&again.open, &cases)
            .iter()
            .map(|r| r.alert.key.clone())
            .collect::<Vec<_>>(),
        vec![open[0].alert.key.clone()],
        "nothing else is raised for the four"
    );

    // Figures count four cases and one matter, on the desk and on the server alike.
    let figures = desk
        .figures(now - 30 * DAY, now + DAY, now + DAY)?
        .report
        .total;
    assert_eq!(figures.received, before.received + 4);
    assert_eq!(figures.matters, before.matters + 1);
    assert_eq!(figures.linked, before.linked + 4);
    desk.sync_now().await?;
    let on_server =
        server
            .store()?
            .figures(&UnitId::new("haiyan"), now - 30 * DAY, now + DAY, now + DAY)?;
    assert_eq!(on_server.total, figures, "the server counts the same");
    // The township's ledger says which figures are cases and which matters.
    let ledger = server.admin(&["figures", "--unit", "haiyan", "--days", "30"])?;
    assert!(
        ledger.contains(&format!(
            "其中 {} 件关联为同一事项，合计 {} 个事项",
            figures.linked, figures.matters
        )),
        "{ledger}"
    );

    // The phones receive the link and the acknowledgement with their next sync.
    phones[0].sync_now().await?;
    let seen = phones[0].case(&cases[0], now + DAY)?;
    let state = seen.state.expect("state");
    assert_eq!(state.matter, Some(matter.matter));
    assert_eq!(state.alerts.len(), 1);
    assert_eq!(state.alerts[0].by, ack.by);
    Ok(())
}

/// A valid 18-character resident ID number for a body of 17 digits (GB 11643 check).
fn with_check(body: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", C[(sum % 11) as usize] as char)
}

fn walk_in(title: &str, name: &str, id_number: &str, phone: &str) -> NewCase {
    // Each dispute is with another neighbour.
    let neighbour = match title.chars().count() % 4 {
        0 => "梁桂英",
        1 => "伍建华",
        2 => "谭志明",
        _ => "关秀兰",
    };
    NewCase {
        title: title.to_owned(),
        category: "neighbour".to_owned(),
        narrative: "当事人到中心反映与邻居的宅基地边界及排水问题。".to_owned(),
        place_unit: UnitId::new("haiyan-nachen-g1"),
        address: "那陈村二巷".to_owned(),
        gps: None,
        parties: vec![
            NewParty {
                name: name.to_owned(),
                role: PartyRole::Applicant,
                phone: Some(phone.to_owned()),
                id_number: Some(id_number.to_owned()),
            },
            NewParty {
                name: neighbour.to_owned(),
                role: PartyRole::Respondent,
                phone: None,
                id_number: None,
            },
        ],
        source: Source::WalkIn,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_with_three_cases_in_ninety_days_raises_one_alert_once() -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 1)?;
    let dir = tempfile::tempdir()?;
    let desk = enrolled(&server, &dir, STAFF).await?;
    let now = now_ms();
    // 单雄信 (单 read shàn as a surname), once with his old 15-digit number, once with the
    // 18-character one, once with only his phone written another way.
    let id18 = with_check("44078119650304121");
    let id15 = format!("{}{}", &id18[..6], &id18[8..17]);
    let first = desk.report_case(
        &walk_in("宅基地边界纠纷", "单雄信", &id15, "13711112222"),
        now - 20 * DAY,
    )?;
    let second = desk.report_case(
        &walk_in("排水沟纠纷", "单雄信", &id18, "137-1111-2222"),
        now - 10 * DAY,
    )?;
    // The third report, before it is saved: the form finds both earlier cases.
    let third_report = walk_in("围墙纠纷", "单雄信", &id18, "+86 137 1111 2222");
    let found = desk.report_matches(&third_report, now)?;
    let found_ids: Vec<&CaseId> = found.iter().map(|m| &m.row.summary.id).collect();
    assert!(found_ids.contains(&&first) && found_ids.contains(&&second));
    assert!(found.iter().all(|m| m.how == PartyMatch::SameId));
    let third = desk.report_case(&third_report, now)?;

    let screen = desk.case(&third, now)?;
    assert_eq!(screen.earlier_cases, 2, "同一当事人既往纠纷 2 件");
    let ours = [first.clone(), second.clone(), third.clone()];
    let alerts = desk.alerts(now)?;
    let repeat: Vec<_> = containing(&alerts.open, &ours)
        .into_iter()
        .filter(|r| r.alert.rule == "repeat-party")
        .collect();
    assert_eq!(repeat.len(), 1, "one alert for the party: {repeat:#?}");
    let key = repeat[0].alert.key.clone();
    assert_eq!(repeat[0].alert.cases.len(), 3);
    // Evaluated again: the same alert, not a second one.
    let again = desk.alerts(now + 1000)?;
    assert_eq!(
        containing(&again.open, &ours)
            .iter()
            .filter(|r| r.alert.rule == "repeat-party")
            .map(|r| r.alert.key.clone())
            .collect::<Vec<_>>(),
        vec![key.clone()]
    );
    desk.acknowledge_alert(&key, "已约谈当事人，纳入重点关注", now + 2000)?;
    // A fourth case of the same man: the subject was acknowledged, no new alert is raised.
    let fourth = desk.report_case(
        &walk_in("鸡舍占道纠纷", "单雄信", &id18, "13711112222"),
        now + DAY,
    )?;
    let later = desk.alerts(now + DAY)?;
    let open_repeat: Vec<_> = containing(&later.open, std::slice::from_ref(&fourth))
        .into_iter()
        .filter(|r| r.alert.rule == "repeat-party")
        .collect();
    assert!(open_repeat.is_empty(), "raised once: {open_repeat:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_dispute_reported_twice_is_flagged_and_staff_decide() -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 1)?;
    let dir = tempfile::tempdir()?;
    let g1 = enrolled(&server, &dir, "haiyan-fengjiang-g1-gw").await?;
    let g2 = enrolled(&server, &dir, "haiyan-fengjiang-g2-gw").await?;
    let desk = enrolled(&server, &dir, STAFF).await?;
    let now = now_ms();
    // Two grid workers of one village hear of the same quarrel; one writes 曾 the other 增
    // (both zēng), and neither has the phone or the ID number.
    let mut a = crop_insurance("haiyan-fengjiang-g1", "曾广才", "13902271111");
    a.category = "neighbour".to_owned();
    a.title = "鱼塘排水纠纷".to_owned();
    a.parties[0].phone = None;
    let mut b = a.clone();
    b.place_unit = UnitId::new("haiyan-fengjiang-g2");
    b.parties[0].name = "增广才".to_owned();
    let first = g1.report_case(&a, now)?;
    let second = g2.report_case(&b, now + 60_000)?;
    g1.sync_now().await?;
    g2.sync_now().await?;
    desk.sync_now().await?;

    let screen = desk.case(&second, now + 120_000)?;
    let m = screen
        .matches
        .iter()
        .find(|m| m.row.summary.id == first)
        .expect("the first report is found");
    assert_eq!(m.how, PartyMatch::SameNameAndVillage);
    assert!(m.possible_duplicate, "可能重复上报");
    // Staff decide: a different matter. The decision is on the record; the flag is gone.
    desk.act(
        &ActInput {
            case: second.clone(),
            action: Action::MarkDistinct {
                other: first.clone(),
                note: "两次争执，时间地点不同".to_owned(),
            },
        },
        now + 180_000,
    )?;
    let screen = desk.case(&second, now + 200_000)?;
    let m = screen
        .matches
        .iter()
        .find(|m| m.row.summary.id == first)
        .expect("still listed as a repeat party");
    assert!(!m.possible_duplicate && m.distinct);
    // Nothing was merged: both cases stand.
    assert!(desk.case(&first, now + 200_000).is_ok());
    // A grid worker may not decide it.
    let refused = g1.act(
        &ActInput {
            case: first.clone(),
            action: Action::MarkDistinct {
                other: second.clone(),
                note: String::new(),
            },
        },
        now + 200_000,
    );
    assert!(refused.is_err(), "a grid worker may not mark distinct");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_rules_with_an_error_are_refused_by_line_and_the_rules_in_force_stay(
) -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 1)?;
    let dir = tempfile::tempdir()?;
    let desk = enrolled(&server, &dir, STAFF).await?;
    let defaults = desk.alerts(now_ms())?.rules;
    assert!(!defaults.is_empty(), "the built-in rules are in force");

    // The township sets its own: a party in two cases within thirty days is already a warning.
    let good = dir.path().join("rules.toml");
    std::fs::write(
        &good,
        "# 海宴镇风险预警规则\n\
         [[rule]]\n\
         id = \"repeat-party\"\n\
         kind = \"repeat_party\"\n\
         level = \"yellow\"\n\
         cases = 2\n\
         days = 30\n",
    )?;
    let out = server.admin(&[
        "warning-rules",
        "--unit",
        "haiyan",
        &good.display().to_string(),
    ])?;
    assert!(out.contains("1 warning rules in force for haiyan"), "{out}");
    desk.sync_now().await?;
    let rules = desk.alerts(now_ms())?.rules;
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert!(rules[0].contains("30"), "{rules:?}");

    // A file with an unknown level on its line 6 is refused, naming the line; nothing changes.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\n\
         id = \"failed\"\n\
         kind = \"failed_mediation\"\n\
         times = 2\n\
         \n\
         level = \"purple\"\n",
    )?;
    let err = server
        .admin(&[
            "warning-rules",
            "--unit",
            "haiyan",
            &bad.display().to_string(),
        ])
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 6"), "{err}");
    let in_force = server.admin(&["warning-rules", "--unit", "haiyan"])?;
    assert!(
        in_force.contains("repeat_party") && !in_force.contains("failed_mediation"),
        "{in_force}"
    );
    desk.sync_now().await?;
    assert_eq!(
        desk.alerts(now_ms())?.rules,
        rules,
        "the device keeps them too"
    );
    // A unit that is not in the directory is named.
    let err = server
        .admin(&[
            "warning-rules",
            "--unit",
            "nowhere",
            &good.display().to_string(),
        ])
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere"), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalated_cases_alerts_travel_up_and_show_at_the_county() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let county = crate::tier::start(dir.path(), "county", "taishan", None)?;
    let township = crate::tier::start(dir.path(), "township", "haiyan", Some(&county))?;
    let apps = tempfile::tempdir()?;
    let tstaff = enrolled(&township, &apps, "tstaff").await?;
    let cstaff = enrolled(&county, &apps, "cstaff").await?;
    let now = now_ms();
    // One man, three disputes in a month, at the township's window.
    let id18 = with_check("44078119720815203");
    let mut cases = Vec::new();
    for (i, title) in ["借款纠纷", "借款纠纷（二）", "担保纠纷"]
        .iter()
        .enumerate()
    {
        let mut report = walk_in(title, "区志强", &id18, "13922223333");
        report.place_unit = UnitId::new("haiyan-nacheng-g1");
        cases.push(tstaff.report_case(&report, now - (20 - 5 * i as i64) * DAY)?);
    }
    let alert = desk_alert(&tstaff, &cases, "repeat-party", now)?;
    // The township escalates the third: the open alert goes up with it.
    tstaff.act(
        &ActInput {
            case: cases[2].clone(),
            action: Action::Escalate {
                to: UnitId::new("taishan"),
                reason: app_core::model::EscalationReason::PartyDissatisfied,
                note: "当事人不服，要求县里处理".to_owned(),
            },
        },
        now,
    )?;
    let at_township = tstaff.alerts(now)?;
    assert!(containing(&at_township.open, &cases).is_empty());
    tstaff.sync_now().await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let shown = loop {
        cstaff.sync_now().await?;
        let screen = cstaff.alerts(now)?;
        if let Some(row) = screen
            .acknowledged
            .iter()
            .find(|r| r.alert.key == alert.alert.key)
        {
            break row.clone();
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the county never showed the alert"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(shown.alert.words, alert.alert.words);
    assert_eq!(
        shown.cases.len(),
        1,
        "the county holds only the escalated case"
    );
    assert_eq!(shown.cases[0].summary.id, cases[2]);
    let ack = shown.alert.acknowledged.expect("recorded");
    assert!(
        ack.note.contains("当事人不服，要求县里处理"),
        "{}",
        ack.note
    );
    // The other two never reached the county.
    assert!(cstaff.case(&cases[0], now).is_err());
    Ok(())
}

/// The one open alert of `rule` naming all of `cases` on the desk.
fn desk_alert(desk: &Session, cases: &[CaseId], rule: &str, now: i64) -> anyhow::Result<AlertRow> {
    let screen = desk.alerts(now)?;
    let found: Vec<&AlertRow> = containing(&screen.open, cases)
        .into_iter()
        .filter(|r| r.alert.rule == rule)
        .collect();
    anyhow::ensure!(found.len() == 1, "one {rule} alert: {found:#?}");
    for c in cases {
        anyhow::ensure!(found[0].alert.cases.contains(c), "the alert names {c}");
    }
    Ok(found[0].clone())
}
