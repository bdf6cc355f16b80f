//! The rules that need the organisation: who a person is, and where a case may go in the tier
//! tree.
//!
//! [`crate::workflow::check`] knows roles and statuses but not the unit tree; this module adds
//! what only the [`Directory`] can answer (the person holds the role in that unit; an escalation
//! goes to the next centre up; an assignment down goes to a unit below; the mediator assigned is
//! a mediator). The store calls [`check_action`] before saving, and the server before accepting
//! an upload, so both refuse the same things with the same words.

use crate::error::{Error, Result};
use crate::ids::UnitId;
use crate::model::{Action, Actor, Assignee};
use crate::org::{Directory, Role};
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

/// Whether `actor` may take `action` on a case in `state`: the workflow's rules and the tier
/// tree's.
pub fn check_action(
    directory: &Directory,
    state: Option<&CaseState>,
    actor: &Actor,
    action: &Action,
) -> Result<()> {
    check_actor(directory, actor)?;
    workflow::check(state, actor, action)?;
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
            let expected = directory
                .next_centre_up(&state.responsible_unit)
                .ok_or_else(|| Error::NoHigherCentre {
                    unit: state.responsible_unit.clone(),
                })?;
            let skip_allowed = directory
                .unit(&state.responsible_unit)
                .is_some_and(|u| u.escalate_skip_to.contains(to))
                && directory.is_within(&state.responsible_unit, to)
                && directory.unit(to).is_some_and(|u| u.centre);
            if &expected.id != to && !skip_allowed {
                return Err(Error::EscalationTarget {
                    expected: expected.id.clone(),
                    requested: to.clone(),
                });
            }
            Ok(())
        }
        (Some(state), Action::AssignDown { to, person, .. }) => {
            if directory.unit(to).is_none() {
                return Err(Error::UnknownUnit(to.clone()));
            }
            if !directory.is_within(to, &state.responsible_unit) {
                return Err(Error::NotBelow {
                    from: state.responsible_unit.clone(),
                    to: to.clone(),
                });
            }
            match person {
                Some(a) => check_assignee(directory, a),
                None => Ok(()),
            }
        }
        (_, Action::Assign { to, .. }) => check_assignee(directory, to),
        _ => Ok(()),
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
