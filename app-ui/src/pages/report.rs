//! Reporting a dispute (`/report`), and the same form when a dispute is found on a door-to-door
//! visit ([`ReportFormView`] in visit mode, from the household screen). Categories and places
//! come from the core's `form_options`; every field is checked as it is typed with the core's
//! rules ([`crate::forms::ReportForm`]); saving records the case on the device and opens it.
//! Before saving, the core looks for other cases of the same parties: if there are any, they are
//! shown (可能重复上报 / 同一当事人既往纠纷) and saving takes a second tap (仍然上报), or the person
//! goes back to edit. It never blocks a report for good.

use crate::app::{use_lang, use_shell, Route};
use crate::bridge::{self, FormOptions, VisitInput};
use crate::forms::{PartyForm, ReportForm};
use crate::i18n::{self, t, tf, Key, Lang};
use crate::labels;
use crate::prevention;
use crate::widgets::{error_text, loaded, text_of, use_load, value_of, Load};
use app_core::ids::{CaseId, HouseholdId, UnitId};
use app_core::model::{NewCase, PartyRole, Source};
use app_core::screens::MatchRow;
use app_core::taxonomy::Taxonomy;
use std::rc::Rc;
use yew::prelude::*;
use yew_router::prelude::*;

/// Where the form is used.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// On its own: a dispute reported from the report tab.
    Report,
    /// On a visit to `household` in `grid`: saving records the visit with the dispute.
    Visit {
        household: HouseholdId,
        grid: UnitId,
        /// What the visit note says (sent with the visit).
        note: String,
    },
}

/// Where asking for the device's position stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Locating {
    Idle,
    Busy,
    /// The platform has no position to give (a desktop), or the person declined.
    Unavailable,
}

#[derive(Properties, PartialEq, Debug)]
pub struct ReportFormProps {
    pub mode: Mode,
    /// Called with the new case once it is saved.
    pub on_saved: Callback<CaseId>,
    #[prop_or_default]
    pub on_cancel: Option<Callback<()>>,
}

/// The report page: the form; once saved, the new case.
#[function_component(ReportPage)]
pub fn report_page() -> Html {
    let navigator = use_navigator();
    let on_saved = Callback::from(move |id: CaseId| {
        if let Some(n) = &navigator {
            n.push(&Route::Case { id: id.to_string() });
        }
    });
    html! {
        <div id="report" class="page">
            <ReportFormView mode={Mode::Report} {on_saved} />
        </div>
    }
}

/// Writes a typed value into the form.
type Setter = Rc<dyn Fn(&mut ReportForm, String)>;

/// The form's id of a field: `parties[0].name` → `report-parties-0--name`.
pub fn field_id(name: &str) -> String {
    format!("report-{}", name.replace(['[', ']', '.'], "-"))
}

fn category_name(l: Lang, c: &app_core::taxonomy::Category) -> String {
    match l {
        Lang::Zh => c.zh.clone(),
        Lang::En => c.en.clone(),
    }
}

