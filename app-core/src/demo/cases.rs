//! Cases played through the real workflow: where, when and what, then each step of the closed
//! loop as the people of the directory would take it.

use super::random::{demo_device, device_actor_id};
use super::texts::{
    CategoryText, Parties, Vars, CATEGORIES, COUNTY_NAME, GRIDS_PER_VILLAGE, HAMLETS, HOTLINE_ID,
    TOWNSHIPS,
};
use super::{GeneratedCase, Generator, DAY, HOUR, MINUTE, WINDOW_DAYS};
use crate::document::{CaseDoc, CaseEdit, ContactsDocument, PartyContact};
use crate::error::{Error, Result};
use crate::ids::{AttachmentId, CaseId, PartyId, PersonId, UnitId};
use crate::model::{
    Action, Agreement, Assignee, Attachment, Difficulty, EscalationReason, FollowUpMethod, NewCase,
    NewParty, OrderKind, Party, PartyRole, RiskFlag, Satisfaction, SessionMode, Source, WorkOrder,
};
use crate::org::{Person, Role};
use crate::taxonomy::CategoryCode;
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::BTreeMap;

/// The state of one case being played through its life.
pub(super) struct Play {
    pub(super) doc: CaseDoc,
    pub(super) now: i64,
    /// The time of the last step.
    pub(super) t: i64,
    /// Steps taken so far; the case stops (is stuck) before step `stall_at`.
    pub(super) steps: u32,
    pub(super) stall_at: Option<u32>,
    pub(super) text: &'static CategoryText,
    pub(super) vars: Vars,
    pub(super) agreement_text: String,
    pub(super) site: &'static str,
    pub(super) township: UnitId,
    pub(super) court: &'static str,
    pub(super) reporter: PersonId,
    pub(super) reporter_role: Role,
    pub(super) grid_worker: PersonId,
    pub(super) difficulty: Difficulty,
    /// The mediator who acts for the current assignee.
    pub(super) handler: Option<PersonId>,
    /// Whether the case came back down from the county (交办) and owes a report back.
    pub(super) owes_feedback: bool,
    pub(super) reopened: bool,
    /// The case's 12345 work order waits for the township's reply (答复).
    pub(super) owes_reply: bool,
}

/// How a round of mediation ended.
pub(super) enum Outcome {
    Resolved,
    Stabilised,
    Failed,
    /// The case stopped (now was reached, or it is stuck).
    Open,
}

