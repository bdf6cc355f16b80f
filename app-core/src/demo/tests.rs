use super::random::id_check_char;
use super::*;
use crate::deadline::DueState;
use crate::document::VisitOutcome;
use crate::ids::UnitId;
use crate::taxonomy::CategoryCode;
use crate::workflow::{Status, Verdict};
use std::collections::BTreeMap;

fn summary(g: &mut Generator, n: usize) -> Vec<(String, Status, Vec<&'static str>, Vec<i64>)> {
    (0..n)
        .map(|_| {
            let case = g.case(DEMO_NOW_MS).expect("a demo case");
            let doc = case.doc.read().expect("readable");
            let timeline = case.doc.timeline().expect("a timeline");
            (
                doc.title.as_str().to_owned(),
                case.doc.state().expect("folds").expect("reported").status,
                timeline.iter().map(|e| e.action.code()).collect(),
                timeline.iter().map(|e| e.at).collect(),
            )
        })
        .collect()
}

#[test]
fn directory_is_the_county_tree() {
    let g = Generator::new(1);
    let d = g.directory();
    assert_eq!(d.unit(&g.county()).unwrap().name, "台山市");
    assert_eq!(d.unit(&g.township()).unwrap().name, "海宴镇");
    assert_eq!(g.villages(&g.township()).len(), 5);
    assert_eq!(g.grids(None).len(), 30);
    assert_eq!(g.grids(Some(&g.township())).len(), 15);
    let grid = UnitId::from("haiyan-wufeng-g1");
    assert_eq!(d.unit(&grid).unwrap().name, "五丰村第一网格");
    assert_eq!(
        d.path(&grid),
        ["taishan", "haiyan", "haiyan-wufeng", "haiyan-wufeng-g1"].map(UnitId::from)
    );
    assert!(g.grid_worker_of(&grid).is_some());
    assert_eq!(g.staff_of(&g.township()).len(), 3);
    assert_eq!(g.mediators_of(&g.township()).len(), 4);
    assert_eq!(g.staff_of(&g.county()).len(), 2);
    assert_eq!(g.mediators_of(&g.county()).len(), 2);
    assert!(g.leader_of(&g.county()).is_some());
    // Grid workers, each township's eight, the county's five, and the city's 12345 platform.
    assert_eq!(d.people().count(), 30 + 2 * 8 + 5 + 1);
    assert!(d
        .person(&super::HOTLINE_ID.into())
        .is_some_and(|p| p.roles.contains(&crate::org::Role::Intake)));
    for p in d.people() {
        for s in &p.specialties {
            assert!(g.taxonomy().contains(s), "{s}");
        }
    }
    // Mediators are found by specialty.
    let found = d.mediators_for(&g.township(), Some(&"labour".into()));
    assert!(found[0].specialties.contains(&"labour".into()));
}

#[test]
fn generation_is_deterministic_for_a_seed() {
    let a = summary(&mut Generator::new(7), 30);
    let b = summary(&mut Generator::new(7), 30);
    assert_eq!(a, b);
    let c = summary(&mut Generator::new(8), 30);
    assert_ne!(a, c);
    let names =
        |g: &Generator| -> Vec<String> { g.directory().people().map(|p| p.name.clone()).collect() };
    assert_eq!(names(&Generator::new(7)), names(&Generator::new(7)));
}

/// The fast reader (automerge's one-pass hydrate, then serde) and autosurgeon's key-by-key
/// reader give the same case, now and at every earlier point of its history.
#[test]
fn read_matches_autosurgeon() {
    let mut g = Generator::new(11);
    for _ in 0..60 {
        let mut case = g.case(DEMO_NOW_MS).unwrap();
        assert_eq!(case.doc.read().unwrap(), case.doc.read_slowly().unwrap());
        let hashes: Vec<_> = case
            .doc
            .automerge()
            .get_changes(&[])
            .iter()
            .map(|c| c.hash())
            .collect();
        for h in hashes.iter().skip(1) {
            let mut past = case.doc.automerge().fork_at(&[*h]).unwrap();
            let slow: crate::model::CaseDocument = autosurgeon::hydrate(&past).unwrap();
            let fast = case.doc.read_at(&[*h]).unwrap();
            assert_eq!(fast, slow);
            let _ = past.get_heads();
        }
    }
}

