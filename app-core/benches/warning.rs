//! Early warning (风险预警): the default rules evaluated over a county-sized year of cases
//! (BENCHMARKS.md). Goal: all rules over 10,000 cases under 200 ms.
//!
//! The cases are generated, not played through the workflow (only their `WarnCase` summary
//! matters here): 30 villages in three townships, 15 categories, 2–3 parties per case drawn
//! from 40,000 people (a county's adults who could be a party) whose names repeat (20 surnames,
//! given names of one or two characters from 30 and 30), 150 of them in about ten disputes a
//! year; a party's ID number is recorded three times in four when the person has one, the phone
//! number two times in three, so that people are also found by phone and by name; reports
//! spread over a year; some cases linked in matters, some key persons, major cases and failed
//! mediations. Half the alerts of a first evaluation are then acknowledged.
//! `WARNING_BENCH_CASES` changes the number of cases.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use app_core::identity::NameKey;
use app_core::ids::{CaseId, MatterId, UnitId};
use app_core::model::{Difficulty, RiskFlag};
use app_core::warning::{evaluate, AlertAck, WarnCase, WarnParty, WarningRules, DAY_MS};
use criterion::{criterion_group, criterion_main, Criterion};

/// 2026-01-01 00:00 UTC.
const START: i64 = 1_767_225_600_000;
const NOW: i64 = START + 366 * DAY_MS;
const PEOPLE: usize = 40_000;
const FREQUENT: usize = 150;

const TOWNSHIPS: [(&str, [&str; 10]); 3] = [
    (
        "haiyan",
        [
            "wufeng",
            "shalan",
            "huafeng",
            "fengjiang",
            "nachen",
            "xinhe",
            "longtian",
            "shitou",
            "xihua",
            "dongan",
        ],
    ),
    (
        "duhu",
        [
            "shencun", "dagang", "nancun", "donglian", "liufu", "fuan", "gaotang", "longhe",
            "beiyang", "xialang",
        ],
    ),
    (
        "chixi",
        [
            "tianxin", "shuibu", "dongkeng", "xiaqiao", "jinhe", "fengle", "hongling", "shaxi",
            "qianfeng", "tangwei",
        ],
    ),
];

const CATEGORIES: [&str; 15] = [
    "marriage_family",
    "neighbour",
    "labour",
    "land_resources",
    "land_acquisition",
    "agriculture_fishery",
    "property_management",
    "consumer",
    "road_traffic",
    "medical",
    "economic_debt",
    "support_maintenance",
    "equipment_trade",
    "enterprise",
    "collective_benefit",
];

const SURNAMES: [&str; 20] = [
    "李", "黄", "陈", "张", "梁", "伍", "甄", "谭", "刘", "王", "吴", "林", "周", "何", "余", "朱",
    "邝", "赵", "马", "雷",
];
/// Given names are one of these, or one of the first followed by one of the second.
const GIVEN_FIRST: [&str; 30] = [
    "建", "秀", "德", "美", "志", "桂", "国", "小", "永", "少", "碧", "锦", "润", "海", "玉", "伯",
    "家", "丽", "振", "文", "月", "启", "金", "汉", "淑", "耀", "翠", "惠", "树", "瑞",
];
const GIVEN_SECOND: [&str; 30] = [
    "国", "英", "福", "兰", "强", "芳", "平", "红", "光", "芬", "霞", "华", "田", "生", "明", "邦",
    "珍", "辉", "娥", "凤", "林", "贞", "祖", "栋", "玲", "德", "胜", "珠", "荣", "好",
];

/// xorshift64*: the same cases on every run, without the demo generator's feature.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Person {
    name: String,
    id: Option<String>,
    phone: Option<String>,
    names: Vec<String>,
}

fn villages() -> Vec<UnitId> {
    TOWNSHIPS
        .iter()
        .flat_map(|(t, vs)| vs.iter().map(move |v| UnitId::new(format!("{t}-{v}"))))
        .collect()
}

fn people(rng: &mut Rng, villages: &[UnitId]) -> Vec<(Person, usize)> {
    (0..PEOPLE)
        .map(|i| {
            let surname = SURNAMES[rng.below(SURNAMES.len())];
            let first = GIVEN_FIRST[rng.below(GIVEN_FIRST.len())];
            let name = if rng.chance(15) {
                format!("{surname}{first}")
            } else {
                format!(
                    "{surname}{first}{}",
                    GIVEN_SECOND[rng.below(GIVEN_SECOND.len())]
                )
            };
            let village = rng.below(villages.len());
            let names = NameKey::of(&name)
                .map(|k| {
                    k.all_keys()
                        .into_iter()
                        .map(|k| format!("name:{}:{k}", villages[village]))
                        .collect()
                })
                .unwrap_or_default();
            let person = Person {
                id: rng
                    .chance(80)
                    .then(|| format!("4407811{:07}{:04}", 1_950_000 + i, i % 10_000)),
                phone: rng.chance(75).then(|| format!("138{:08}", i * 7 + 11)),
                name,
                names,
            };
            (person, village)
        })
        .collect()
}

