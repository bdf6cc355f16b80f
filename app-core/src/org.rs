//! The organisation: units of the tier tree and the people who work in them.
//!
//! Tiers are data, not code: a unit names its tier and its parent, and some units run a centre
//! (综治中心 or a mediation committee's office) that receives cases. A case reported in a grid is
//! received by the nearest unit above it that runs a centre; escalating goes to the next such unit
//! up the tree. Places that add a management district (管区) or a group (组) simply have more levels.
//! The directory is administered on the server and copied to devices; it is not a CRDT.

use crate::deadline::DeadlinePolicy;
use crate::ids::{PersonId, UnitId};
use crate::taxonomy::CategoryCode;
use crate::warning::WarningRules;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The kind of a unit in the tier tree, highest first.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    autosurgeon::Reconcile,
    autosurgeon::Hydrate,
)]
pub enum Tier {
    /// 省: province
    Province,
    /// 市: city (prefecture)
    City,
    /// 县/市: county or county-level city
    County,
    /// 镇/街道: township or street
    Township,
    /// 管区: management district between village and township
    District,
    /// 村/社区: village or community
    Village,
    /// 组: village group
    Group,
    /// 网格: grid
    Grid,
}

impl Tier {
    /// Stable code used in storage and on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Tier::Province => "province",
            Tier::City => "city",
            Tier::County => "county",
            Tier::Township => "township",
            Tier::District => "district",
            Tier::Village => "village",
            Tier::Group => "group",
            Tier::Grid => "grid",
        }
    }

    /// Parses a code written by [`Tier::code`].
    pub fn from_code(code: &str) -> Option<Tier> {
        Some(match code {
            "province" => Tier::Province,
            "city" => Tier::City,
            "county" => Tier::County,
            "township" => Tier::Township,
            "district" => Tier::District,
            "village" => Tier::Village,
            "group" => Tier::Group,
            "grid" => Tier::Grid,
            _ => return None,
        })
    }

    /// The Chinese name of the tier.
    pub fn zh(self) -> &'static str {
        match self {
            Tier::Province => "省",
            Tier::City => "市",
            Tier::County => "县",
            Tier::Township => "镇/街道",
            Tier::District => "管区",
            Tier::Village => "村/社区",
            Tier::Group => "组",
            Tier::Grid => "网格",
        }
    }
}

/// One unit of the tier tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub id: UnitId,
    /// The unit's name, e.g. 海宴镇.
    pub name: String,
    pub tier: Tier,
    pub parent: Option<UnitId>,
    /// Whether the unit runs a centre that receives and handles cases.
    pub centre: bool,
    /// Time limits for this unit's cases; `None` inherits the parent's, then the default.
    pub policy: Option<DeadlinePolicy>,
    /// Centres above the next one up that this centre may escalate to directly (skipping a
    /// tier), where the rules allow it; empty: escalation goes to the next centre up only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate_skip_to: Vec<UnitId>,
    /// Early-warning rules (风险预警规则) for this unit's cases; `None` inherits the parent's,
    /// then [`WarningRules::default_rules`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<WarningRules>,
}

/// What a person may do in the system. A person may hold several roles.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    autosurgeon::Reconcile,
    autosurgeon::Hydrate,
)]
pub enum Role {
    /// 网格员: walks a grid, reports disputes, mediates small ones on the spot.
    GridWorker,
    /// 联户长: heads about ten households; reports like a grid worker, with fewer rights.
    HouseholdHead,
    /// 人民调解员: mediates the cases assigned to them.
    Mediator,
    /// 综治中心工作人员: intake, assessment, routing, supervision, follow-up.
    CentreStaff,
    /// 综治中心主任/包案领导: everything staff do, and signs off major cases.
    CentreLeader,
    /// 系统对接: the principal of another system that hands cases to a centre (the city's 12345
    /// government hotline platform, police linkage 110 联动). It reports a case from that system
    /// (source [`crate::model::Source::Hotline12345`] or [`crate::model::Source::Police`]) and
    /// dispatches its work order ([`crate::model::Action::DispatchOrder`]); it takes no other
    /// step, is never an assignee, is not centre staff, and uses none of the app's screens.
    Intake,
}

