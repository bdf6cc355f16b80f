//! The rules that need the organisation: who a person is, and where a case may go in the tier
//! tree.
//!
//! [`crate::workflow::check`] knows roles and statuses but not the unit tree; this module adds
//! what only the [`Directory`] can answer (the person holds the role in that unit; an escalation
//! goes to the next centre up; an assignment down goes to a unit below; the mediator assigned is
//! a mediator), and what a step's words must be ([`crate::validate::action`]). The store calls
//! [`check_action`] before saving, and the server before accepting an upload, so both refuse the
//! same things with the same words; the case screen offers exactly the targets
//! ([`escalation_targets`], [`assign_down_targets`]) these checks accept.

use crate::error::{Error, Result};
use crate::ids::UnitId;
use crate::model::{Action, Actor, Assignee};
use crate::org::{Directory, Role, Unit};
use crate::workflow::{self, CaseState};

/// The actor is a person in the directory who holds `actor.role` in `actor.unit`.
pub fn check_actor(directory: &Directory, actor: &Actor) -> Result<()> {
    let person = directory
        .person(&actor.person)
        .ok_or_else(|| Error::UnknownPerson(actor.person.clone()))?;
    if person.unit != actor.unit || !person.roles.contains(&actor.role) {
        return Err(Error::RoleNotHeld {
            person: actor.person.clone(),
            role: actor.role.zh().to_owned(),
            unit: actor.unit.clone(),
        });
    }
    Ok(())
}

/// Where a case the centre `responsible` holds may be escalated (上报上级): the next centre up,
/// and the centres above named in the unit's `escalate_skip_to` (越级上报 where a county allows
/// it), in that order.
pub fn escalation_targets<'d>(directory: &'d Directory, responsible: &UnitId) -> Vec<&'d Unit> {
    let mut out: Vec<&Unit> = directory.next_centre_up(responsible).into_iter().collect();
    if let Some(unit) = directory.unit(responsible) {
        for id in &unit.escalate_skip_to {
            let skip = directory
                .unit(id)
                .filter(|u| u.centre && directory.is_within(responsible, &u.id));
            if let Some(u) = skip.filter(|u| !out.iter().any(|o| o.id == u.id)) {
                out.push(u);
            }
        }
    }
    out
}

/// Where the centre `responsible` may assign a case down (交办): the units one tier below it
/// (a county's townships, a township's villages). A tier with no centre of its own passes the
/// case on the same way.
pub fn assign_down_targets<'d>(directory: &'d Directory, responsible: &UnitId) -> Vec<&'d Unit> {
    directory.children(responsible)
}

/// Whether `actor` may take `action` at `at_ms` on a case in `state`: the workflow's rules, the
/// tier tree's, and the step's words ([`crate::validate::action`]).
pub fn check_action(
    directory: &Directory,
    state: Option<&CaseState>,
    actor: &Actor,
    action: &Action,
    at_ms: i64,
) -> Result<()> {
    check_actor(directory, actor)?;
    workflow::check(state, actor, action)?;
    if let Some(p) = crate::validate::action(action).into_iter().next() {
        return Err(p.into());
    }
    match (state, action) {
        (_, Action::Report { centre, .. }) => match directory.unit(centre) {
            Some(u) if u.centre => Ok(()),
            Some(_) => Err(Error::invalid(
                "centre",
                format!("{centre} does not run a centre that receives cases"),
            )),
            None => Err(Error::UnknownUnit(centre.clone())),
        },
        (Some(state), Action::Escalate { to, .. }) => {
            let targets = escalation_targets(directory, &state.responsible_unit);
            let expected = targets.first().ok_or_else(|| Error::NoHigherCentre {
                unit: state.responsible_unit.clone(),
            })?;
            if !targets.iter().any(|u| &u.id == to) {
                return Err(Error::EscalationTarget {
                    expected: expected.id.clone(),
                    requested: to.clone(),
                });
            }
            Ok(())
        }
        (
            Some(state),
            Action::AssignDown {
                to, person, due_at, ..
            },
        ) => {
            if directory.unit(to).is_none() {
                return Err(Error::UnknownUnit(to.clone()));
            }
            let targets = assign_down_targets(directory, &state.responsible_unit);
            if !targets.iter().any(|u| &u.id == to) {
                return Err(Error::NotBelow {
                    from: state.responsible_unit.clone(),
                    to: to.clone(),
                });
            }
            let policy = directory.policy(&state.responsible_unit);
            if !policy.is_assign_down_due(at_ms, *due_at) {
                let max = crate::deadline::MAX_ASSIGN_DOWN_DAYS;
                return Err(crate::validate::FieldProblem {
                    field: "due_at".to_owned(),
                    problem: crate::validate::Problem::DueDays { max },
                }
                .into());
            }
            match person {
                Some(a) => check_assignee(directory, a),
                None => Ok(()),
            }
        }
        (_, Action::Assign { to, .. }) => check_assignee(directory, to),
        (
            Some(state),
            Action::LinkMatter { .. }
            | Action::UnlinkMatter { .. }
            | Action::MarkDistinct { .. }
            | Action::AcknowledgeAlert { .. },
        ) => check_overseer(directory, state, actor, action),
        _ => Ok(()),
    }
}

/// Linking cases into matters, deciding on possible duplicates and acknowledging alerts are for
/// a centre that oversees the case: the one responsible, one the case has been with, or one
/// above the responsible centre (a township links what its villages reported).
fn check_overseer(
    directory: &Directory,
    state: &CaseState,
    actor: &Actor,
    action: &Action,
) -> Result<()> {
    if actor.unit == state.responsible_unit
        || state.units_involved.contains(&actor.unit)
        || directory.is_within(&state.responsible_unit, &actor.unit)
    {
        Ok(())
    } else {
        Err(workflow::Denied::NotResponsibleUnit {
            unit: state.responsible_unit.to_string(),
            action: action.zh().to_owned(),
        }
        .into())
    }
}

