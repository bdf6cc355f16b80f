//! The documents a centre prints from a resolved case: the mediation agreement (人民调解协议书)
//! and the parties' application for its judicial confirmation (司法确认申请书), in the forms
//! the Ministry of Justice's people's mediation documents use: the parties with their
//! particulars, the facts of the dispute, the agreed terms, how and by when they are performed,
//! the mediator and the committee, places to sign, the date.
//!
//! [`AgreementPaper`] is the data (pure, from the case's documents); [`mediation_agreement`] and
//! [`judicial_application`] print it.

use super::ledger::case_number;
use super::pdf::{Fonts, Layout, Mark, Picture, BODY, LABEL, SMALL, TITLE};
use super::IdDisclosure;
use crate::error::{Error, Result};
use crate::identity::ResidentId;
use crate::model::{Action, Agreement, Assignee, PartyRole};
use crate::org::Directory;
use crate::store::CaseView;
use chrono::NaiveDate;

/// A party as the agreement names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperParty {
    pub role: PartyRole,
    pub name: String,
    /// 性别 and 出生日期, read from the resident ID number.
    pub sex: Option<&'static str>,
    pub born: Option<NaiveDate>,
    /// The ID number, masked or whole; `None` when none was given (or it was erased).
    pub id_number: Option<String>,
    pub phone: Option<String>,
    /// Their signature on the agreement, if they signed on the touchscreen.
    pub signature: PaperSignature,
}

/// A party's signature as the agreement prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaperSignature {
    /// Not signed on a device: the paper is signed by hand.
    None,
    /// Signed on the touchscreen, drawn here.
    Drawn(Picture),
    /// Signed on the touchscreen, but its image is not here yet (the device that took it has
    /// not synced) or cannot be read.
    Missing,
}

/// Everything the agreement and the application print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgreementPaper {
    pub number: String,
    pub title: String,
    pub parties: Vec<PaperParty>,
    pub address: String,
    /// 纠纷主要事实、争议事项.
    pub facts: String,
    /// The agreed terms, one per item.
    pub terms: Vec<String>,
    /// 履行方式、时限.
    pub performance: String,
    pub mediator: String,
    /// The people's mediation committee (…人民调解委员会).
    pub committee: String,
    pub date: NaiveDate,
    /// The court asked for judicial confirmation, if one was.
    pub court: Option<String>,
    /// The parties signed on the touchscreen where the dispute was settled (就地化解).
    pub signed_on_device: bool,
}

impl AgreementPaper {
    /// The paper of a resolved case with its agreement. Refuses a case that has none: not
    /// resolved, or resolved without a written agreement. `image` gives an attachment's bytes
    /// by SHA-256, if they are here (the parties' drawn signatures).
    pub fn of(
        view: &CaseView,
        directory: &Directory,
        disclosure: IdDisclosure,
        image: &dyn Fn(&str) -> Option<Vec<u8>>,
    ) -> Result<AgreementPaper> {
        let doc = &view.document;
        let state = view.folded.state.as_ref();
        let not = |why: &str| Error::Invalid {
            field: "case".into(),
            problem: format!(
                "{} has no mediation agreement to print: {why} (案件没有可打印的调解协议)",
                doc.title.as_str()
            ),
        };
        let state = state.ok_or_else(|| not("it has no report"))?;
        let Some(agreement) = state.agreement.as_ref() else {
            return Err(not(if state.resolved_at.is_none() {
                "it is not resolved"
            } else {
                "it was resolved without a written agreement"
            }));
        };
        let resolved_at = state.resolved_at.ok_or_else(|| not("it is not resolved"))?;
        // The entry that made the agreement: who mediated, when.
        let resolve = view.folded.order.iter().rev().find_map(|&i| {
            let e = doc.timeline.get(i)?;
            match &e.action {
                Action::Resolve {
                    agreement: Some(a), ..
                } if a == agreement => Some(e),
                _ => None,
            }
        });
        let court =
            view.folded
                .order
                .iter()
                .rev()
                .find_map(|&i| match &doc.timeline.get(i)?.action {
                    Action::RequestJudicialConfirmation { court } => Some(court.clone()),
                    _ => None,
                });
        let policy = directory.policy(&state.responsible_unit);
        let local = policy.local();
        let mediator = match &state.assignee {
            Some(Assignee::Mediator { name, .. }) => name.clone(),
            Some(a @ Assignee::JointTeam { .. }) => a.label(),
            _ => resolve.map(|e| e.actor.name.clone()).unwrap_or_default(),
        };
        let unit_name = directory
            .unit(&state.responsible_unit)
            .map_or_else(|| state.responsible_unit.to_string(), |u| u.name.clone());
        let committee = match &state.assignee {
            Some(Assignee::Committee { name, .. }) => name.clone(),
            _ => format!("{unit_name}人民调解委员会"),
        };
        let parties = doc
            .parties
            .iter()
            .map(|p| {
                let contact = view
                    .contacts
                    .as_ref()
                    .and_then(|c| c.parties.get(p.id.as_str()));
                let id = contact
                    .and_then(|c| c.id_number.as_deref())
                    .and_then(|s| ResidentId::parse(s).ok());
                PaperParty {
                    role: p.role,
                    name: p.name.clone(),
                    sex: id.as_ref().map(|r| if r.is_female() { "女" } else { "男" }),
                    born: id.as_ref().map(ResidentId::birth_date),
                    id_number: id.as_ref().map(|r| match disclosure {
                        IdDisclosure::Full => r.as_str().to_owned(),
                        IdDisclosure::Masked => r.masked(),
                    }),
                    phone: contact.and_then(|c| c.phone.clone()),
                    signature: signature_of(view, agreement, &p.id, image),
                }
            })
            .collect();
        let (terms, performance) = terms_of(agreement);
        Ok(AgreementPaper {
            number: case_number(doc.id.as_str(), local.date(state.reported_at)),
            title: doc.title.as_str().to_owned(),
            parties,
            address: doc.place.address.as_str().to_owned(),
            facts: doc.narrative.as_str().trim().to_owned(),
            terms,
            performance,
            mediator,
            committee,
            date: local.date(resolve.map_or(resolved_at, |e| e.at)),
            court,
            signed_on_device: !agreement.signatures.is_empty(),
        })
    }
}

