//! The ledger (`/ledger`, 台账), the centre's desk screen: the cases of the centre's unit
//! reported in a period as a table (the exported ledger's main columns), sorted by a click on a
//! column's name ([`crate::desk::Sort`]), and the export buttons: the ledger as XLSX, the
//! weekly, monthly and quarterly reports as XLSX or PDF. An export asks where to save with the
//! platform's save dialog ([`bridge::save_dialog`]) and then has the shell write the file from
//! this device's store (`export_paperwork`), which logs it.

use crate::app::{use_lang, Route};
use crate::bridge::{self, DeskDocument, ExportDone, ExportFormat, ExportInput, LedgerScreen};
use crate::desk::{self, Column, Sort};
use crate::i18n::{t, tf, Key, Lang};
use crate::time::{self, Period};
use crate::widgets::{error_text, loaded, use_load, value_of, RouteLink};
use yew::prelude::*;

fn period_key(p: Period) -> Key {
    match p {
        Period::Month => Key::ThisMonth,
        Period::Quarter => Key::ThisQuarter,
        Period::Year => Key::ThisYear,
        Period::All => Key::AllTime,
    }
}

fn header(l: Lang, c: Column) -> &'static str {
    match l {
        Lang::Zh => c.zh(),
        Lang::En => c.en(),
    }
}

fn export_label(l: Lang, d: DeskDocument, f: ExportFormat) -> String {
    let name = match l {
        Lang::Zh => desk::document_zh(d),
        Lang::En => desk::document_en(d),
    };
    format!("{name} {}", f.extension().to_uppercase())
}

/// What the last export did.
#[derive(Clone, Debug, PartialEq)]
enum Exported {
    None,
    Busy,
    Done(ExportDone),
    Cancelled,
    Failed(String),
}

#[function_component(LedgerPage)]
pub fn ledger_page() -> Html {
    let l = use_lang();
    let period = use_state(|| Period::Month);
    let sort = use_state(Sort::default);
    let exported = use_state(|| Exported::None);
    let screen = use_load(*period, |p| async move {
        let (from, to) = p.range(time::now_ms());
        bridge::ledger(&from, &to).await
    });
    let on_period = {
        let period = period.clone();
        Callback::from(move |e: Event| {
            if let Some(p) = Period::from_code(&value_of(&e)) {
                period.set(p);
            }
        })
    };
    let export = {
        let (period, exported) = (*period, exported.clone());
        move |s: &LedgerScreen, document: DeskDocument, format: ExportFormat| {
            let exported = exported.clone();
            let name = desk::file_name(&s.unit_name, document, format, &s.first, &s.last);
            let title = export_label(l, document, format);
            Callback::from(move |_: MouseEvent| {
                let (exported, name, title) = (exported.clone(), name.clone(), title.clone());
                exported.set(Exported::Busy);
                wasm_bindgen_futures::spawn_local(async move {
                    let ext = format.extension();
                    let chosen = bridge::save_dialog(&title, &name, &ext.to_uppercase(), ext).await;
                    let path = match chosen {
                        Ok(Some(p)) => p,
                        Ok(None) => return exported.set(Exported::Cancelled),
                        Err(e) => return exported.set(Exported::Failed(error_text(l, &e))),
                    };
                    let (from, to) = period.range(time::now_ms());
                    let input = ExportInput {
                        document,
                        format,
                        from,
                        to,
                        path,
                    };
                    exported.set(match bridge::export_paperwork(&input).await {
                        Ok(done) => Exported::Done(done),
                        Err(e) => Exported::Failed(error_text(l, &e)),
                    });
                });
            })
        }
    };
    let status = match &*exported {
        Exported::None => html! {},
        Exported::Busy => {
            html! { <p id="ledger-export-status" class="muted">{ t(l, Key::ExportSaving) }</p> }
        }
        Exported::Cancelled => {
            html! { <p id="ledger-export-status" class="muted">{ t(l, Key::ExportCancelled) }</p> }
        }
        Exported::Done(d) => html! {
            <p id="ledger-export-status" class="ok">{ tf(l, Key::ExportDoneMsg, &[&d.cases, &d.path]) }</p>
        },
        Exported::Failed(e) => {
            html! { <p id="ledger-export-status" class="error">{ e.clone() }</p> }
        }
    };
    let body = loaded(l, &screen, |s: &LedgerScreen| {
        let mut lines = s.lines.clone();
        sort.apply(&mut lines);
        html! {
            <>
                <section class="card ledger-head">
                    <h2 id="ledger-title">{ tf(l, Key::LedgerOf, &[&s.unit_name]) }</h2>
                    <p class="muted" id="ledger-days">
                        { tf(l, Key::LedgerDays, &[&s.first, &s.last, &s.lines.len()]) }
                        { " · " }
                        <span id="ledger-ids">{ t(l, if s.masked { Key::LedgerMasked } else { Key::LedgerFull }) }</span>
                    </p>
                    <div class="export-buttons" role="group" aria-label={t(l, Key::Exports)}>
                        { for desk::exports().into_iter().map(|(d, f)| html! {
                            <button id={desk::export_id(d, f)} class="secondary"
                                disabled={*exported == Exported::Busy}
                                onclick={export(s, d, f)}>
                                { export_label(l, d, f) }
                            </button>
                        }) }
                    </div>
                    { status.clone() }
                </section>
                <section class="card ledger-card">
                    <p class="hint">{ t(l, Key::LedgerSortHint) }</p>
                    <div class="table-scroll">
                        <table id="ledger-table" class="ledger-table">
                            <thead>
                                <tr>
                                    { for Column::ALL.iter().map(|&c| {
                                        let onclick = {
                                            let sort = sort.clone();
                                            Callback::from(move |_: MouseEvent| sort.set(sort.clicked(c)))
                                        };
                                        let mark = match sort.aria(c) {
                                            "ascending" => " ▲",
                                            "descending" => " ▼",
                                            _ => "",
                                        };
                                        html! {
                                            <th scope="col" class={format!("col-{}", c.code())} aria-sort={sort.aria(c)}>
                                                <button id={format!("ledger-sort-{}", c.code())} class="sort" {onclick}>
                                                    { header(l, c) }{ mark }
                                                </button>
                                            </th>
                                        }
                                    }) }
                                </tr>
                            </thead>
                            <tbody>
                                { for lines.iter().map(|line| html! {
                                    <tr class={classes!("ledger-row", line.overdue.then_some("overdue"))} data-id={line.case.to_string()}>
                                        { for Column::ALL.iter().map(|&c| {
                                            if c == Column::Number {
                                                html! {
                                                    <td class="col-number">
                                                        <RouteLink to={Route::Case { id: line.case.to_string() }}>{ line.number.clone() }</RouteLink>
                                                    </td>
                                                }
                                            } else {
                                                html! { <td class={format!("col-{}", c.code())}>{ c.cell(line).to_owned() }</td> }
                                            }
                                        }) }
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                    </div>
                </section>
            </>
        }
    });
    html! {
        <div id="ledger" class="page desk-page">
            <h2 class="page-title">{ t(l, Key::NavLedger) }</h2>
            <label class="card period">{ t(l, Key::Period) }
                <select id="ledger-period" onchange={on_period}>
                    { for Period::ALL.iter().map(|&p| html! {
                        <option value={p.code()} selected={*period == p}>{ t(l, period_key(p)) }</option>
                    }) }
                </select>
            </label>
            { body }
        </div>
    }
}
