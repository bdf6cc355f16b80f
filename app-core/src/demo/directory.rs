//! The demo county's directory: its units (county, townships, villages, grids) and people, and
//! the queries the generator and its callers ask of it.

use super::texts::{
    COUNTY_ID, COUNTY_NAME, COUNTY_SPECIALTIES, GRIDS_PER_VILLAGE, GRID_ORDINALS, HOTLINE_ID,
    TOWNSHIPS, TOWNSHIP_SPECIALTIES,
};
use super::Generator;
use crate::ids::{PersonId, UnitId};
use crate::model::Actor;
use crate::org::{Directory, Person, Role, Tier, Unit};
use crate::taxonomy::{CategoryCode, Taxonomy};
use rand::Rng;
use std::collections::BTreeSet;

impl Generator {
    pub(super) fn build_directory(&mut self) -> (Vec<Unit>, Vec<Person>) {
        let unit = |id: &str, name: &str, tier, parent: Option<&str>, centre| Unit {
            id: id.into(),
            name: name.to_owned(),
            tier,
            parent: parent.map(UnitId::from),
            centre,
            policy: None,
            escalate_skip_to: Vec::new(),
            warnings: None,
        };
        let mut units = vec![unit(COUNTY_ID, COUNTY_NAME, Tier::County, None, true)];
        let mut people = Vec::new();
        for (i, specialties) in COUNTY_SPECIALTIES.iter().enumerate() {
            people.push(self.person(
                &format!("{COUNTY_ID}-med{}", i + 1),
                COUNTY_ID,
                Role::Mediator,
                specialties,
            ));
        }
        for i in 1..=2 {
            people.push(self.person(
                &format!("{COUNTY_ID}-staff{i}"),
                COUNTY_ID,
                Role::CentreStaff,
                &[],
            ));
        }
        people.push(self.person(
            &format!("{COUNTY_ID}-leader"),
            COUNTY_ID,
            Role::CentreLeader,
            &[],
        ));
        for t in &TOWNSHIPS {
            units.push(unit(t.id, t.name, Tier::Township, Some(COUNTY_ID), true));
            for (i, specialties) in TOWNSHIP_SPECIALTIES.iter().enumerate() {
                people.push(self.person(
                    &format!("{}-med{}", t.id, i + 1),
                    t.id,
                    Role::Mediator,
                    specialties,
                ));
            }
            for i in 1..=3 {
                people.push(self.person(
                    &format!("{}-staff{i}", t.id),
                    t.id,
                    Role::CentreStaff,
                    &[],
                ));
            }
            people.push(self.person(&format!("{}-leader", t.id), t.id, Role::CentreLeader, &[]));
            for (v, name, _, _) in &t.villages {
                let village = format!("{}-{v}", t.id);
                // The villages' committees mediate, but reports go to the township's centre:
                // the demo's villages run no centre of their own (no staff to assess).
                units.push(unit(&village, name, Tier::Village, Some(t.id), false));
                for (g, ordinal) in GRID_ORDINALS.iter().enumerate().take(GRIDS_PER_VILLAGE) {
                    let grid = format!("{village}-g{}", g + 1);
                    units.push(unit(
                        &grid,
                        &format!("{name}{ordinal}"),
                        Tier::Grid,
                        Some(&village),
                        false,
                    ));
                    people.push(self.person(&format!("{grid}-gw"), &grid, Role::GridWorker, &[]));
                }
            }
        }
        // The city's 12345 hotline platform, registered at the county as another system's
        // principal (系统对接): it reports calls and dispatches their work orders.
        people.push(Person {
            id: HOTLINE_ID.into(),
            name: "12345政务服务便民热线".to_owned(),
            unit: COUNTY_ID.into(),
            roles: BTreeSet::from([Role::Intake]),
            specialties: BTreeSet::new(),
            phone: None,
        });
        (units, people)
    }

    pub(super) fn person(
        &mut self,
        id: &str,
        unit: &str,
        role: Role,
        specialties: &[&str],
    ) -> Person {
        let name = loop {
            let female = self.rng.gen_bool(0.45);
            let name = self.name(female);
            if self.staff_names.insert(name.clone()) {
                break name;
            }
        };
        Person {
            id: id.into(),
            name,
            unit: unit.into(),
            roles: BTreeSet::from([role]),
            specialties: specialties.iter().map(|s| CategoryCode::from(*s)).collect(),
            phone: Some(self.phone()),
        }
    }

    // --- Accessors ---

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The dispute taxonomy the generated cases use (the default one).
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// The main township, 海宴镇.
    pub fn township(&self) -> UnitId {
        self.townships[0].clone()
    }

    /// Both townships: 海宴镇 and 都斛镇.
    pub fn townships(&self) -> Vec<UnitId> {
        self.townships.clone()
    }

    /// The county, 台山市, whose joint-mediation centre receives escalations.
    pub fn county(&self) -> UnitId {
        self.county.clone()
    }

    /// The villages of a township.
    pub fn villages(&self, township: &UnitId) -> Vec<UnitId> {
        self.directory
            .children(township)
            .into_iter()
            .map(|u| u.id.clone())
            .collect()
    }

    /// Every grid, or the grids within `unit` when given.
    pub fn grids(&self, within: Option<&UnitId>) -> Vec<UnitId> {
        self.directory
            .units()
            .filter(|u| u.tier == Tier::Grid)
            .filter(|u| within.is_none_or(|w| self.directory.is_within(&u.id, w)))
            .map(|u| u.id.clone())
            .collect()
    }

    pub(super) fn with_role(&self, unit: &UnitId, role: Role) -> Vec<&Person> {
        self.directory
            .people()
            .filter(|p| &p.unit == unit && p.roles.contains(&role))
            .collect()
    }

    /// The centre staff (综治中心工作人员) of a unit.
    pub fn staff_of(&self, unit: &UnitId) -> Vec<&Person> {
        self.with_role(unit, Role::CentreStaff)
    }

    /// The centre leader (综治中心主任) of a unit.
    pub fn leader_of(&self, unit: &UnitId) -> Option<&Person> {
        self.with_role(unit, Role::CentreLeader).into_iter().next()
    }

    /// The mediators working in exactly this unit.
    pub fn mediators_of(&self, unit: &UnitId) -> Vec<&Person> {
        self.with_role(unit, Role::Mediator)
    }

    /// The grid worker of a grid.
    pub fn grid_worker_of(&self, grid: &UnitId) -> Option<&Person> {
        self.with_role(grid, Role::GridWorker).into_iter().next()
    }

    /// The actor a person of the directory acts as, in `role`, from their demo device
    /// `demo-device-<person>`.
    ///
    /// # Panics
    /// If the person is not in the directory (demo code: ids come from the directory).
    pub fn actor_for(&self, person: &PersonId, role: Role) -> Actor {
        let p = self
            .directory
            .person(person)
            .unwrap_or_else(|| panic!("demo person {person} is not in the demo directory"));
        Actor {
            person: p.id.clone(),
            name: p.name.clone(),
            role,
            unit: p.unit.clone(),
        }
    }
}