#[function_component(ReportFormView)]
pub fn report_form_view(p: &ReportFormProps) -> Html {
    let l = use_lang();
    let shell = use_shell();
    let options = use_load((), |_| bridge::form_options());
    let form = use_state(|| ReportForm::new(UnitId::new("")));
    let saving = use_state(|| false);
    let locating = use_state(|| Locating::Idle);
    let on_locate = {
        let (form, locating) = (form.clone(), locating.clone());
        Callback::from(move |_: MouseEvent| {
            let (form, locating) = (form.clone(), locating.clone());
            locating.set(Locating::Busy);
            wasm_bindgen_futures::spawn_local(async move {
                match bridge::location().await {
                    Some(gps) => {
                        let mut f = (*form).clone();
                        f.gps = Some(gps);
                        form.set(f);
                        locating.set(Locating::Idle);
                    }
                    None => locating.set(Locating::Unavailable),
                }
            });
        })
    };
    let failed = use_state(|| None::<String>);
    // Other cases of the same parties, found before saving: shown until the person reports
    // anyway or goes back to edit.
    let matches = use_state(|| None::<Vec<MatchRow>>);
    let checking = use_state(|| false);
    let node = use_node_ref();
    // Opened from a visit, the form appears below the household: bring it into view.
    {
        let (node, visit) = (node.clone(), matches!(p.mode, Mode::Visit { .. }));
        use_effect_with((), move |_| {
            if let Some(e) = node.cast::<web_sys::Element>().filter(|_| visit) {
                e.scroll_into_view();
            }
        });
    }
    // Once the options arrive: the household's grid on a visit, else the first place offered;
    // centre staff take walk-ins, everyone else reports what they found on their rounds.
    {
        let (form, mode) = (form.clone(), p.mode.clone());
        let at_centre_only = shell
            .me()
            .is_some_and(|me| me.at_centre && me.grids.is_empty());
        let first_place = match &*options {
            Load::Ready(o) => o.places.first().map(|u| u.id.clone()),
            _ => None,
        };
        use_effect_with(
            (first_place, at_centre_only),
            move |(first, at_centre_only)| {
                let mut f = (*form).clone();
                match &mode {
                    Mode::Visit { grid, .. } => {
                        f.place_unit = grid.clone();
                        f.source = Source::GridVisit;
                    }
                    Mode::Report => {
                        if let Some(first) = first {
                            f.place_unit = first.clone();
                        }
                        f.source = if *at_centre_only {
                            Source::WalkIn
                        } else {
                            Source::GridVisit
                        };
                    }
                }
                form.set(f);
            },
        );
    }
    let body = loaded(l, &options, |o: &FormOptions| {
        let taxonomy = Taxonomy {
            categories: o.categories.clone(),
        };
        // A text field bound to the form: edits on input, marks it visited on blur.
        let field = |name: String, key: Key, value: String, multiline: bool, set: Setter| {
            let oninput = {
                let (form, set) = (form.clone(), set.clone());
                Callback::from(move |e: InputEvent| {
                    let mut f = (*form).clone();
                    set(&mut f, text_of(&e));
                    form.set(f);
                })
            };
            let onblur = {
                let (form, name) = (form.clone(), name.clone());
                Callback::from(move |_: FocusEvent| {
                    let mut f = (*form).clone();
                    f.touch(&name);
                    form.set(f);
                })
            };
            let message = form.shown_message(&taxonomy, &name, l);
            let id = field_id(&name);
            let inputmode = name.ends_with(".phone").then_some("tel");
            html! {
                <label class={classes!(message.is_some().then_some("invalid"))}>
                    { t(l, key) }
                    if multiline {
                        <textarea {id} value={value} {oninput} {onblur} />
                    } else {
                        <input {id} value={value} {oninput} {onblur} {inputmode} />
                    }
                    if let Some(m) = message { <span class="problem">{ m }</span> }
                </label>
            }
        };
        let select = |set: Setter| {
            let form = form.clone();
            Callback::from(move |e: Event| {
                let mut f = (*form).clone();
                set(&mut f, value_of(&e));
                form.set(f);
            })
        };
        let on_category = select(Rc::new(|f, v| {
            f.category = v;
            f.touch("category");
        }));
        let on_place = select(Rc::new(|f, v| f.place_unit = UnitId::new(v)));
        let on_source = select(Rc::new(|f, v| {
            if let Some(s) = labels::SOURCES
                .into_iter()
                .find(|&s| labels::source_code(s) == v)
            {
                f.source = s;
            }
        }));
        let category_message = form.shown_message(&taxonomy, "category", l);
        let parties: Html = (0..form.parties.len())
            .map(|i| {
                let on_role = select(Rc::new(move |f, v| {
                    if let Some(r) = labels::PARTY_ROLES
                        .into_iter()
                        .find(|&r| labels::party_role_code(r) == v)
                    {
                        f.parties[i].role = r;
                    }
                }));
                let role = form.parties[i].role;
                html! {
                    <fieldset class="party">
                        <label>{ t(l, Key::FieldPartyRole) }
                            <select id={field_id(&format!("parties[{i}].role"))} onchange={on_role}>
                                { for labels::PARTY_ROLES.iter().map(|&r| html! {
                                    <option value={labels::party_role_code(r)} selected={r == role}>
                                        { labels::party_role(l, r) }
                                    </option>
                                }) }
                            </select>
                        </label>
                        { field(format!("parties[{i}].name"), Key::FieldPartyName, form.parties[i].name.clone(), false,
                            Rc::new(move |f, v| f.parties[i].name = v)) }
                        { field(format!("parties[{i}].phone"), Key::FieldPhone, form.parties[i].phone.clone(), false,
                            Rc::new(move |f, v| f.parties[i].phone = v)) }
                        { field(format!("parties[{i}].id_number"), Key::FieldIdNumber, form.parties[i].id_number.clone(), false,
                            Rc::new(move |f, v| f.parties[i].id_number = v)) }
                    </fieldset>
                }
            })
            .collect();
        let add_party = {
            let form = form.clone();
            Callback::from(move |_| {
                let mut f = (*form).clone();
                f.parties.push(PartyForm::new(PartyRole::ThirdParty));
                form.set(f);
            })
        };
        // Records the report (with the visit, on a visit), then opens the case.
        let save: Rc<dyn Fn(NewCase)> = {
            let (saving, failed, matches) = (saving.clone(), failed.clone(), matches.clone());
            let (mode, on_saved, refresh) = (
                p.mode.clone(),
                p.on_saved.clone(),
                shell.refresh_sync.clone(),
            );
            Rc::new(move |report: NewCase| {
                let (saving, failed, on_saved, refresh, mode) = (
                    saving.clone(),
                    failed.clone(),
                    on_saved.clone(),
                    refresh.clone(),
                    mode.clone(),
                );
                saving.set(true);
                failed.set(None);
                matches.set(None);
                wasm_bindgen_futures::spawn_local(async move {
                    let saved = match mode {
                        Mode::Report => bridge::report_case(&report).await,
                        Mode::Visit {
                            household, note, ..
                        } => bridge::record_visit(&VisitInput {
                            household,
                            all_safe: false,
                            note,
                            dispute: Some(report),
                        })
                        .await
                        .and_then(|v| {
                            v.case.ok_or_else(|| {
                                bridge::BridgeError::Garbled("record_visit: no case".into())
                            })
                        }),
                    };
                    saving.set(false);
                    refresh.emit(());
                    match saved {
                        Ok(id) => on_saved.emit(id),
                        Err(e) => failed.set(Some(error_text(l, &e))),
                    }
                });
            })
        };
        // Save: once the form is valid, look for other cases of the same parties first; with
        // none (or when looking fails: never block a report), save at once.
        let onclick = {
            let (form, saving, checking, failed, matches, save) = (
                form.clone(),
                saving.clone(),
                checking.clone(),
                failed.clone(),
                matches.clone(),
                save.clone(),
            );
            let taxonomy = taxonomy.clone();
            Callback::from(move |_: MouseEvent| {
                if *saving || *checking {
                    return;
                }
                if !form.is_valid(&taxonomy) {
                    let mut f = (*form).clone();
                    f.attempted = true;
                    form.set(f);
                    return;
                }
                let report = form.to_new_case();
                let (checking, matches, save) = (checking.clone(), matches.clone(), save.clone());
                checking.set(true);
                failed.set(None);
                wasm_bindgen_futures::spawn_local(async move {
                    let found = bridge::report_matches(&report).await.unwrap_or_default();
                    checking.set(false);
                    if found.is_empty() {
                        save(report);
                    } else {
                        matches.set(Some(found));
                    }
                });
            })
        };
        let report_anyway = {
            let (form, saving, save) = (form.clone(), saving.clone(), save.clone());
            Callback::from(move |_: MouseEvent| {
                if !*saving {
                    save(form.to_new_case());
                }
            })
        };
        let back_to_edit = {
            let matches = matches.clone();
            Callback::from(move |_: MouseEvent| matches.set(None))
        };
        let visit = matches!(p.mode, Mode::Visit { .. });
        html! {
            <>
                { field("title".to_owned(), Key::FieldTitle, form.title.clone(), false, Rc::new(|f, v| f.title = v)) }
                <label class={classes!(category_message.is_some().then_some("invalid"))}>
                    { t(l, Key::FieldCategory) }
                    <select id="report-category" onchange={on_category}>
                        <option value="" selected={form.category.is_empty()}>{ t(l, Key::Choose) }</option>
                        { for o.categories.iter().map(|c| html! {
                            <option value={c.code.as_str().to_owned()} selected={form.category == c.code.as_str()}>
                                { category_name(l, c) }
                            </option>
                        }) }
                    </select>
                    if let Some(m) = category_message { <span class="problem">{ m }</span> }
                </label>
                { field("narrative".to_owned(), Key::FieldNarrative, form.narrative.clone(), true, Rc::new(|f, v| f.narrative = v)) }
                if !visit {
                    <label>{ t(l, Key::FieldPlace) }
                        <select id="report-place" onchange={on_place}>
                            { for o.places.iter().map(|u| html! {
                                <option value={u.id.to_string()} selected={form.place_unit == u.id}>
                                    { i18n::aside(l, &u.name, labels::tier(l, u.tier)) }
                                </option>
                            }) }
                        </select>
                    </label>
                }
                { field("address".to_owned(), Key::FieldAddress, form.address.clone(), false, Rc::new(|f, v| f.address = v)) }
                <div class="locate">
                    <button type="button" id="report-locate" onclick={on_locate} disabled={*locating == Locating::Busy}>
                        { t(l, if *locating == Locating::Busy { Key::Locating } else { Key::UseLocation }) }
                    </button>
                    { match (form.gps, &*locating) {
                        (Some((lat, lon)), _) => html! {
                            <span class="ok" id="report-gps">{ tf(l, Key::LocationSet, &[&format!("{lat:.5}, {lon:.5}")]) }</span>
                        },
                        (None, Locating::Unavailable) => html! {
                            <span class="muted" id="report-gps">{ t(l, Key::LocationUnavailable) }</span>
                        },
                        _ => html! {},
                    } }
                </div>
                if !visit {
                    <label>{ t(l, Key::FieldSource) }
                        <select id="report-source" onchange={on_source}>
                            { for labels::SOURCES.iter().map(|&s| html! {
                                <option value={labels::source_code(s)} selected={form.source == s}>
                                    { labels::source(l, s) }
                                </option>
                            }) }
                        </select>
                    </label>
                }
                <h3>{ t(l, Key::FieldParties) }</h3>
                if let Some(m) = form.shown_message(&taxonomy, "parties", l) { <p class="problem">{ m }</p> }
                { parties }
                <button type="button" id="report-add-party" onclick={add_party}>{ t(l, Key::AddParty) }</button>
                if let Some(found) = &*matches {
                    <section class="report-matches" id="report-matches" role="alert">
                        <h3>{ prevention::report_heading(l, found) }</h3>
                        <p class="muted">{ t(l, Key::ReportMatchesHint) }</p>
                        <ul class="match-list">
                            { for found.iter().map(|m| html! {
                                <li class={classes!("match-row", m.possible_duplicate.then_some("possible-duplicate"))}
                                    data-id={m.row.summary.id.to_string()}>
                                    <span class="case-line">
                                        // Not a link: leaving would lose what was typed.
                                        <span class="match-title">{ m.row.summary.title.clone() }</span>
                                        <span class={classes!("case-status", format!("status-{}", m.row.summary.status.code()))}>
                                            { labels::status(l, m.row.summary.status) }
                                        </span>
                                    </span>
                                    <span class="match-how muted">{ prevention::how(l, m) }</span>
                                    if let Some(k) = prevention::mark(m) {
                                        <span class={classes!("match-mark", (k == Key::PossibleDuplicate).then_some("warn-mark"))}>
                                            { t(l, k) }
                                        </span>
                                    }
                                </li>
                            }) }
                        </ul>
                        <div class="button-row">
                            <button type="button" class="secondary" id="report-edit" onclick={back_to_edit}>
                                { t(l, Key::ReportEdit) }
                            </button>
                            <button type="button" class="primary" id="report-anyway" disabled={*saving} onclick={report_anyway}>
                                { t(l, if *saving { Key::Saving } else { Key::ReportAnyway }) }
                            </button>
                        </div>
                    </section>
                } else {
                    <button type="button" class="primary" id="report-save" disabled={*saving || *checking} {onclick}>
                        { t(l, if *saving { Key::Saving } else if *checking { Key::Checking } else { Key::Save }) }
                    </button>
                }
                if let Some(m) = &*failed { <p class="error" role="alert">{ m.clone() }</p> }
            </>
        }
    });
    let title = match p.mode {
        Mode::Report => Key::ReportDispute,
        Mode::Visit { .. } => Key::ReportFromVisit,
    };
    let cancel = p.on_cancel.clone().map(|c| {
        html! {
            <button type="button" class="secondary" id="report-cancel" onclick={Callback::from(move |_| c.emit(()))}>
                { t(l, Key::Cancel) }
            </button>
        }
    });
    html! {
        <section class="card report-form" ref={node}>
            <h2>{ t(l, title) }</h2>
            { body }
            { cancel.unwrap_or_default() }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_ids_are_the_ones_the_tests_use() {
        assert_eq!(field_id("title"), "report-title");
        assert_eq!(field_id("parties[0].name"), "report-parties-0--name");
        assert_eq!(field_id("parties[1].role"), "report-parties-1--role");
    }
}
