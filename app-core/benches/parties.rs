//! The duplicate check of one new report (识别同一当事人) against a desk's caseload: 100,000
//! parties of 45,000 cases in a real SQLite file (BENCHMARKS.md). Goal: under 50 ms.
//!
//! ```text
//! cargo bench -p app-core --bench parties
//! ```
//!
//! The caseload is a county's: six townships of thirteen villages (78 villages, ~1,280 parties
//! each, far more than a real village gives in years, so that names collide more often than
//! they would). Parties have realistic names (surnames by frequency, the polyphonic 单 曾 区 解
//! 仇 among them; one- or two-character given names), 70% a mobile number, 40% a resident ID
//! number with its check character; one party in ten is someone of the village who is a party
//! of other cases too. The index and the summary rows are written directly, in one
//! transaction, with the same keys the store writes ([`PartyIdentity::keys`]): generating
//! 45,000 case documents would take minutes and test nothing more. One case goes through the
//! real write path ([`Store::create_case`]) and gives the summary the others copy.
//!
//! Measured: [`Store::party_matches_for_new`] for a report with two parties, one of them a
//! known person whose phone is typed another way (`+86 1xx-xxxx-xxxx`), the other a common
//! name; and [`Store::party_matches`] for a case of the caseload whose three parties are known
//! people.

use app_core::identity::{PartyIdentity, Phone, ResidentId};
use app_core::ids::{CaseId, UnitId};
use app_core::model::{Actor, NewCase, NewParty, PartyRole, Source};
use app_core::org::{Directory, Person, Role, Tier, Unit};
use app_core::store::Store;
use criterion::{criterion_group, criterion_main, Criterion};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const PARTIES: usize = 100_000;
const CASES: usize = 45_000;
const TOWNSHIPS: usize = 6;
const VILLAGES_PER_TOWNSHIP: usize = 13;
/// People of each village who are parties of several cases.
const KNOWN_PER_VILLAGE: usize = 40;
/// The case whose parties are all known people (the others draw one in ten); it has three.
const KNOWN_CASE: usize = 4_242;
const DAY: i64 = 86_400_000;
const NOW: i64 = 1_790_784_000_000;

/// Surnames by (rough) frequency, with the polyphonic ones a store must read by the surname rules.
const SURNAMES: &[(&str, u32)] = &[
    ("王", 72),
    ("李", 72),
    ("张", 68),
    ("刘", 55),
    ("陈", 45),
    ("杨", 31),
    ("黄", 25),
    ("赵", 22),
    ("吴", 20),
    ("周", 19),
    ("徐", 14),
    ("孙", 13),
    ("马", 12),
    ("朱", 11),
    ("胡", 11),
    ("郭", 10),
    ("何", 9),
    ("林", 9),
    ("罗", 8),
    ("高", 8),
    ("郑", 7),
    ("梁", 7),
    ("谢", 6),
    ("宋", 5),
    ("唐", 5),
    ("许", 5),
    ("邓", 4),
    ("冯", 4),
    ("曾", 4),
    ("伍", 3),
    ("谭", 3),
    ("梅", 2),
    ("单", 1),
    ("区", 1),
    ("解", 1),
    ("仇", 1),
    ("欧阳", 1),
    ("司徒", 1),
];

const GIVEN: &[&str] = &[
    "伟", "强", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞", "斌", "波",
    "志", "国", "建", "文", "海", "永", "德", "庆", "荣", "金", "水", "生", "福", "发", "宝", "林",
    "芳", "娟", "敏", "静", "丽", "艳", "霞", "英", "秀", "玲", "桂", "兰", "红", "梅", "燕", "萍",
    "春", "晓", "雪", "玉", "凤", "翠", "云", "莲", "珍", "美", "惠", "婷", "佳", "欣", "嘉", "彩",
];

const CATEGORIES: &[&str] = &[
    "neighbour",
    "marriage_family",
    "land_resources",
    "labour",
    "economic_debt",
    "road_traffic",
    "property_management",
    "support_maintenance",
];

const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "135", "136", "137", "138", "139", "150", "152", "158", "159", "177", "186",
    "188", "189", "199",
];

/// A small deterministic generator (SplitMix64): the same caseload every run.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn name(&mut self) -> String {
        let total: u32 = SURNAMES.iter().map(|(_, w)| w).sum();
        let mut at = (self.next() % u64::from(total)) as u32;
        let surname = SURNAMES
            .iter()
            .find(|(_, w)| {
                if at < *w {
                    true
                } else {
                    at -= w;
                    false
                }
            })
            .map_or("王", |(s, _)| s);
        let given: String = (0..1 + usize::from(self.chance(70)))
            .map(|_| self.pick(GIVEN))
            .collect();
        format!("{surname}{given}")
    }

    fn phone(&mut self) -> String {
        format!(
            "{}{:08}",
            self.pick(PHONE_PREFIXES),
            self.next() % 100_000_000
        )
    }

    /// A valid resident ID number of someone born 1940–2005 in 台山 (440781).
    fn resident_id(&mut self) -> String {
        let year = 1940 + self.below(66);
        let month = 1 + self.below(12);
        let day = 1 + self.below(28);
        let body = format!("440781{year}{month:02}{day:02}{:03}", self.below(1000));
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body
            .bytes()
            .zip(weights)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
        format!("{body}{check}")
    }
}