fn check_assignee(directory: &Directory, assignee: &Assignee) -> Result<()> {
    let mediator = |id: &crate::ids::PersonId| match directory.person(id) {
        Some(p) if p.roles.contains(&Role::Mediator) => Ok(()),
        Some(p) => Err(Error::RoleNotHeld {
            person: p.id.clone(),
            role: Role::Mediator.zh().to_owned(),
            unit: p.unit.clone(),
        }),
        None => Err(Error::UnknownPerson(id.clone())),
    };
    match assignee {
        Assignee::Mediator { person, .. } => mediator(person),
        Assignee::JointTeam { members, .. } => {
            if members.is_empty() {
                return Err(Error::invalid("assignee", "a joint team needs members"));
            }
            members.iter().try_for_each(mediator)
        }
        Assignee::Committee { unit, .. } => directory
            .unit(unit)
            .map(|_| ())
            .ok_or_else(|| Error::UnknownUnit(unit.clone())),
        Assignee::Department { name } if name.trim().is_empty() => {
            Err(Error::invalid("assignee", "name the department"))
        }
        Assignee::Department { .. } => Ok(()),
    }
}

/// Where `actor` may report a dispute: anywhere within their own unit, and, for those who work
/// in the field (grid workers, household-group heads, mediators), also in the unit just above
/// theirs (a grid worker reports a village-level dispute of the village around the grid).
/// The report form offers these places; the store and the server refuse any other.
pub fn check_report_place(directory: &Directory, actor: &Actor, place: &UnitId) -> Result<()> {
    let unit = directory
        .unit(place)
        .ok_or_else(|| Error::UnknownUnit(place.clone()))?;
    let within = directory.is_within(&unit.id, &actor.unit);
    let around = !actor.role.is_centre()
        && directory
            .unit(&actor.unit)
            .and_then(|u| u.parent.as_ref())
            .is_some_and(|p| p == &unit.id);
    if within || around {
        Ok(())
    } else {
        Err(Error::invalid(
            "place",
            format!(
                "{} 不在上报人的工作范围内 ({} is outside the area of {}, who reports from {})",
                unit.name, unit.id, actor.person, actor.unit
            ),
        ))
    }
}

#[cfg(all(test, feature = "demo"))]
mod tests {
    use super::*;
    use crate::ids::EntryId;
    use crate::model::{EscalationReason, Source, TimelineEntry};
    use crate::org::Unit;

    const NOW: i64 = 1_780_000_000_000;

    /// A case reported to the centre `unit`.
    fn held_by(unit: &UnitId, actor: &Actor) -> CaseState {
        workflow::apply(
            None,
            &TimelineEntry {
                id: EntryId::new("e0"),
                base: None,
                at: NOW,
                actor: actor.clone(),
                action: Action::Report {
                    centre: unit.clone(),
                    source: Source::WalkIn,
                },
            },
        )
    }

    /// For every centre and every unit: the targets the case screen offers are exactly those
    /// the store and the server accept.
    #[test]
    fn the_targets_offered_are_exactly_those_accepted() {
        let generator = crate::demo::Generator::new(7);
        let base = generator.directory();
        // One township may also escalate straight to the county (越级), named twice, and names a
        // centre that is not above it (never offered, never accepted).
        let township = generator.township();
        let county = generator.county();
        let other = generator
            .townships()
            .into_iter()
            .find(|t| t != &township)
            .expect("two townships");
        let units: Vec<Unit> = base
            .units()
            .cloned()
            .map(|mut u| {
                if u.id == township {
                    u.escalate_skip_to = vec![county.clone(), other.clone()];
                }
                u
            })
            .collect();
        let dir = Directory::new(units, base.people().cloned()).unwrap();
        let mut checked = 0;
        for centre in dir.units().filter(|u| u.centre) {
            let Some(staff) = generator.staff_of(&centre.id).first().copied() else {
                continue;
            };
            let actor = generator.actor_for(&staff.id, Role::CentreStaff);
            let state = held_by(&centre.id, &actor);
            let up: Vec<&UnitId> = escalation_targets(&dir, &centre.id)
                .into_iter()
                .map(|u| &u.id)
                .collect();
            let down: Vec<&UnitId> = assign_down_targets(&dir, &centre.id)
                .into_iter()
                .map(|u| &u.id)
                .collect();
            for to in dir.units().map(|u| &u.id).filter(|u| *u != &centre.id) {
                let escalate = Action::Escalate {
                    to: to.clone(),
                    reason: EscalationReason::Unresolved,
                    note: String::new(),
                };
                let accepted = check_action(&dir, Some(&state), &actor, &escalate, NOW).is_ok();
                assert_eq!(accepted, up.contains(&to), "escalate {} to {to}", centre.id);
                let assign_down = Action::AssignDown {
                    to: to.clone(),
                    person: None,
                    instructions: "请七日内反馈".to_owned(),
                    due_at: dir.policy(&centre.id).assign_down_due(NOW, 7).unwrap(),
                };
                let accepted = check_action(&dir, Some(&state), &actor, &assign_down, NOW).is_ok();
                assert_eq!(
                    accepted,
                    down.contains(&to),
                    "assign {} down to {to}",
                    centre.id
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked}");
        let from_township: Vec<&UnitId> = escalation_targets(&dir, &township)
            .into_iter()
            .map(|u| &u.id)
            .collect();
        assert_eq!(
            from_township,
            [&county],
            "the county once, the other township never"
        );
    }
}
