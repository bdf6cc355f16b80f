//! Realistic demo data: a county with its townships, villages and grids, the people who work in
//! them, dispute cases played through the closed loop, and households with their door-to-door
//! visits. Used by the demo, the benchmarks and tests.
//!
//! Everything is deterministic from a seed: the same seed and the same `now` give the same
//! directory, the same case titles, narratives, parties, times and timelines (timeline entry ids
//! are still fresh UUIDs, as [`CaseDoc::act`](crate::document::CaseDoc::act) makes them). Case and household ids are UUID v7
//! built from the report time and the generator's random stream, and every device's automerge
//! actor id is derived from its device id ([`device_actor_id`]), so documents look like what real
//! phones and centre desktops write.
//!
//! The place is 台山市 (Guangdong), with two of its townships, 海宴镇 and 都斛镇, named in the
//! reports in `seeds/`; the village names are realistic for the area. The case mix follows the
//! reports: neighbour, marriage and family, land and labour disputes are the most common, and
//! 都斛镇 (an agricultural town) sees more land and farming disputes. Most cases are simple or
//! general, resolved in a session or two with a written agreement, followed up and concluded;
//! a few are stabilised, a few fail and go up to the county's joint-mediation centre, which
//! assigns them back down or handles them itself; recent cases are often still open, and a few
//! older ones are stuck and overdue.
//!
//! Times are UTC milliseconds; steps happen in working hours of China Standard Time.
//!
//! [`Generator`] is one seeded random stream and the directory it drew; its methods live by
//! concern: `texts` (the words: places, names, categories and their scenarios, visit notes),
//! `random` (seeded draws, and the ids derived from a device), `directory` (the county's units
//! and people, and the queries on them), `cases` (cases played through the real workflow) and
//! `households` (households and their visits).

use crate::document::{CaseDoc, ContactsDocument};
use crate::ids::UnitId;
use crate::org::Directory;
use crate::taxonomy::Taxonomy;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::collections::HashSet;

/// A fixed "now" for tests and benchmarks: 2025-06-30 18:00 China Standard Time.
pub const DEMO_NOW_MS: i64 = 1_751_277_600_000;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// China Standard Time, UTC+8.
const CST: i64 = 8 * HOUR;
/// How far back reports go.
const WINDOW_DAYS: i64 = 120;

/// 台山市's administrative division code, the first six digits of its residents' ID numbers.
const ID_AREA: &str = "440781";

/// Stops the lifecycle when a step would happen after `now` (or the case is stuck).
macro_rules! step {
    ($e:expr) => {
        match $e {
            Some(t) => t,
            None => return Ok(()),
        }
    };
}

mod cases;
mod directory;
mod households;
mod random;
#[cfg(test)]
mod tests;
mod texts;

pub use random::{demo_device, device_actor_id};
pub use texts::HOTLINE_ID;
use texts::{COUNTY_ID, TOWNSHIPS};

// --- The generator ---------------------------------------------------------------------------

/// Generates a realistic directory, cases and households from a seed.
#[derive(Debug)]
pub struct Generator {
    rng: SmallRng,
    directory: Directory,
    taxonomy: Taxonomy,
    county: UnitId,
    townships: Vec<UnitId>,
    /// Names already given, so that no two people in the directory share one.
    staff_names: HashSet<String>,
}

/// A generated case: its document and its contacts document (keyed by party id).
#[derive(Debug)]
pub struct GeneratedCase {
    pub doc: CaseDoc,
    pub contacts: ContactsDocument,
}

impl Generator {
    /// A generator with a fresh directory: 台山市 → 海宴镇, 都斛镇 → five villages each → three
    /// grids each, with a grid worker per grid, four mediators, three centre staff and a leader per
    /// township, and two staff, a leader and two mediators at the county.
    pub fn new(seed: u64) -> Generator {
        let mut g = Generator {
            rng: SmallRng::seed_from_u64(seed),
            directory: Directory::default(),
            taxonomy: Taxonomy::default(),
            county: UnitId::from(COUNTY_ID),
            townships: TOWNSHIPS.iter().map(|t| UnitId::from(t.id)).collect(),
            staff_names: HashSet::new(),
        };
        let (units, people) = g.build_directory();
        g.directory =
            Directory::new(units, people).expect("the demo directory is a well-formed tree");
        g
    }
}