fn cases(n: usize) -> Vec<WarnCase> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let villages = villages();
    let people = people(&mut rng, &villages);
    let mut matter: Option<(MatterId, usize)> = None;
    (0..n)
        .map(|i| {
            let category = CATEGORIES[rng.below(CATEGORIES.len())];
            let parties: Vec<WarnParty> = (0..2 + rng.below(2))
                .map(|_| {
                    let who = if rng.chance(6) {
                        rng.below(FREQUENT)
                    } else {
                        rng.below(PEOPLE)
                    };
                    let (person, _) = &people[who];
                    let mut keys = Vec::new();
                    if let Some(id) = person.id.as_ref().filter(|_| rng.chance(75)) {
                        keys.push(format!("id:{id}"));
                    }
                    if let Some(phone) = person.phone.as_ref().filter(|_| rng.chance(67)) {
                        keys.push(format!("phone:{phone}"));
                    }
                    keys.extend(person.names.iter().cloned());
                    WarnParty {
                        name: person.name.clone(),
                        keys,
                    }
                })
                .collect();
            let reported_at = START + (rng.next() % (365 * DAY_MS as u64)) as i64;
            let difficulty = match rng.below(100) {
                0..=69 => Difficulty::Simple,
                70..=89 => Difficulty::General,
                90..=97 => Difficulty::Major,
                _ => Difficulty::ExtraMajor,
            };
            let days = if difficulty == Difficulty::Simple {
                3
            } else {
                7
            };
            let mut risks = BTreeSet::new();
            if rng.chance(2) {
                risks.insert(RiskFlag::KeyPerson);
            }
            let failures = match rng.below(100) {
                0..=91 => 0,
                92..=96 => 1,
                97..=98 => 2,
                _ => 3,
            };
            // 3% of cases in matters of up to four cases.
            let in_matter = match matter.take() {
                Some((m, left)) => {
                    if left > 1 {
                        matter = Some((m.clone(), left - 1));
                    }
                    Some(m)
                }
                None if rng.chance(1) => {
                    let m = MatterId::new(format!("matter-{i:05}"));
                    matter = Some((m.clone(), 1 + rng.below(3)));
                    Some(m)
                }
                None => None,
            };
            WarnCase {
                id: CaseId::new(format!("case-{i:05}")),
                title: format!("{}纠纷", category),
                category: category.to_owned(),
                village: Some(villages[rng.below(villages.len())].clone()),
                reported_at,
                due_at: reported_at + days * DAY_MS,
                handled_at: (rng.chance(85) && reported_at + 2 * DAY_MS < NOW)
                    .then(|| reported_at + (1 + rng.below(6) as i64) * DAY_MS),
                difficulty: Some(difficulty),
                risks,
                failures,
                parties,
                matter: in_matter,
                acknowledged: Vec::new(),
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let n = std::env::var("WARNING_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rules = WarningRules::default_rules();
    let mut cases = cases(n);

    // Acknowledge every other alert, in its first case.
    let alerts = evaluate(&rules, &cases, NOW);
    let index: std::collections::HashMap<CaseId, usize> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    for alert in alerts.iter().step_by(2) {
        let first = index[&alert.cases[0]];
        cases[first].acknowledged.push(AlertAck {
            key: alert.key.clone(),
            by: "周国平".to_owned(),
            at: alert.raised_at + DAY_MS,
            note: "已签收".to_owned(),
        });
    }
    let started = Instant::now();
    let alerts = evaluate(&rules, &cases, NOW);
    let once = started.elapsed();
    let parties: usize = cases.iter().map(|c| c.parties.len()).sum();
    println!(
        "{n} cases, {parties} parties: {} alerts ({} acknowledged), one evaluation {:.1} ms",
        alerts.len(),
        alerts.iter().filter(|a| a.acknowledged.is_some()).count(),
        once.as_secs_f64() * 1000.0
    );
    // Each rule alone: its alerts, and the median of five evaluations with it only.
    for rule in &rules.rules {
        let of_rule: Vec<_> = alerts.iter().filter(|a| a.rule == rule.id).collect();
        let alone = WarningRules {
            rules: vec![rule.clone()],
        };
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(evaluate(&alone, &cases, NOW));
                started.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "  {:<16} {:>5} alerts, the largest of {:>3} cases; alone {:>5.1} ms",
            rule.id,
            of_rule.len(),
            of_rule.iter().map(|a| a.cases.len()).max().unwrap_or(0),
            times[2].as_secs_f64() * 1000.0
        );
    }

    let mut group = c.benchmark_group("warning");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(format!("default rules, {n} cases"), |b| {
        b.iter(|| evaluate(&rules, &cases, NOW))
    });
    group.finish();
}

criterion_group!(warning, benches);
criterion_main!(warning);