/// A party as generated: name, phone and ID number as a report carries them.
#[derive(Clone)]
struct Someone {
    name: String,
    phone: Option<String>,
    id_number: Option<String>,
}

/// A unit as an administrator imports one (its other fields take their defaults).
fn unit(id: String, name: String, tier: Tier, parent: Option<&str>) -> Unit {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "name": name,
        "tier": tier,
        "parent": parent,
        "centre": matches!(tier, Tier::County | Tier::Township),
    }))
    .expect("a unit")
}

/// A county of six townships of thirteen villages, each village one grid with its worker.
fn directory() -> Directory {
    let mut units = vec![unit("c".into(), "台山市".into(), Tier::County, None)];
    let mut people = Vec::new();
    for t in 0..TOWNSHIPS {
        let township = format!("t{t}");
        units.push(unit(
            township.clone(),
            format!("第{t}镇"),
            Tier::Township,
            Some("c"),
        ));
        for v in 0..VILLAGES_PER_TOWNSHIP {
            let village = format!("t{t}v{v}");
            let grid = format!("{village}g");
            units.push(unit(
                village.clone(),
                format!("第{t}镇第{v}村"),
                Tier::Village,
                Some(&township),
            ));
            units.push(unit(
                grid.clone(),
                format!("第{t}镇第{v}村网格"),
                Tier::Grid,
                Some(&village),
            ));
            people.push(Person {
                id: format!("gw-{grid}").as_str().into(),
                name: format!("网格员{t}{v}"),
                unit: grid.as_str().into(),
                roles: [Role::GridWorker].into(),
                specialties: BTreeSet::new(),
                phone: None,
            });
        }
    }
    Directory::new(units, people).expect("the bench directory is a tree")
}

fn report(grid: &str, category: &str, parties: &[Someone]) -> NewCase {
    NewCase {
        title: "宅基地边界纠纷".to_owned(),
        category: category.to_owned(),
        narrative: "两户因宅基地界址发生争执，一方砌墙占用通道。".to_owned(),
        place_unit: grid.into(),
        address: "三巷12号".to_owned(),
        gps: None,
        parties: parties
            .iter()
            .enumerate()
            .map(|(i, p)| NewParty {
                name: p.name.clone(),
                role: if i == 0 {
                    PartyRole::Applicant
                } else {
                    PartyRole::Respondent
                },
                phone: p.phone.clone(),
                id_number: p.id_number.clone(),
            })
            .collect(),
        source: Source::GridVisit,
    }
}

struct Caseload {
    _dir: tempfile::TempDir,
    store: Store,
    /// The new report to check.
    new: NewCase,
    /// A case of the caseload whose parties are all known people of its village.
    known_case: CaseId,
}

