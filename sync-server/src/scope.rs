//! Who may see which document.
//!
//! A document carries *scope keys*; a device holds *principals*; the device sees a document when
//! they share one. Keys are recorded with the sequence number at which the document gained them
//! and are never taken away, so a document that comes into a device's scope is sent whole once,
//! and a person who once worked on a case keeps what they did.
//!
//! Case keys:
//! - `u:<unit>` for every unit in the summary's `units`: the place's path from the centre that
//!   received the case down to the grid, and every centre the case has been with (escalated
//!   to, assigned down to). A county is therefore in the keys only when the case reached it.
//! - `p:<person>` for the reporter and every person assigned to the case.
//! - `c:<unit>` for a case assigned to a mediation committee.
//!
//! Principals of a person, by role:
//! - grid worker, household head: `u:<their grid>`, `p:<them>`;
//! - mediator: `p:<them>`, `c:<their unit>`;
//! - centre staff and leaders: `u:<their centre's unit>`, `p:<them>`;
//! - the principal of another system (系统对接: the 12345 platform, police linkage): `p:<them>`
//!   alone, the cases it reported, whatever unit it is registered in.
//!
//! Contacts documents share their case's keys. Households carry `u:` of their grid's path from
//! the township down.

use app_core::ids::{PersonId, UnitId};
use app_core::model::Assignee;
use app_core::org::{Directory, Role, Tier};
use app_core::summary::CaseSummary;
use app_core::workflow::Folded;
use std::collections::BTreeSet;

/// The scope keys of a case.
pub fn case_keys(summary: &CaseSummary, folded: &Folded) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = summary.units.iter().map(|u| format!("u:{u}")).collect();
    keys.insert(format!("p:{}", summary.reporter));
    for p in &summary.assignee_people {
        keys.insert(format!("p:{p}"));
    }
    if let Some(Assignee::Committee { unit, .. }) =
        folded.state.as_ref().and_then(|s| s.assignee.as_ref())
    {
        keys.insert(format!("c:{unit}"));
    }
    keys
}

/// The scope keys of a merged case (as the store prepared it: read and summarised).
pub fn received_case_keys(
    r: &app_core::store::Received,
) -> Result<BTreeSet<String>, crate::error::ApiError> {
    let summary = r
        .summary
        .as_ref()
        .ok_or_else(|| crate::error::ApiError::internal("a case without its summary"))?;
    let timeline = r
        .case
        .as_ref()
        .map(|c| c.timeline.as_slice())
        .unwrap_or(&[]);
    Ok(case_keys(summary, &app_core::workflow::fold(timeline)))
}

/// The scope keys of a household in `grid`: the grid's path from its township down.
pub fn household_keys(directory: &Directory, grid: &UnitId) -> BTreeSet<String> {
    let path = directory.ancestors_inclusive(grid);
    let mut keys = BTreeSet::new();
    for unit in path {
        keys.insert(format!("u:{}", unit.id));
        if unit.tier <= Tier::Township {
            break;
        }
    }
    keys.insert(format!("u:{grid}"));
    keys
}

/// A device's principals: its person's, or for a child server's credential `u:<its unit>`
/// (the parent sends it the cases of its area that the parent holds: those escalated from it and
/// those assigned down to it).
pub fn device_principals(directory: &Directory, device: &crate::db::Device) -> Vec<String> {
    match device.server_unit() {
        Some(unit) => vec![format!("u:{unit}")],
        None => principals(directory, &device.person),
    }
}

/// A person's principals.
pub fn principals(directory: &Directory, person: &PersonId) -> Vec<String> {
    let mut out = BTreeSet::new();
    out.insert(format!("p:{person}"));
    if let Some(p) = directory.person(person) {
        for role in &p.roles {
            match role {
                Role::GridWorker | Role::HouseholdHead => {
                    out.insert(format!("u:{}", p.unit));
                }
                Role::Mediator => {
                    out.insert(format!("c:{}", p.unit));
                }
                Role::CentreStaff | Role::CentreLeader => {
                    out.insert(format!("u:{}", p.unit));
                }
                // Another system (12345, police linkage): only the cases it reported (`p:`),
                // to dispatch their orders again; nothing of a unit.
                Role::Intake => {}
            }
        }
    }
    out.into_iter().collect()
}

/// Whether a set of keys admits any of the principals.
pub fn admits(keys: &BTreeSet<String>, principals: &[String]) -> bool {
    principals.iter().any(|p| keys.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app_core::org::{Person, Unit};

    #[test]
    fn another_system_sees_only_the_cases_it_reported() {
        let unit = |id: &str, tier, parent: Option<&str>| Unit {
            id: id.into(),
            name: id.to_owned(),
            tier,
            parent: parent.map(Into::into),
            centre: true,
            policy: None,
            escalate_skip_to: Vec::new(),
            warnings: None,
        };
        let person = |id: &str, unit: &str, role| Person {
            id: id.into(),
            name: id.to_owned(),
            unit: unit.into(),
            roles: [role].into_iter().collect(),
            specialties: BTreeSet::new(),
            phone: None,
        };
        let d = Directory::new(
            [
                unit("c", Tier::County, None),
                unit("t", Tier::Township, Some("c")),
            ],
            [
                person("hotline", "c", Role::Intake),
                person("s", "t", Role::CentreStaff),
            ],
        )
        .unwrap();
        assert_eq!(principals(&d, &"hotline".into()), ["p:hotline"]);
        assert_eq!(principals(&d, &"s".into()), ["p:s", "u:t"]);
    }
}