impl Role {
    /// Stable code used in storage and on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Role::GridWorker => "grid_worker",
            Role::HouseholdHead => "household_head",
            Role::Mediator => "mediator",
            Role::CentreStaff => "centre_staff",
            Role::CentreLeader => "centre_leader",
            Role::Intake => "intake",
        }
    }

    /// Parses a code written by [`Role::code`].
    pub fn from_code(code: &str) -> Option<Role> {
        Some(match code {
            "grid_worker" => Role::GridWorker,
            "household_head" => Role::HouseholdHead,
            "mediator" => Role::Mediator,
            "centre_staff" => Role::CentreStaff,
            "centre_leader" => Role::CentreLeader,
            "intake" => Role::Intake,
            _ => return None,
        })
    }

    /// The Chinese name of the role.
    pub fn zh(self) -> &'static str {
        match self {
            Role::GridWorker => "网格员",
            Role::HouseholdHead => "联户长",
            Role::Mediator => "人民调解员",
            Role::CentreStaff => "综治中心工作人员",
            Role::CentreLeader => "综治中心主任",
            Role::Intake => "系统对接",
        }
    }

    /// Every role, in the enumeration's order.
    pub const ALL: [Role; 6] = [
        Role::GridWorker,
        Role::HouseholdHead,
        Role::Mediator,
        Role::CentreStaff,
        Role::CentreLeader,
        Role::Intake,
    ];

    /// Staff and leaders of a centre.
    pub fn is_centre(self) -> bool {
        matches!(self, Role::CentreStaff | Role::CentreLeader)
    }

    /// Those who work in the field (grid workers, household-group heads, mediators): they
    /// report from their unit and the unit just above it.
    pub fn is_field(self) -> bool {
        matches!(
            self,
            Role::GridWorker | Role::HouseholdHead | Role::Mediator
        )
    }

    /// The principal of another system ([`Role::Intake`]), not a person using the app.
    pub fn is_intake(self) -> bool {
        self == Role::Intake
    }
}

/// A person who uses the system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    /// The unit the person works in (a grid for a grid worker, a township for its centre staff).
    pub unit: UnitId,
    pub roles: BTreeSet<Role>,
    /// For mediators: the categories they are good at (点单式调解 roster).
    pub specialties: BTreeSet<CategoryCode>,
    /// Work phone, shown to colleagues.
    pub phone: Option<String>,
}

/// Why the directory refused a unit or a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("unit {0} is listed twice")]
    DuplicateUnit(UnitId),
    #[error("unit {unit} names parent {parent}, which is not in the directory")]
    UnknownParent { unit: UnitId, parent: UnitId },
    #[error("unit {0} is its own ancestor (the tier tree has a cycle)")]
    Cycle(UnitId),
    #[error("person {person} works in unit {unit}, which is not in the directory")]
    UnknownUnitForPerson { person: PersonId, unit: UnitId },
    #[error("person {0} is listed twice")]
    DuplicatePerson(PersonId),
}

/// Units and people, with the tree queries the workflow and scope rules need.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    units: BTreeMap<UnitId, Unit>,
    people: BTreeMap<PersonId, Person>,
}

impl Directory {
    /// Builds a directory, checking that every parent exists and the tree has no cycle.
    pub fn new(
        units: impl IntoIterator<Item = Unit>,
        people: impl IntoIterator<Item = Person>,
    ) -> Result<Directory, DirectoryError> {
        let mut map = BTreeMap::new();
        for unit in units {
            if map.contains_key(&unit.id) {
                return Err(DirectoryError::DuplicateUnit(unit.id));
            }
            map.insert(unit.id.clone(), unit);
        }
        for unit in map.values() {
            if let Some(parent) = &unit.parent {
                if !map.contains_key(parent) {
                    return Err(DirectoryError::UnknownParent {
                        unit: unit.id.clone(),
                        parent: parent.clone(),
                    });
                }
            }
            let mut seen = BTreeSet::new();
            let mut at = Some(&unit.id);
            while let Some(id) = at {
                if !seen.insert(id) {
                    return Err(DirectoryError::Cycle(unit.id.clone()));
                }
                at = map.get(id).and_then(|u| u.parent.as_ref());
            }
        }
        let mut people_map = BTreeMap::new();
        for person in people {
            if !map.contains_key(&person.unit) {
                return Err(DirectoryError::UnknownUnitForPerson {
                    person: person.id,
                    unit: person.unit,
                });
            }
            if people_map.contains_key(&person.id) {
                return Err(DirectoryError::DuplicatePerson(person.id));
            }
            people_map.insert(person.id.clone(), person);
        }
        Ok(Directory {
            units: map,
            people: people_map,
        })
    }