fn caseload() -> Caseload {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut store = Store::open(dir.path().join("desk.sqlite3")).expect("store");
    let d = directory();
    store.set_directory(d.clone()).expect("directory");
    let villages: Vec<String> = d
        .units()
        .filter(|u| u.tier == Tier::Village)
        .map(|u| u.id.to_string())
        .collect();
    let mut draw = Draw(20_261_201);
    let mut known: Vec<Vec<Someone>> = villages
        .iter()
        .map(|_| {
            (0..KNOWN_PER_VILLAGE)
                .map(|_| Someone {
                    name: draw.name(),
                    phone: Some(draw.phone()),
                    id_number: draw.resident_id().into(),
                })
                .collect()
        })
        .collect();
    for people in &mut known {
        for p in people.iter_mut() {
            if draw.chance(50) {
                p.id_number = None;
            }
        }
    }

    // One case through the real write path: its summary is the one the others copy.
    let first_grid = format!("{}g", villages[0]);
    let worker = d
        .person(&format!("gw-{first_grid}").as_str().into())
        .expect("grid worker");
    let actor = Actor {
        person: worker.id.clone(),
        name: worker.name.clone(),
        role: Role::GridWorker,
        unit: worker.unit.clone(),
    };
    let real = store
        .create_case(
            &actor,
            &report(&first_grid, "neighbour", &known[0][..2]),
            NOW - 400 * DAY,
        )
        .expect("a real case");
    let template = store.summary(&real).expect("its summary");

    let mut parties_written = 2usize;
    let mut keys_written = 0usize;
    let per_case_extra = PARTIES - 2 - 2 * (CASES - 1);
    store
        .write(|tx| -> rusqlite::Result<()> {
            let mut case_row = tx.prepare(
                "INSERT INTO cases(id, status, category, responsible_unit, reported_at, due_at,
                                   due_soon_at, handled, conflicts, party_names, summary)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10)",
            )?;
            let mut party_row = tx.prepare(
                "INSERT INTO case_parties(case_id, party_id, name, village, resident_id, phone)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut key_row = tx.prepare(
                "INSERT INTO party_keys(key, case_id, party_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?;
            for i in 1..CASES {
                let v = draw.below(villages.len());
                let village = &villages[v];
                // 2 parties, and a third for as many cases as make 100,000 in all.
                let n = 2 + usize::from(i <= per_case_extra);
                let parties: Vec<Someone> = (0..n)
                    .map(|_| {
                        if i == KNOWN_CASE || draw.chance(10) {
                            known[v][draw.below(KNOWN_PER_VILLAGE)].clone()
                        } else {
                            Someone {
                                name: draw.name(),
                                phone: draw.chance(70).then(|| draw.phone()),
                                id_number: draw.chance(40).then(|| draw.resident_id()),
                            }
                        }
                    })
                    .collect();
                let case = CaseId::new(format!("case-{i:06}"));
                let reported_at = NOW - (draw.below(3 * 365) as i64) * DAY;
                let category = draw.pick(CATEGORIES);
                let mut summary = template.clone();
                summary.id = case.clone();
                summary.title = format!("{}与{}纠纷", parties[0].name, parties[1].name);
                summary.category = category.to_owned();
                summary.reported_at = reported_at;
                summary.place_unit = UnitId::new(format!("{village}g"));
                summary.party_names = parties.iter().map(|p| p.name.clone()).collect();
                case_row.execute(rusqlite::params![
                    case.as_str(),
                    summary.status.code(),
                    category,
                    summary.responsible_unit.as_str(),
                    reported_at,
                    reported_at + 7 * DAY,
                    reported_at + 6 * DAY,
                    reported_at < NOW - 30 * DAY,
                    summary.party_names.join("\u{1f}"),
                    serde_json::to_string(&summary).expect("summary"),
                ])?;
                for (j, p) in parties.iter().enumerate() {
                    let party = format!("p{j}");
                    let id = p
                        .id_number
                        .as_deref()
                        .and_then(|t| ResidentId::parse(t).ok());
                    let phone = p.phone.as_deref().and_then(|t| Phone::parse(t).ok());
                    party_row.execute(rusqlite::params![
                        case.as_str(),
                        party,
                        p.name,
                        village,
                        id.as_ref().map(ResidentId::as_str),
                        phone.as_ref().map(Phone::as_str),
                    ])?;
                    let identity = PartyIdentity {
                        name: &p.name,
                        village,
                        resident_id: id.as_ref(),
                        phone: phone.as_ref(),
                    };
                    for key in identity.keys() {
                        key_row.execute(rusqlite::params![key, case.as_str(), party])?;
                        keys_written += 1;
                    }
                    parties_written += 1;
                }
            }
            Ok(())
        })
        .expect("the caseload");
    store.checkpoint().expect("checkpoint");
    assert_eq!(parties_written, PARTIES);

    // The new report: a known person of a village (the phone typed another way), and a common
    // name of the same village.
    let v = 17;
    let mut known_person = known[v][3].clone();
    let phone = known_person
        .phone
        .take()
        .expect("a known person has a phone");
    known_person.phone = Some(format!(
        "+86 {}-{}-{}",
        &phone[..3],
        &phone[3..7],
        &phone[7..]
    ));
    let other = Someone {
        name: "王伟".to_owned(),
        phone: None,
        id_number: None,
    };
    let new = report(
        &format!("{}g", villages[v]),
        "neighbour",
        &[known_person, other],
    );
    let known_case = CaseId::new(format!("case-{KNOWN_CASE:06}"));
    println!(
        "caseload: {CASES} cases, {parties_written} parties, {keys_written} keys, {} villages, \
         built in {:.1} s",
        villages.len(),
        started.elapsed().as_secs_f64()
    );
    Caseload {
        _dir: dir,
        store,
        new,
        known_case,
    }
}

fn benches(c: &mut Criterion) {
    let load = caseload();
    let matches = load
        .store
        .party_matches_for_new(&load.new)
        .expect("matches");
    let duplicates = matches
        .iter()
        .filter(|m| m.is_possible_duplicate(&load.new.category, NOW))
        .count();
    println!(
        "the new report's parties ({}) match {} cases ({} possible duplicates); strongest: {:?}",
        load.new
            .parties
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join("、"),
        matches.len(),
        duplicates,
        matches.first().map(|m| (m.how, &m.theirs))
    );
    assert!(!matches.is_empty(), "the known person is found");
    let mut group = c.benchmark_group("parties");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("party_matches_for_new_100k", |b| {
        b.iter(|| {
            load.store
                .party_matches_for_new(&load.new)
                .expect("matches")
        })
    });
    // A case already in the store, its three parties known people of its village.
    let case = &load.known_case;
    println!(
        "case {case}: {} other cases share a party",
        load.store.party_matches(case).expect("matches").len()
    );
    group.bench_function("party_matches_of_a_case_100k", |b| {
        b.iter(|| load.store.party_matches(case).expect("matches"))
    });
    group.finish();
}

criterion_group!(parties, benches);
criterion_main!(parties);
