//! The rules that need the organisation: who a person is, and where a case may go in the tier
//! tree.
//!
//! [`crate::workflow::check`] knows roles and statuses but not the unit tree; this module adds
//! what only the [`Directory`] can answer (the person holds the role in that unit; an escalation
//! goes to the next centre up; an assignment down goes to a unit below; the mediator assigned is
//! a mediator; a supervision comes from the responsible centre or one above it that the case
//! came through, with a new deadline within bounds), and what a step's words must be
//! ([`crate::validate::action`]). The store calls
//! [`check_action`] before saving, and the server before accepting an upload, so both refuse the
//! same things with the same words; the case screen offers exactly the targets
//! ([`escalation_targets`], [`assign_down_targets`]) these checks accept.

use crate::error::{Error, Result};
use crate::ids::UnitId;
use crate::model::{Action, Actor, Assignee, Attachment, Party, SIGNATURE_TYPES};
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
/// tier tree's, and the step's words ([`crate::validate::action`]; a dispatched work order's
/// fields, [`crate::validate::work_order`]).
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
    if let Action::DispatchOrder { order } = action {
        if let Some(p) = crate::validate::work_order(order, at_ms).into_iter().next() {
            return Err(p.into());
        }
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
        (Some(state), Action::Supervise { due_at, .. }) => {
            check_supervisor(directory, state, actor)?;
            if !directory
                .policy(&state.responsible_unit)
                .is_supervise_due(at_ms, *due_at)
            {
                return Err(crate::validate::FieldProblem {
                    field: "due_at".to_owned(),
                    problem: crate::validate::Problem::SuperviseDue {
                        max: crate::deadline::MAX_SUPERVISE_DAYS,
                    },
                }
                .into());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What an agreement names must be in the case: its scanned paper (`attachment`) an attachment
/// the case lists; each signature a party of the case, at most one per party, drawn as an image
/// (PNG, JPEG or WebP) the case lists and that the one recording the agreement attached (a
/// signature is drawn on their device, in front of them: no one else's file stands for it).
/// `parties` and `attachments` are the case's as the step's author sees them; a step other than
/// 调解成功 with an agreement passes. The store calls this before saving, the server before
/// accepting an uploaded entry.
pub fn check_agreement(
    parties: &[Party],
    attachments: &[Attachment],
    actor: &Actor,
    action: &Action,
) -> Result<()> {
    let Action::Resolve {
        agreement: Some(agreement),
        ..
    } = action
    else {
        return Ok(());
    };
    let listed = |id: &crate::ids::AttachmentId| attachments.iter().find(|a| &a.id == id);
    if let Some(id) = &agreement.attachment {
        if listed(id).is_none() {
            return Err(Error::invalid(
                "agreement.attachment",
                format!(
                    "调解协议书的附件不在本案件中 (the agreement names attachment {id}, which the \
                     case does not list; attach the scan first)"
                ),
            ));
        }
    }
    let mut signed = std::collections::HashSet::new();
    for (i, s) in agreement.signatures.iter().enumerate() {
        let field = format!("agreement.signatures[{i}]");
        let Some(party) = parties.iter().find(|p| p.id == s.party) else {
            return Err(Error::invalid(
                &field,
                format!(
                    "签名人不是本案当事人 (the signature is of party {}, who is not a party of the \
                     case)",
                    s.party
                ),
            ));
        };
        if !signed.insert(&s.party) {
            return Err(Error::invalid(
                &field,
                format!(
                    "{}已签过名 ({} signs the agreement twice; one signature per party)",
                    party.name, party.name
                ),
            ));
        }
        let Some(image) = listed(&s.attachment) else {
            return Err(Error::invalid(
                &field,
                format!(
                    "{}的签名图像不在本案件中 (the signature of {} is attachment {}, which the \
                     case does not list; a signature is attached with the agreement)",
                    party.name, party.name, s.attachment
                ),
            ));
        };
        if !SIGNATURE_TYPES
            .iter()
            .any(|t| image.mime.eq_ignore_ascii_case(t))
        {
            return Err(Error::invalid(
                &field,
                format!(
                    "{}的签名须为图像 (the signature of {} is a file of type {}; a signature is a \
                     PNG, JPEG or WebP image)",
                    party.name, party.name, image.mime
                ),
            ));
        }
        if image.added_by != actor.person {
            return Err(Error::invalid(
                &field,
                format!(
                    "{}的签名须由记录协议的人当场采集 (the signature of {} is a file {} attached, \
                     not {}, who records the agreement)",
                    party.name, party.name, image.added_by, actor.name
                ),
            ));
        }
    }
    Ok(())
}

/// Whose centre may supervise (督办) a case: the centre responsible for it, or a centre above
/// the responsible one that the case has been with (the county a township escalated it to,
/// also after the county assigned it back down; the township that assigned it down to a
/// village). Not a sibling centre, not a centre below, not a centre above that it never
/// reached. The role (centre staff or leader) and the status (open) are
/// [`crate::workflow::may`]'s. The case screen offers 督办 only where this holds.
pub fn check_supervisor(directory: &Directory, state: &CaseState, actor: &Actor) -> Result<()> {
    let above_and_involved = state.units_involved.contains(&actor.unit)
        && directory.is_within(&state.responsible_unit, &actor.unit);
    if actor.unit == state.responsible_unit || above_and_involved {
        Ok(())
    } else {
        Err(workflow::Denied::NotSupervisor {
            unit: state.responsible_unit.to_string(),
        }
        .into())
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
/// theirs (a grid worker reports a village-level dispute of the village around the grid). The
/// principal of another system ([`Role::Intake`]) reports within the unit it is registered in
/// (the county or township whose orders it hands over).
/// The report form offers these places; the store and the server refuse any other.
pub fn check_report_place(directory: &Directory, actor: &Actor, place: &UnitId) -> Result<()> {
    let unit = directory
        .unit(place)
        .ok_or_else(|| Error::UnknownUnit(place.clone()))?;
    let within = directory.is_within(&unit.id, &actor.unit);
    let around = actor.role.is_field()
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

#[cfg(test)]
mod supervision {
    use super::*;
    use crate::deadline::MAX_SUPERVISE_DAYS;
    use crate::ids::{EntryId, PersonId};
    use crate::model::{EscalationReason, Source, SuperviseLevel, TimelineEntry};
    use crate::org::{Person, Tier, Unit};
    use crate::validate::Problem;
    use std::collections::BTreeSet;

    /// 2026-06-01 10:00 China Standard Time.
    const NOW: i64 = 1_780_279_200_000;
    const DAY: i64 = 86_400_000;

    fn unit(id: &str, tier: Tier, parent: Option<&str>) -> Unit {
        Unit {
            id: id.into(),
            name: id.to_owned(),
            tier,
            parent: parent.map(Into::into),
            centre: tier != Tier::Grid,
            policy: None,
            escalate_skip_to: Vec::new(),
            warnings: None,
        }
    }

    fn person(id: &str, unit: &str, role: Role) -> Person {
        Person {
            id: id.into(),
            name: id.to_owned(),
            unit: unit.into(),
            roles: BTreeSet::from([role]),
            specialties: BTreeSet::new(),
            phone: None,
        }
    }

    /// County `c` above townships `t` and `t2`; village `v` (with a centre) under `t`, grid `g`
    /// in `v`; staff at each centre, a grid worker.
    fn directory() -> Directory {
        Directory::new(
            [
                unit("c", Tier::County, None),
                unit("t", Tier::Township, Some("c")),
                unit("t2", Tier::Township, Some("c")),
                unit("v", Tier::Village, Some("t")),
                unit("g", Tier::Grid, Some("v")),
            ],
            [
                person("cs", "c", Role::CentreStaff),
                person("ts", "t", Role::CentreLeader),
                person("t2s", "t2", Role::CentreStaff),
                person("vs", "v", Role::CentreStaff),
                person("gw", "g", Role::GridWorker),
            ],
        )
        .unwrap()
    }

    fn actor(d: &Directory, id: &str) -> Actor {
        let p = d.person(&PersonId::new(id)).unwrap();
        Actor {
            person: p.id.clone(),
            name: p.name.clone(),
            role: *p.roles.iter().next().unwrap(),
            unit: p.unit.clone(),
        }
    }

    /// A case the grid worker reported to `t`, taken through `steps` (each checked as the store
    /// checks it).
    fn case(d: &Directory, steps: &[(&str, Action)]) -> CaseState {
        let mut state = workflow::apply(
            None,
            &TimelineEntry {
                id: EntryId::new("e0"),
                base: None,
                at: NOW - DAY,
                actor: actor(d, "gw"),
                action: Action::Report {
                    centre: "t".into(),
                    source: Source::GridVisit,
                },
            },
        );
        for (i, (who, action)) in steps.iter().enumerate() {
            let by = actor(d, who);
            check_action(d, Some(&state), &by, action, NOW).unwrap();
            state = workflow::advance(
                Some(&state),
                &TimelineEntry {
                    id: EntryId::new(format!("e{}", i + 1)),
                    base: state.last_entry.clone(),
                    at: NOW,
                    actor: by,
                    action: action.clone(),
                },
            )
            .unwrap();
        }
        state
    }

    fn up() -> Action {
        Action::Escalate {
            to: "c".into(),
            reason: EscalationReason::CrossRegion,
            note: String::new(),
        }
    }

    fn down(to: &str) -> Action {
        Action::AssignDown {
            to: to.into(),
            person: None,
            instructions: "请限期办结".to_owned(),
            due_at: NOW + 7 * DAY,
        }
    }

    fn supervise(due_at: i64, note: &str) -> Action {
        Action::Supervise {
            level: SuperviseLevel::Listed,
            due_at,
            note: note.to_owned(),
        }
    }

    /// Who may supervise the case in `state`, of every centre's staff.
    fn supervisors(d: &Directory, state: &CaseState) -> Vec<&'static str> {
        let action = supervise(NOW + 5 * DAY, "挂牌督办，限期办结");
        ["cs", "ts", "t2s", "vs", "gw"]
            .into_iter()
            .filter(|who| check_action(d, Some(state), &actor(d, who), &action, NOW).is_ok())
            .collect()
    }

    #[test]
    fn the_responsible_centre_and_the_centres_above_it_that_the_case_came_through_supervise() {
        let d = directory();
        let at_township = case(&d, &[]);
        assert_eq!(
            supervisors(&d, &at_township),
            ["ts"],
            "not the county it never reached"
        );
        let escalated = case(&d, &[("ts", up())]);
        assert_eq!(
            supervisors(&d, &escalated),
            ["cs"],
            "the township no longer holds it"
        );
        let sent_back = case(&d, &[("ts", up()), ("cs", down("t"))]);
        assert_eq!(supervisors(&d, &sent_back), ["cs", "ts"]);
        let sent_aside = case(&d, &[("ts", up()), ("cs", down("t2"))]);
        assert_eq!(
            supervisors(&d, &sent_aside),
            ["cs", "t2s"],
            "a township never supervises another township's case"
        );
        let to_village = case(&d, &[("ts", down("v"))]);
        assert_eq!(supervisors(&d, &to_village), ["ts", "vs"]);
        // The refusals name the rule in both languages.
        let err = check_action(
            &d,
            Some(&sent_aside),
            &actor(&d, "ts"),
            &supervise(NOW + DAY, "督办"),
            NOW,
        )
        .unwrap_err();
        assert!(err.to_string().contains("may supervise"), "{err}");
        assert!(err.zh().contains("可以督办"), "{}", err.zh());
        let err = check_action(
            &d,
            Some(&at_township),
            &actor(&d, "gw"),
            &supervise(NOW + DAY, "督办"),
            NOW,
        )
        .unwrap_err();
        assert!(err.zh().contains("网格员无权督办"), "{}", err.zh());
    }

    #[test]
    fn a_supervision_needs_a_note_and_a_new_deadline_within_ninety_days() {
        let d = directory();
        let state = case(&d, &[]);
        let ts = actor(&d, "ts");
        let problem = |action: &Action| match check_action(&d, Some(&state), &ts, action, NOW) {
            Err(Error::Invalid { field, problem }) => Some((field, problem)),
            Err(other) => panic!("{other}"),
            Ok(()) => None,
        };
        let policy = d.policy(&"t".into());
        let today = policy.local_date(NOW);
        let latest =
            policy.supervise_due_on(today + chrono::Duration::days(i64::from(MAX_SUPERVISE_DAYS)));
        assert_eq!(problem(&supervise(latest, "限期办结")), None);
        assert_eq!(problem(&supervise(NOW + 1, "限期办结")), None);
        let due = Problem::SuperviseDue {
            max: MAX_SUPERVISE_DAYS,
        };
        let words = format!("{} ({})", due.zh(), due.en());
        for late_or_past in [latest + 1, NOW, NOW - DAY] {
            assert_eq!(
                problem(&supervise(late_or_past, "限期办结")),
                Some(("due_at".to_owned(), words.clone()))
            );
        }
        assert_eq!(
            problem(&supervise(NOW + DAY, "  ")).map(|(f, _)| f),
            Some("note".to_owned()),
            "what is expected must be written"
        );
    }
}