    pub fn unit(&self, id: &UnitId) -> Option<&Unit> {
        self.units.get(id)
    }

    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.people.get(id)
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.people.values()
    }

    /// The unit and its ancestors, nearest first.
    pub fn ancestors_inclusive(&self, id: &UnitId) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut at = self.units.get(id);
        while let Some(unit) = at {
            out.push(unit);
            at = unit.parent.as_ref().and_then(|p| self.units.get(p));
        }
        out
    }

    /// The path from the root down to the unit (county → township → village → grid).
    pub fn path(&self, id: &UnitId) -> Vec<UnitId> {
        let mut path: Vec<UnitId> = self
            .ancestors_inclusive(id)
            .into_iter()
            .map(|u| u.id.clone())
            .collect();
        path.reverse();
        path
    }

    /// Whether `ancestor` is `unit` or above it.
    pub fn is_within(&self, unit: &UnitId, ancestor: &UnitId) -> bool {
        self.ancestors_inclusive(unit)
            .iter()
            .any(|u| &u.id == ancestor)
    }

    /// The centre that receives a case reported in `unit`: the unit itself or the nearest
    /// ancestor that runs a centre.
    pub fn receiving_centre(&self, unit: &UnitId) -> Option<&Unit> {
        self.ancestors_inclusive(unit)
            .into_iter()
            .find(|u| u.centre)
    }

    /// The next centre above the centre `unit`: where an escalation goes.
    pub fn next_centre_up(&self, unit: &UnitId) -> Option<&Unit> {
        self.ancestors_inclusive(unit)
            .into_iter()
            .skip(1)
            .find(|u| u.centre)
    }

    /// The units directly below `unit`.
    pub fn children(&self, unit: &UnitId) -> Vec<&Unit> {
        self.units
            .values()
            .filter(|u| u.parent.as_ref() == Some(unit))
            .collect()
    }

    /// The village (村/社区) on a path of units (a case's place path), if it passes through one.
    pub fn village_on<'a>(&self, path: &'a [UnitId]) -> Option<&'a UnitId> {
        path.iter()
            .find(|u| self.unit(u).is_some_and(|unit| unit.tier == Tier::Village))
    }

    /// The early-warning rules in force for `unit`: its own, or the nearest ancestor's, or the
    /// built-in defaults.
    pub fn warning_rules(&self, unit: &UnitId) -> WarningRules {
        self.ancestors_inclusive(unit)
            .into_iter()
            .find_map(|u| u.warnings.clone())
            .unwrap_or_else(WarningRules::default_rules)
    }

    /// The deadline policy that applies to cases handled by `unit`: its own, or the nearest
    /// ancestor's, or the default.
    pub fn policy(&self, unit: &UnitId) -> DeadlinePolicy {
        self.ancestors_inclusive(unit)
            .into_iter()
            .find_map(|u| u.policy.clone())
            .unwrap_or_default()
    }

    /// Mediators working in `unit` or below it, those with `specialty` first.
    pub fn mediators_for(&self, unit: &UnitId, specialty: Option<&CategoryCode>) -> Vec<&Person> {
        let mut found: Vec<&Person> = self
            .people
            .values()
            .filter(|p| p.roles.contains(&Role::Mediator) && self.is_within(&p.unit, unit))
            .collect();
        found.sort_by_key(|p| {
            (
                specialty.is_none_or(|s| !p.specialties.contains(s)),
                p.name.clone(),
            )
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, tier: Tier, parent: Option<&str>, centre: bool) -> Unit {
        Unit {
            id: id.into(),
            name: id.into(),
            tier,
            parent: parent.map(UnitId::from),
            centre,
            policy: None,
            escalate_skip_to: Vec::new(),
            warnings: None,
        }
    }

    fn tree() -> Directory {
        Directory::new(
            [
                unit("c", Tier::County, None, true),
                unit("t", Tier::Township, Some("c"), true),
                unit("v", Tier::Village, Some("t"), false),
                unit("g", Tier::Grid, Some("v"), false),
                unit("v2", Tier::Village, Some("t"), true),
                unit("g2", Tier::Grid, Some("v2"), false),
            ],
            [],
        )
        .unwrap()
    }

    #[test]
    fn grid_case_is_received_by_nearest_centre() {
        let d = tree();
        assert_eq!(d.receiving_centre(&"g".into()).unwrap().id, "t".into());
        assert_eq!(d.receiving_centre(&"g2".into()).unwrap().id, "v2".into());
        assert_eq!(d.next_centre_up(&"v2".into()).unwrap().id, "t".into());
        assert_eq!(d.next_centre_up(&"t".into()).unwrap().id, "c".into());
        assert!(d.next_centre_up(&"c".into()).is_none());
    }

    #[test]
    fn path_runs_root_first() {
        let d = tree();
        let path: Vec<String> = d.path(&"g".into()).iter().map(|u| u.to_string()).collect();
        assert_eq!(path, ["c", "t", "v", "g"]);
        assert!(d.is_within(&"g".into(), &"t".into()));
        assert!(!d.is_within(&"t".into(), &"g".into()));
    }

    #[test]
    fn unknown_parent_and_cycles_are_refused() {
        let err = Directory::new([unit("a", Tier::Village, Some("zz"), false)], []).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unit a names parent zz, which is not in the directory"
        );
        let err = Directory::new(
            [
                unit("a", Tier::Village, Some("b"), false),
                unit("b", Tier::Village, Some("a"), false),
            ],
            [],
        )
        .unwrap_err();
        assert!(matches!(err, DirectoryError::Cycle(_)));
    }

    #[test]
    fn role_codes_round_trip_and_intake_is_neither_staff_nor_in_the_field() {
        let codes: BTreeSet<&str> = Role::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Role::ALL.len());
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_code("intake"), Some(Role::Intake));
        assert_eq!(Role::Intake.zh(), "系统对接");
        assert!(Role::Intake.is_intake());
        assert!(!Role::Intake.is_centre() && !Role::Intake.is_field());
        let field: Vec<Role> = Role::ALL.into_iter().filter(|r| r.is_field()).collect();
        assert_eq!(
            field,
            [Role::GridWorker, Role::HouseholdHead, Role::Mediator]
        );
    }
}