#[test]
fn every_case_folds_cleanly_and_looks_real() {
    let mut g = Generator::new(42);
    let (mut orders, mut signed, mut replied) = (0, 0, 0);
    for _ in 0..150 {
        let case = g.case(DEMO_NOW_MS).unwrap();
        // A hotline call is reported by the platform, which dispatches its work order; the
        // township signs for it and, once it is settled there, replies.
        if let Some(order) = case.doc.state().unwrap().and_then(|s| s.order) {
            orders += 1;
            signed += usize::from(order.signed_at.is_some());
            replied += usize::from(order.reply.is_some());
            assert!(
                order.order.number.starts_with("TS2025"),
                "{}",
                order.order.number
            );
            assert!(order.order.sign_by < order.order.reply_by);
        }
        let timeline = case.doc.timeline().unwrap();
        assert!(matches!(
            timeline[0].action,
            crate::model::Action::Report { .. }
        ));
        let folded = case.doc.fold().unwrap();
        assert!(folded.verdicts.iter().all(|v| *v == Verdict::Applied));
        let state = folded.state.expect("reported");
        assert!(state.conflicts.is_empty(), "{:?}", state.conflicts);
        assert!(timeline.windows(2).all(|w| w[0].at < w[1].at));
        assert!(timeline.iter().all(|e| e.at <= DEMO_NOW_MS));
        assert!(state.reported_at >= DEMO_NOW_MS - WINDOW_DAYS * DAY - DAY);

        let doc = case.doc.read().unwrap();
        let chars = doc.narrative.as_str().chars().count();
        assert!(
            (80..=260).contains(&chars),
            "{chars}: {}",
            doc.narrative.as_str()
        );
        assert!(g.taxonomy().contains(&CategoryCode(doc.category.clone())));
        assert_eq!(doc.parties.len(), 2);
        for p in &doc.parties {
            let contact = &case.contacts.parties[p.id.as_str()];
            let phone = contact.phone.as_deref().unwrap();
            assert!(phone.len() == 11 && phone.starts_with('1'), "{phone}");
            let id = contact.id_number.as_deref().unwrap();
            assert_eq!(id.len(), 18);
            assert!(id.starts_with(ID_AREA));
            assert_eq!(id.chars().last(), Some(id_check_char(&id[..17])));
        }
        assert!(doc.place.address.as_str().starts_with("台山市"));
        assert_eq!(doc.place.unit_path.len(), 4);
    }
    assert!(
        orders >= 5 && signed >= orders / 2 && replied > 0,
        "{orders} orders, {signed} signed, {replied} replied"
    );
}

#[test]
fn status_mix_timelines_and_sizes() {
    let mut g = Generator::new(2025);
    let policy = g.directory().policy(&g.township());
    let n = 200;
    let mut status: BTreeMap<Status, usize> = BTreeMap::new();
    let mut categories: BTreeMap<String, usize> = BTreeMap::new();
    let mut overdue = 0;
    let mut concluded = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..n {
        let mut case = g.case(DEMO_NOW_MS).unwrap();
        let state = case.doc.state().unwrap().unwrap();
        *status.entry(state.status).or_default() += 1;
        *categories
            .entry(case.doc.read().unwrap().category)
            .or_default() += 1;
        let due = state
            .due_override
            .unwrap_or_else(|| policy.due_at(state.clock_start, policy.days_for(state.difficulty)));
        if policy.state(due, state.status.is_handled(), DEMO_NOW_MS) == DueState::Overdue {
            overdue += 1;
        }
        if state.status == Status::Closed {
            concluded.push(case.doc.timeline().unwrap().len());
        }
        bytes.push(case.doc.save().len());
    }
    let avg_timeline = concluded.iter().sum::<usize>() as f64 / concluded.len() as f64;
    let avg_bytes = bytes.iter().sum::<usize>() as f64 / n as f64;
    println!("status: {status:?}");
    println!("categories: {categories:?}");
    println!(
        "overdue: {overdue}, concluded: {}, avg timeline of concluded: {avg_timeline:.1}",
        concluded.len()
    );
    println!(
        "saved bytes: avg {avg_bytes:.0}, max {}",
        bytes.iter().max().unwrap()
    );
    let open = n - status.get(&Status::Closed).copied().unwrap_or(0);
    assert!(open > 10 && concluded.len() > n / 2, "{status:?}");
    assert!(overdue > 0);
    assert!(
        (10.0..=14.0).contains(&avg_timeline),
        "avg timeline {avg_timeline}"
    );
    assert!(avg_bytes < 3_000.0, "avg saved bytes {avg_bytes}");
    assert!(categories["neighbour"] > categories["education"]);
}

#[test]
fn households_have_mostly_safe_visits() {
    let mut g = Generator::new(3);
    let grid = UnitId::from("duhu-dagang-g2");
    let mut safe = 0;
    let mut total = 0;
    for _ in 0..30 {
        let h = g.household(&grid, DEMO_NOW_MS).unwrap().read().unwrap();
        assert_eq!(h.grid, grid);
        assert!(h.address.as_str().contains("都斛镇大纲村"));
        assert!(h.visits.windows(2).all(|w| w[0].at < w[1].at));
        for v in &h.visits {
            assert!(v.at <= DEMO_NOW_MS);
            assert_eq!(v.actor.person.as_str(), "duhu-dagang-g2-gw");
            total += 1;
            safe += usize::from(v.outcome == VisitOutcome::AllSafe);
        }
    }
    assert!(total >= 60, "{total}");
    assert!(safe * 10 > total * 7 && safe < total, "{safe}/{total}");
    assert!(g.household(&"nowhere".into(), DEMO_NOW_MS).is_err());
}