/// A party's drawn signature: the attachment the agreement names for them, its bytes, decoded.
fn signature_of(
    view: &CaseView,
    agreement: &Agreement,
    party: &crate::ids::PartyId,
    image: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> PaperSignature {
    let Some(s) = agreement.signatures.iter().find(|s| &s.party == party) else {
        return PaperSignature::None;
    };
    view.document
        .attachments
        .iter()
        .find(|a| a.id == s.attachment)
        .and_then(|a| image(&a.sha256))
        .and_then(|bytes| Picture::from_png(&bytes).ok())
        .map_or(PaperSignature::Missing, PaperSignature::Drawn)
}

/// The agreed terms, one per line (or per `；`) of the agreement's text, numbering removed; a
/// line that begins with 履行 (how and by when the terms are performed) is said apart.
fn terms_of(agreement: &Agreement) -> (Vec<String>, String) {
    let mut terms = Vec::new();
    let mut performance = Vec::new();
    for line in agreement.summary.split(['\n', '；', ';']) {
        let t = line
            .trim()
            .trim_start_matches(|c: char| {
                c.is_ascii_digit() || "一二三四五六七八九十、.．）)（(".contains(c)
            })
            .trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with("履行") {
            performance.push(t.to_owned());
        } else {
            terms.push(t.trim_end_matches(['。', '.']).to_owned());
        }
    }
    let performance = if !agreement.performance.trim().is_empty() {
        agreement.performance.trim().to_owned()
    } else if performance.is_empty() {
        "按上述各项约定履行，自本协议签订之日起生效。".to_owned()
    } else {
        performance.join("；")
    };
    (terms, performance)
}

fn particulars(p: &PaperParty) -> String {
    let mut parts = vec![p.name.clone()];
    if let Some(sex) = p.sex {
        parts.push(sex.to_owned());
    }
    if let Some(born) = p.born {
        parts.push(format!("{}出生", born.format("%Y年%-m月%-d日")));
    }
    if let Some(id) = &p.id_number {
        parts.push(format!("公民身份号码{id}"));
    }
    if let Some(phone) = &p.phone {
        parts.push(format!("联系电话{phone}"));
    }
    parts.join("，")
}

fn zh_date(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

/// 人民调解协议书, as PDF.
pub fn mediation_agreement(paper: &AgreementPaper, fonts: &Fonts) -> Result<Vec<u8>> {
    let mut l = Layout::new(fonts, &format!("人民调解协议书（{}）", paper.title));
    l.centred("人民调解协议书", TITLE);
    l.right(&format!("编号：{}", paper.number), SMALL);
    l.gap(6.0);
    for p in &paper.parties {
        l.paragraph(&format!("{}：", p.role.zh()), &particulars(p), BODY, 0.0);
    }
    if !paper.address.is_empty() {
        l.paragraph("纠纷发生地：", &paper.address, BODY, 0.0);
    }
    l.gap(6.0);
    l.paragraph("纠纷主要事实、争议事项：", "", LABEL, 0.0);
    l.paragraph("", &paper.facts, BODY, 2.0);
    l.gap(6.0);
    l.paragraph(
        "",
        &format!("经{}主持调解，当事人自愿达成如下协议：", paper.committee),
        LABEL,
        0.0,
    );
    for (i, t) in paper.terms.iter().enumerate() {
        l.paragraph("", &format!("{}. {}。", i + 1, t), BODY, 2.0);
    }
    l.paragraph("履行方式、时限：", &paper.performance, BODY, 0.0);
    l.paragraph(
        "",
        "本协议一式三份，当事人各执一份，人民调解委员会留存一份。当事人应当按照约定履行；经人民调解委员会调解达成的调解协议，具有法律约束力。",
        BODY,
        2.0,
    );
    l.gap(10.0);
    signatures(&mut l, paper, true);
    if paper.signed_on_device {
        l.paragraph(
            "",
            "（当事人签名系在调解现场于移动设备上手写，随案保存。）",
            SMALL,
            0.0,
        );
    }
    l.signature(
        &[("人民调解员（签名）：", Mark::Name(paper.mediator.as_str()))],
        BODY,
    );
    l.gap(10.0);
    l.right(&format!("{}（盖章）", paper.committee), BODY);
    l.right(&zh_date(paper.date), BODY);
    l.finish()
}

/// The parties' places to sign, two to a line; with `drawn`, each holds the signature the
/// party drew on the touchscreen (or says it is still on its way).
fn signatures(l: &mut Layout<'_>, paper: &AgreementPaper, drawn: bool) {
    let places: Vec<(String, Mark<'_>)> = paper
        .parties
        .iter()
        .map(|p| {
            let mark = match (&p.signature, drawn) {
                (PaperSignature::Drawn(picture), true) => Mark::Drawn(picture),
                (PaperSignature::Missing, true) => Mark::Note("已在现场签名，图像尚未同步"),
                _ => Mark::Blank,
            };
            (format!("{}（签名）：", p.role.zh()), mark)
        })
        .collect();
    for pair in places.chunks(2) {
        let items: Vec<(&str, Mark<'_>)> = pair.iter().map(|(s, m)| (s.as_str(), *m)).collect();
        l.signature(&items, BODY);
    }
}

/// 司法确认申请书 (the parties apply jointly to the court), as PDF.
pub fn judicial_application(paper: &AgreementPaper, fonts: &Fonts) -> Result<Vec<u8>> {
    let mut l = Layout::new(fonts, &format!("司法确认申请书（{}）", paper.title));
    l.centred("司法确认申请书", TITLE);
    l.gap(6.0);
    for p in &paper.parties {
        l.paragraph("申请人：", &particulars(p), BODY, 0.0);
    }
    l.gap(6.0);
    l.paragraph("请求事项：", "", LABEL, 0.0);
    let names: Vec<&str> = paper.parties.iter().map(|p| p.name.as_str()).collect();
    l.paragraph(
        "",
        &format!(
            "请求人民法院依法确认申请人{}于{}经{}调解达成的人民调解协议（编号：{}）有效。",
            names.join("、"),
            zh_date(paper.date),
            paper.committee,
            paper.number
        ),
        BODY,
        2.0,
    );
    l.paragraph("事实和理由：", "", LABEL, 0.0);
    l.paragraph(
        "",
        &format!(
            "申请人之间因{}发生纠纷。{}经{}主持调解，申请人自愿达成调解协议，协议内容为：{}。",
            paper.title,
            paper.facts,
            paper.committee,
            paper.terms.join("；")
        ),
        BODY,
        2.0,
    );
    l.paragraph(
        "",
        "申请人出于解决纠纷的目的自愿达成协议，没有恶意串通、规避法律的行为；如因虚假调解协议损害他人合法权益，愿意承担相应的法律责任。",
        BODY,
        2.0,
    );
    l.gap(6.0);
    l.paragraph("此致", "", BODY, 2.0);
    let court = paper.court.as_deref().unwrap_or("__________人民法院");
    l.paragraph("", court, BODY, 0.0);
    l.gap(6.0);
    l.paragraph("附：", "人民调解协议书一份", BODY, 0.0);
    l.gap(10.0);
    signatures(&mut l, paper, false);
    l.right("年　　月　　日", BODY);
    l.finish()
}