impl Generator {
    pub(super) fn category(&mut self, township: &UnitId) -> &'static CategoryText {
        // 都斛 is an agricultural town: land and farming disputes are well over half its cases.
        let farming = township.as_str() == "duhu";
        let weights: Vec<(usize, u32)> = CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = match c.code {
                    "land_resources" | "agriculture_fishery" if farming => c.weight * 2,
                    _ => c.weight,
                };
                (i, w)
            })
            .collect();
        &CATEGORIES[self.pick(&weights)]
    }

    // --- Cases ---

    /// Generates `n` cases (see [`Generator::case`]).
    pub fn cases(&mut self, n: usize, now_ms: i64) -> Result<Vec<GeneratedCase>> {
        (0..n).map(|_| self.case(now_ms)).collect()
    }

    /// A case reported at a random time in the 120 days before `now_ms`, played through a
    /// realistic part of its life up to `now_ms`: reported, assessed, assigned, mediated,
    /// resolved (or stabilised, or failed and escalated to the county), followed up and
    /// concluded. Recent cases are often still open; a few older ones are stuck (overdue).
    pub fn case(&mut self, now_ms: i64) -> Result<GeneratedCase> {
        self.case_in(now_ms, None)
    }

    /// A call to the 12345 hotline about a dispute in `township`, reported by the platform and
    /// its work order dispatched (派单) within the hour before `now_ms`, not yet signed for: what
    /// the township's desk finds waiting (待签收).
    pub fn hotline_call(&mut self, township: &UnitId, now_ms: i64) -> Result<GeneratedCase> {
        self.case_in(now_ms, Some(township))
    }

    /// A case as [`Generator::case`] makes it or, with `call`, the hotline call of
    /// [`Generator::hotline_call`] in that township.
    fn case_in(&mut self, now_ms: i64, call: Option<&UnitId>) -> Result<GeneratedCase> {
        // Where.
        let township = match call {
            Some(t) => self
                .townships
                .iter()
                .position(|u| u == t)
                .ok_or_else(|| Error::UnknownUnit(t.clone()))?,
            None => self.pick(&[(0usize, TOWNSHIPS[0].share), (1, TOWNSHIPS[1].share)]),
        };
        let tdef = &TOWNSHIPS[township];
        let township = self.townships[township].clone();
        let vi = self.rng.gen_range(0..tdef.villages.len());
        let (vid, vname, lat, lon) = tdef.villages[vi];
        let grid = UnitId::new(format!(
            "{}-{vid}-g{}",
            tdef.id,
            self.rng.gen_range(1..=GRIDS_PER_VILLAGE)
        ));
        let grid_worker = self
            .grid_worker_of(&grid)
            .map(|p| p.id.clone())
            .ok_or_else(|| Error::UnknownUnit(grid.clone()))?;
        let hamlet = self.one(HAMLETS);

        // When.
        let back = self.rng.gen_range(0..WINDOW_DAYS * DAY);
        let mut reported = self.daytime(now_ms - back);
        if reported > now_ms {
            reported = now_ms - self.rng.gen_range(10..240) * MINUTE;
        }
        if call.is_some() {
            reported = now_ms - self.rng.gen_range(20..50) * MINUTE;
        }

        // What.
        let text = self.category(&township);
        let scenario = &text.scenarios[self.rng.gen_range(0..text.scenarios.len())];
        let a_female = match text.parties {
            Parties::Couple => self.pct(70),
            _ => self.pct(35),
        };
        let (a, b) = match text.parties {
            Parties::Any => (self.draw_party(a_female, 1955..=2000), {
                let f = self.pct(30);
                self.draw_party(f, 1955..=2000)
            }),
            Parties::Couple => (
                self.draw_party(a_female, 1975..=2000),
                self.draw_party(!a_female, 1972..=1998),
            ),
            Parties::ElderAndChild => (
                self.draw_party(a_female, 1938..=1954),
                self.draw_party(false, 1960..=1980),
            ),
        };
        let (lo, hi) = text.amount;
        let vars = Vars {
            a: a.name.clone(),
            b: b.name.clone(),
            village: vname.to_owned(),
            hamlet: hamlet.to_owned(),
            township: tdef.name.to_owned(),
            amount: self.rng.gen_range(lo / 100..=hi / 100) * 100,
            n: self.rng.gen_range(2..=9),
            days: self.rng.gen_range(3..=15),
            years: self.rng.gen_range(2..=15),
        };
        let source = call.map(|_| Source::Hotline12345).unwrap_or_else(|| {
            self.pick(&[
                (Source::GridVisit, 62),
                (Source::WalkIn, 18),
                (Source::Hotline12345, 10),
                (Source::Police, 5),
                (Source::HigherAssignment, 3),
                (Source::Other, 2),
            ])
        });
        let (reporter, reporter_role) = match source {
            Source::GridVisit => (grid_worker.clone(), Role::GridWorker),
            Source::HigherAssignment => (self.staff(&self.county.clone()), Role::CentreStaff),
            // The hotline's platform reports the call itself, through its intake credential.
            Source::Hotline12345 => (PersonId::new(HOTLINE_ID), Role::Intake),
            _ => (self.staff(&township), Role::CentreStaff),
        };
        let reporter_name = self.actor_for(&reporter, reporter_role).name;
        let intro = match source {
            Source::GridVisit => format!("网格员{reporter_name}入户走访时了解到："),
            Source::WalkIn => format!("{}到{}综治中心来访反映：", a.name, tdef.name),
            Source::Hotline12345 => "12345政务服务热线转办：".to_owned(),
            Source::Police => format!("{}派出所移交：", tdef.name.trim_end_matches('镇')),
            Source::HigherAssignment => "台山市矛盾纠纷联调中心交办：".to_owned(),
            Source::Other => format!("{vname}村委会反映："),
        };
        let narrative = format!("{intro}{}", vars.fill(scenario.narrative));
        let title = if self.pct(50) {
            format!("{}与{}{}", a.name, b.name, scenario.kind)
        } else {
            format!("{vname}{hamlet}{}", scenario.kind)
        };
        let address = format!(
            "{COUNTY_NAME}{}{vname}委会{hamlet}{}号",
            tdef.name,
            self.rng.gen_range(1..=88)
        );
        let gps = self.pct(70).then(|| {
            (
                lat + self.rng.gen_range(-0.008..0.008),
                lon + self.rng.gen_range(-0.008..0.008),
            )
        });

        // Who.
        let mut parties = Vec::new();
        let mut new_parties = Vec::new();
        let mut contacts = BTreeMap::new();
        for (p, role) in [(&a, PartyRole::Applicant), (&b, PartyRole::Respondent)] {
            let id = PartyId::new(self.hex(6));
            let phone = self.phone();
            let id_number = self.id_number(p.female, p.birth_year);
            parties.push(Party {
                id: id.clone(),
                name: p.name.clone(),
                role,
            });
            new_parties.push(NewParty {
                name: p.name.clone(),
                role,
                phone: Some(phone.clone()),
                id_number: Some(id_number.clone()),
            });
            contacts.insert(
                id.to_string(),
                PartyContact {
                    phone: Some(phone),
                    id_number: Some(id_number),
                },
            );
        }

        let case_id = CaseId::new(self.uuid_v7(reported));
        let new = NewCase {
            title,
            category: text.code.to_owned(),
            narrative,
            place_unit: grid.clone(),
            address,
            gps,
            parties: new_parties,
            source,
        };
        let reporter_actor = self.actor_for(&reporter, reporter_role);
        let doc = CaseDoc::create(
            case_id.clone(),
            &new,
            parties,
            self.directory.path(&grid),
            township.clone(),
            &reporter_actor,
            &device_actor_id(&demo_device(&reporter_actor.person)),
            reported,
        )?;
        let stall_at = self.pct(6).then(|| self.rng.gen_range(1..=6));
        let mut play = Play {
            doc,
            now: now_ms,
            t: reported,
            steps: 0,
            stall_at,
            text,
            agreement_text: vars.fill(scenario.agreement),
            vars,
            site: scenario.site,
            township,
            court: tdef.court,
            reporter,
            reporter_role,
            grid_worker,
            difficulty: Difficulty::Simple,
            handler: None,
            owes_feedback: false,
            reopened: false,
            owes_reply: false,
        };
        if call.is_some() {
            // Dispatched minutes after the call, at any hour: the hotline never closes.
            play.t += 2 * MINUTE;
            self.dispatch_order(&mut play)?;
        } else {
            self.play(&mut play)?;
        }
        Ok(GeneratedCase {
            doc: play.doc,
            contacts: ContactsDocument {
                case: case_id,
                parties: contacts,
            },
        })
    }

    /// A random centre staff member of a unit.
    pub(super) fn staff(&mut self, unit: &UnitId) -> PersonId {
        let staff: Vec<PersonId> = self.staff_of(unit).iter().map(|p| p.id.clone()).collect();
        staff
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or_else(|| panic!("demo unit {unit} has centre staff"))
    }

    /// The leader of a unit, or a staff member when there is none.
    pub(super) fn leader(&mut self, unit: &UnitId) -> (PersonId, Role) {
        match self.leader_of(unit) {
            Some(p) => (p.id.clone(), Role::CentreLeader),
            None => (self.staff(unit), Role::CentreStaff),
        }
    }

    /// Advances the case's clock by `min_h..max_h` hours (into working hours); `None` when that
    /// is after now or the case is stuck here.
    pub(super) fn next(&mut self, c: &mut Play, min_h: f64, max_h: f64) -> Option<i64> {
        c.steps += 1;
        if c.stall_at == Some(c.steps) {
            return None;
        }
        let delay = (self.rng.gen_range(min_h..max_h) * HOUR as f64) as i64;
        let t = self.daytime(c.t + delay.max(MINUTE));
        if t > c.now {
            return None;
        }
        c.t = t;
        Some(t)
    }

    /// Records a step as `person` in `role`, from their device.
    pub(super) fn act(
        &mut self,
        c: &mut Play,
        person: &PersonId,
        role: Role,
        action: Action,
    ) -> Result<()> {
        let actor = self.actor_for(person, role);
        c.doc
            .automerge()
            .set_actor(device_actor_id(&demo_device(&actor.person)));
        c.doc.act(&actor, action, c.t)?;
        Ok(())
    }

    pub(super) fn edit(
        &mut self,
        c: &mut Play,
        person: &PersonId,
        role: Role,
        edit: &CaseEdit,
    ) -> Result<()> {
        let actor = self.actor_for(person, role);
        c.doc
            .automerge()
            .set_actor(device_actor_id(&demo_device(&actor.person)));
        c.doc.edit(&actor, edit, c.t)?;
        Ok(())
    }

    pub(super) fn attachment(
        &mut self,
        c: &Play,
        by: &PersonId,
        name: &str,
        mime: &str,
    ) -> Attachment {
        Attachment {
            id: AttachmentId::new(self.hex(8)),
            name: name.to_owned(),
            mime: mime.to_owned(),
            size: self.rng.gen_range(150_000..2_500_000),
            sha256: self.hex(32),
            added_by: by.clone(),
            added_at: c.t,
        }
    }

    pub(super) fn play(&mut self, c: &mut Play) -> Result<()> {
        if c.reporter_role == Role::Intake {
            step!(self.hotline_order(c)?);
        }
        // The reporter adds photos of the scene.
        if c.reporter_role == Role::GridWorker && self.pct(50) {
            step!(self.next(c, 0.1, 2.0));
            let reporter = c.reporter.clone();
            let photo = self.attachment(c, &reporter, "现场照片.jpg", "image/jpeg");
            let edit = CaseEdit {
                add_attachments: vec![photo],
                ..CaseEdit::default()
            };
            self.edit(c, &reporter, Role::GridWorker, &edit)?;
        }

        // On-the-spot mediation (就地调解) by the grid worker for small matters.
        let small = matches!(
            c.text.code,
            "neighbour" | "marriage_family" | "agriculture_fishery" | "other"
        );
        if c.reporter_role == Role::GridWorker && small && self.pct(12) {
            return self.on_the_spot(c);
        }
        // The grid worker tries first (先行劝导), calms things down, but leaves it to the centre.
        if c.reporter_role == Role::GridWorker && self.pct(45) {
            step!(self.next(c, 0.2, 4.0));
            let gw = c.grid_worker.clone();
            self.act(
                c,
                &gw,
                Role::GridWorker,
                Action::RecordSession {
                    mode: SessionMode::OnSite,
                    note: "网格员先行劝导，情绪暂稳，未达成一致，报镇综治中心。".to_owned(),
                },
            )?;
        }

        // 研判
        step!(self.next(c, 1.0, 20.0));
        let township = c.township.clone();
        self.assess(c, &township)?;

        // Staff add what they learned at intake.
        if self.pct(35) {
            step!(self.next(c, 0.5, 6.0));
            let staff = self.staff(&township);
            let narrative = format!(
                "{}\n（补充）经核实，双方均为{}村民，此前已由村干部调解一次未果。",
                c.doc.read()?.narrative.as_str(),
                c.vars.village
            );
            let edit = CaseEdit {
                narrative: Some(narrative),
                ..CaseEdit::default()
            };
            self.edit(c, &staff, Role::CentreStaff, &edit)?;
        }

        // A major case that spans departments goes straight up.
        if c.difficulty.needs_leader() && self.pct(30) {
            step!(self.next(c, 1.0, 24.0));
            let (leader, role) = self.leader(&township);
            let county = self.county();
            self.act(
                c,
                &leader,
                role,
                Action::Escalate {
                    to: county,
                    reason: EscalationReason::CrossDepartment,
                    note: "涉及多个部门职能，镇级难以统筹，报请台山市矛盾纠纷联调中心协调处理。"
                        .to_owned(),
                },
            )?;
            return self.at_county(c);
        }

        // 分流
        step!(self.next(c, 0.5, 8.0));
        self.assign(c, &township)?;
        match self.mediate(c, true)? {
            Outcome::Open => Ok(()),
            Outcome::Resolved => self.conclude(c, &township),
            Outcome::Stabilised => self.stabilised(c, &township),
            Outcome::Failed => {
                step!(self.next(c, 2.0, 30.0));
                let (leader, role) = if c.difficulty.needs_leader() {
                    self.leader(&township)
                } else {
                    (self.staff(&township), Role::CentreStaff)
                };
                let county = self.county();
                let reason = self.pick(&[
                    (EscalationReason::Unresolved, 6),
                    (EscalationReason::MajorDifficulty, 2),
                    (EscalationReason::CrossDepartment, 2),
                ]);
                self.act(
                    c,
                    &leader,
                    role,
                    Action::Escalate {
                        to: county,
                        reason,
                        note: format!(
                            "{}，本级调解不成，报请台山市矛盾纠纷联调中心协调处理。",
                            reason.zh()
                        ),
                    },
                )?;
                self.at_county(c)
            }
        }
    }

    /// A call to the 12345 hotline: minutes after it reported the call, the platform dispatches
    /// its work order (派单: sign for it within 4 hours, reply within 5 days), and the township's
    /// staff sign for it (签收) within hours. `None` when now comes first.
    pub(super) fn hotline_order(&mut self, c: &mut Play) -> Result<Option<()>> {
        if self.next(c, 0.02, 0.2).is_none() {
            return Ok(None);
        }
        self.dispatch_order(c)?;
        if self.next(c, 0.2, 3.0).is_none() {
            return Ok(None);
        }
        let township = c.township.clone();
        let staff = self.staff(&township);
        self.act(c, &staff, Role::CentreStaff, Action::SignOrder)?;
        Ok(Some(()))
    }

    /// The platform dispatches the case's work order at the case's clock.
    fn dispatch_order(&mut self, c: &mut Play) -> Result<()> {
        let t = c.t;
        let day = crate::deadline::LocalTime::CHINA.date(t).format("%Y%m%d");
        let order = WorkOrder {
            number: format!("TS{day}{:06}", self.rng.gen_range(1..1_000_000)),
            channel: "12345".to_owned(),
            kind: self.pick(&[
                (OrderKind::Complaint, 60),
                (OrderKind::Help, 30),
                (OrderKind::Consultation, 10),
            ]),
            confidential: false,
            dispatched_at: t,
            sign_by: t + 4 * HOUR,
            reply_by: t + 5 * DAY,
        };
        let hotline = c.reporter.clone();
        self.act(c, &hotline, Role::Intake, Action::DispatchOrder { order })?;
        c.owes_reply = true;
        Ok(())
    }

    pub(super) fn on_the_spot(&mut self, c: &mut Play) -> Result<()> {
        let gw = c.grid_worker.clone();
        step!(self.next(c, 0.2, 3.0));
        self.act(
            c,
            &gw,
            Role::GridWorker,
            Action::RecordSession {
                mode: SessionMode::OnSite,
                note: format!("在{}现场劝导，{}与{}各退一步。", c.site, c.vars.a, c.vars.b),
            },
        )?;
        step!(self.next(c, 0.1, 1.0));
        self.act(
            c,
            &gw,
            Role::GridWorker,
            Action::Resolve {
                agreement: None,
                note: "就地调解成功。".to_owned(),
            },
        )?;
        let township = c.township.clone();
        self.conclude(c, &township)
    }

    pub(super) fn assess(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        let major = self.pct(c.text.major_pct);
        let escalated = unit == &self.county;
        c.difficulty = if major || (escalated && self.pct(50)) {
            if self.pct(8) {
                Difficulty::ExtraMajor
            } else {
                Difficulty::Major
            }
        } else if escalated || self.pct(45) {
            Difficulty::General
        } else {
            Difficulty::Simple
        };
        let mut risks = Vec::new();
        if c.difficulty.needs_leader() {
            if let Some(r) = c.text.risks.choose(&mut self.rng) {
                risks.push(*r);
            }
            if self.pct(20) {
                risks.push(RiskFlag::KeyPerson);
            }
        } else if self.pct(3) {
            risks.push(RiskFlag::KeyPerson);
        }
        risks.sort();
        risks.dedup();
        let note = match c.difficulty {
            Difficulty::Simple => "事实清楚，简单纠纷，3日内办结。".to_owned(),
            Difficulty::General => format!(
                "涉及{}认定，一般纠纷，7日内化解。",
                if c.text.amount.1 >= 10_000 {
                    "赔偿金额"
                } else {
                    "权属和责任"
                }
            ),
            Difficulty::Major | Difficulty::ExtraMajor => format!(
                "{}，{}纠纷，领导包案。",
                risks.first().map_or("存在矛盾激化风险", |r| r.zh()),
                c.difficulty.zh()
            ),
        };
        let (who, role) = if c.difficulty.needs_leader() {
            self.leader(unit)
        } else {
            (self.staff(unit), Role::CentreStaff)
        };
        self.act(
            c,
            &who,
            role,
            Action::Assess {
                difficulty: c.difficulty,
                risks,
                note,
            },
        )
    }

    /// Picks a mediator of `unit` for the case's category: specialists first.
    pub(super) fn mediator(&mut self, c: &Play, unit: &UnitId, not: Option<&PersonId>) -> Person {
        let code = CategoryCode::from(c.text.code);
        let all: Vec<Person> = self
            .mediators_of(unit)
            .into_iter()
            .filter(|p| Some(&p.id) != not)
            .cloned()
            .collect();
        let specialists: Vec<&Person> = all
            .iter()
            .filter(|p| p.specialties.contains(&code))
            .collect();
        let pool: Vec<&Person> = if specialists.is_empty() {
            all.iter().collect()
        } else {
            specialists
        };
        let i = self.rng.gen_range(0..pool.len());
        pool[i].clone()
    }

    pub(super) fn assign(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        let staff = self.staff(unit);
        let first = self.mediator(c, unit, None);
        let zh = self
            .taxonomy
            .zh(&CategoryCode::from(c.text.code))
            .to_owned();
        let chosen = !c.difficulty.needs_leader() && self.pct(15);
        let (to, note) = if c.difficulty.needs_leader() {
            let second = self.mediator(c, unit, Some(&first.id));
            (
                Assignee::JointTeam {
                    members: vec![first.id.clone(), second.id.clone()],
                    names: vec![first.name.clone(), second.name.clone()],
                },
                format!("{}、{}组成联合调处小组。", first.name, second.name),
            )
        } else if chosen {
            (
                Assignee::Mediator {
                    person: first.id.clone(),
                    name: first.name.clone(),
                },
                format!("点单式调解：双方选定{}。", first.name),
            )
        } else {
            (
                Assignee::Mediator {
                    person: first.id.clone(),
                    name: first.name.clone(),
                },
                format!("按{zh}分流至调解员{}。", first.name),
            )
        };
        c.handler = Some(first.id.clone());
        self.act(
            c,
            &staff,
            Role::CentreStaff,
            Action::Assign {
                to,
                chosen_by_parties: chosen,
                note,
            },
        )
    }

    /// Sessions, then an outcome. `may_fail`: whether this round may end in failure.
    pub(super) fn mediate(&mut self, c: &mut Play, may_fail: bool) -> Result<Outcome> {
        let Some(handler) = c.handler.clone() else {
            return Ok(Outcome::Open);
        };
        let sessions = match c.difficulty {
            Difficulty::Simple => self.pick(&[(1, 20), (2, 55), (3, 25)]),
            Difficulty::General => self.pick(&[(1, 10), (2, 50), (3, 30), (4, 10)]),
            _ => self.pick(&[(2, 30), (3, 50), (4, 20)]),
        };
        for i in 0..sessions {
            let Some(_) = (if i == 0 {
                self.next(c, 2.0, 40.0)
            } else {
                self.next(c, 16.0, 60.0)
            }) else {
                return Ok(Outcome::Open);
            };
            let mode = if i == 0 {
                self.pick(&[(SessionMode::OnSite, 75), (SessionMode::MediationRoom, 25)])
            } else {
                self.pick(&[
                    (SessionMode::MediationRoom, 60),
                    (SessionMode::OnSite, 30),
                    (SessionMode::Online, 10),
                ])
            };
            let note = match (i, mode) {
                (_, SessionMode::Online) => format!("{}在外务工，视频线上调解。", c.vars.b),
                (0, _) => format!("到{}查看，分别听取{}、{}陈述。", c.site, c.vars.a, c.vars.b),
                (i, _) if i + 1 == sessions => {
                    format!("邀{}村干部、亲属参与，基本达成一致。", c.vars.village)
                }
                _ => self
                    .one(&[
                        "面对面调解，释法说理。",
                        "背对背做工作，缩小分歧。",
                        "再次调解，双方各让一步。",
                    ])
                    .to_owned(),
            };
            self.act(
                c,
                &handler,
                Role::Mediator,
                Action::RecordSession { mode, note },
            )?;
        }
        let (resolve, stabilise) = match c.difficulty {
            Difficulty::Simple => (93, 4),
            Difficulty::General => (85, 8),
            _ => (62, 20),
        };
        // The mediator uploads the session record (调解笔录), for the record (网上留痕).
        if self.pct(35) {
            let Some(_) = self.next(c, 0.5, 4.0) else {
                return Ok(Outcome::Open);
            };
            let record = self.attachment(c, &handler, "调解笔录.jpg", "image/jpeg");
            let edit = CaseEdit {
                add_attachments: vec![record],
                ..CaseEdit::default()
            };
            self.edit(c, &handler, Role::Mediator, &edit)?;
        }
        let roll = self.rng.gen_range(0..100);
        let Some(_) = self.next(c, 0.2, 3.0) else {
            return Ok(Outcome::Open);
        };
        if roll < resolve || (!may_fail && roll < resolve + (100 - resolve - stabilise) / 2) {
            let with_agreement = self.pct(75);
            let agreement = with_agreement.then(|| Agreement {
                summary: c.agreement_text.clone(),
                attachment: None,
                performance: String::new(),
                signatures: Vec::new(),
            });
            let note = if with_agreement {
                "达成调解协议，当场签字。"
            } else {
                "达成口头协议，握手言和。"
            };
            let agreement = match agreement {
                // A scanned agreement is attached before the case is marked resolved.
                Some(mut agreement) if self.pct(50) => {
                    let scan = self.attachment(c, &handler, "调解协议书.pdf", "application/pdf");
                    agreement.attachment = Some(scan.id.clone());
                    let edit = CaseEdit {
                        add_attachments: vec![scan],
                        ..CaseEdit::default()
                    };
                    self.edit(c, &handler, Role::Mediator, &edit)?;
                    let t = c.t + self.rng.gen_range(5..30) * MINUTE;
                    if t > c.now {
                        return Ok(Outcome::Open);
                    }
                    c.t = t;
                    Some(agreement)
                }
                other => other,
            };
            self.act(
                c,
                &handler,
                Role::Mediator,
                Action::Resolve {
                    agreement,
                    note: note.to_owned(),
                },
            )?;
            Ok(Outcome::Resolved)
        } else if roll < resolve + stabilise || !may_fail {
            self.act(
                c,
                &handler,
                Role::Mediator,
                Action::Stabilise {
                    note:
                        "双方分歧较大，暂未达成一致，已落实网格员每周走访、重点关注，防止矛盾激化。"
                            .to_owned(),
                },
            )?;
            Ok(Outcome::Stabilised)
        } else {
            self.act(
                c,
                &handler,
                Role::Mediator,
                Action::Fail {
                    note: format!(
                        "经{sessions}次调解，双方仍各执一词，{}拒不接受调解方案，本级调解不成。",
                        c.vars.b
                    ),
                },
            )?;
            Ok(Outcome::Failed)
        }
    }

    /// After resolution: judicial confirmation sometimes, report back if owed, follow-up,
    /// close (by the leader for a major case), and sometimes a later 回头看.
    pub(super) fn conclude(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        // The hotline hears how its order ended (答复), from the township that signed for it.
        if c.owes_reply && unit == &c.township {
            step!(self.next(c, 1.0, 24.0));
            let staff = self.staff(unit);
            self.act(
                c,
                &staff,
                Role::CentreStaff,
                Action::ReplyOrder {
                    reply: format!(
                        "经{}综治中心组织调解，{}与{}已达成协议。来电人对处理结果表示认可。",
                        c.vars.township, c.vars.a, c.vars.b
                    ),
                },
            )?;
            c.owes_reply = false;
        }
        let has_agreement = c.doc.state()?.is_some_and(|s| s.agreement.is_some());
        let judicial_pct = match c.text.code {
            "economic_debt" | "labour" | "road_traffic" | "marriage_family" => 35,
            _ => 8,
        };
        if has_agreement && self.pct(judicial_pct) {
            if let Some(handler) = c.handler.clone() {
                step!(self.next(c, 2.0, 48.0));
                self.act(
                    c,
                    &handler,
                    Role::Mediator,
                    Action::RequestJudicialConfirmation {
                        court: c.court.to_owned(),
                    },
                )?;
                step!(self.next(c, 72.0, 240.0));
                let granted = self.pct(95);
                let staff = self.staff(unit);
                self.act(
                    c,
                    &staff,
                    Role::CentreStaff,
                    Action::RecordJudicialConfirmation {
                        granted,
                        note: if granted {
                            "裁定确认调解协议有效。".to_owned()
                        } else {
                            "协议部分条款不明确，不予确认，建议补正后重新申请。".to_owned()
                        },
                    },
                )?;
            }
        }
        if c.owes_feedback {
            step!(self.next(c, 2.0, 24.0));
            let staff = self.staff(unit);
            self.act(
                c,
                &staff,
                Role::CentreStaff,
                Action::ReportBack {
                    note: "经联合调处，双方已达成协议并开始履行，现将办理情况反馈市联调中心。"
                        .to_owned(),
                },
            )?;
            c.owes_feedback = false;
        }

        // 回访
        step!(self.next(c, 48.0, 240.0));
        let satisfaction = self.pick(&[
            (Satisfaction::Satisfied, 88),
            (Satisfaction::Basically, 9),
            (Satisfaction::Dissatisfied, 3),
        ]);
        let relapsed = !c.reopened && self.pct(2);
        let by_visit = c.reporter_role == Role::GridWorker && self.pct(40);
        let (who, role, method) = if by_visit {
            (c.reporter.clone(), Role::GridWorker, FollowUpMethod::Visit)
        } else {
            (self.staff(unit), Role::CentreStaff, FollowUpMethod::Phone)
        };
        let how = if by_visit {
            "入户回访"
        } else {
            "电话回访"
        };
        let note = if relapsed {
            format!("{how}{}：对方未履行协议，纠纷反复。", c.vars.a)
        } else {
            match satisfaction {
                Satisfaction::Satisfied => format!("{how}{}：协议已履行，满意。", c.vars.a),
                Satisfaction::Basically => format!("{how}{}：基本履行，基本满意。", c.vars.a),
                Satisfaction::Dissatisfied => {
                    format!("{how}{}：认为赔偿偏低，不满意，已解释。", c.vars.a)
                }
            }
        };
        self.act(
            c,
            &who,
            role,
            Action::FollowUp {
                method,
                satisfaction,
                relapsed,
                note,
            },
        )?;

        if relapsed {
            step!(self.next(c, 1.0, 24.0));
            let staff = self.staff(unit);
            self.act(
                c,
                &staff,
                Role::CentreStaff,
                Action::Reopen {
                    reason: format!("回访发现纠纷反复：{}未按协议履行。", c.vars.b),
                },
            )?;
            c.reopened = true;
            step!(self.next(c, 0.5, 8.0));
            self.assign(c, unit)?;
            return match self.mediate(c, false)? {
                Outcome::Resolved => self.conclude(c, unit),
                Outcome::Stabilised => self.stabilised(c, unit),
                Outcome::Failed | Outcome::Open => Ok(()),
            };
        }

        // 办结
        step!(self.next(c, 0.5, 48.0));
        self.close(c, unit, "案结事了，归档。")?;

        // 回头看
        if self.pct(75) {
            step!(self.next(c, 24.0 * 25.0, 24.0 * 45.0));
            let (who, role, method) = if c.reporter_role == Role::GridWorker {
                (c.reporter.clone(), Role::GridWorker, FollowUpMethod::Visit)
            } else {
                (self.staff(unit), Role::CentreStaff, FollowUpMethod::Phone)
            };
            self.act(
                c,
                &who,
                role,
                Action::FollowUp {
                    method,
                    satisfaction: Satisfaction::Satisfied,
                    relapsed: false,
                    note: "回头看：未再发生争执。".to_owned(),
                },
            )?;
        }
        Ok(())
    }

    pub(super) fn close(&mut self, c: &mut Play, unit: &UnitId, note: &str) -> Result<()> {
        let (who, role) = if c.difficulty.needs_leader() {
            self.leader(unit)
        } else {
            (self.staff(unit), Role::CentreStaff)
        };
        let note = if role == Role::CentreLeader {
            format!("包案领导审核同意。{note}")
        } else {
            note.to_owned()
        };
        self.act(c, &who, role, Action::Close { note })
    }

    /// After stabilisation: half stay under control (open in the ledger as 稳控); the rest are
    /// followed up and concluded weeks later.
    pub(super) fn stabilised(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        if self.pct(50) {
            return Ok(());
        }
        step!(self.next(c, 24.0 * 7.0, 24.0 * 20.0));
        let staff = self.staff(unit);
        self.act(
            c,
            &staff,
            Role::CentreStaff,
            Action::FollowUp {
                method: FollowUpMethod::Visit,
                satisfaction: Satisfaction::Basically,
                relapsed: false,
                note: "入户回访，双方情绪平稳，未再发生冲突。".to_owned(),
            },
        )?;
        step!(self.next(c, 24.0, 24.0 * 10.0));
        self.close(c, unit, "经持续稳控，纠纷未再激化，予以办结。")
    }

    /// The county's joint-mediation centre has the case: it assesses it, then either assigns it
    /// back down to the township (交办) or handles it with its own mediators.
    pub(super) fn at_county(&mut self, c: &mut Play) -> Result<()> {
        let county = self.county();
        let township = c.township.clone();
        step!(self.next(c, 2.0, 30.0));
        self.assess(c, &county)?;
        if self.pct(60) {
            // 交办 back to the township, with a deadline; sometimes straight to a mediator.
            step!(self.next(c, 1.0, 24.0));
            let (who, role) = if c.difficulty.needs_leader() {
                self.leader(&county)
            } else {
                (self.staff(&county), Role::CentreStaff)
            };
            let to_person = self.pct(50);
            let person = if to_person {
                let m = self.mediator(c, &township, c.handler.as_ref());
                c.handler = Some(m.id.clone());
                Some(Assignee::Mediator {
                    person: m.id,
                    name: m.name,
                })
            } else {
                None
            };
            let township_name = self
                .directory
                .unit(&township)
                .map_or("镇", |u| u.name.as_str())
                .to_owned();
            self.act(
                c,
                &who,
                role,
                Action::AssignDown {
                    to: township.clone(),
                    person,
                    instructions: format!(
                        "请{township_name}综治中心会同司法所、人民法庭联合调处，落实领导包案，7日内反馈办理情况。"
                    ),
                    due_at: c.t + 7 * DAY,
                },
            )?;
            c.owes_feedback = true;
            if !to_person {
                step!(self.next(c, 1.0, 24.0));
                self.assign(c, &township)?;
            }
            match self.mediate(c, false)? {
                Outcome::Resolved => self.conclude(c, &township),
                Outcome::Stabilised => self.stabilised_owing(c, &township),
                Outcome::Failed | Outcome::Open => Ok(()),
            }
        } else {
            step!(self.next(c, 1.0, 24.0));
            self.assign(c, &county)?;
            match self.mediate(c, false)? {
                Outcome::Resolved => self.conclude(c, &county),
                Outcome::Stabilised => self.stabilised(c, &county),
                Outcome::Failed | Outcome::Open => Ok(()),
            }
        }
    }

    /// A case assigned down and stabilised still reports back to the county.
    pub(super) fn stabilised_owing(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        step!(self.next(c, 2.0, 24.0));
        let staff = self.staff(unit);
        self.act(
            c,
            &staff,
            Role::CentreStaff,
            Action::ReportBack {
                note: "双方暂未达成一致，已落实稳控措施，现将办理情况反馈市联调中心。".to_owned(),
            },
        )?;
        c.owes_feedback = false;
        self.stabilised(c, unit)
    }
}
