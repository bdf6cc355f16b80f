//! Figures (`/figures`): the numbers every centre reports (受理, 化解, 化解率, 按期办结率, 回访满意率),
//! for this month, quarter, year or all time, with bar charts by category, month and unit drawn
//! as inline SVG from [`crate::charts`]. Rates read the way the reports quote them:
//! "176/182 = 96.7%".

use crate::app::use_lang;
use crate::bridge::{self, FiguresScreen};
use crate::charts::{self, Chart, BAR_HEIGHT, BAR_TOP, WIDTH};
use crate::i18n::{t, tf, Key, Lang};
use crate::time::{self, Period};
use crate::widgets::{loaded, use_load, value_of, Load};
use yew::prelude::*;

fn period_key(p: Period) -> Key {
    match p {
        Period::Month => Key::ThisMonth,
        Period::Quarter => Key::ThisQuarter,
        Period::Year => Key::ThisYear,
        Period::All => Key::AllTime,
    }
}

fn stat(l: Lang, id: &'static str, key: Key, value: String, wide: bool) -> Html {
    html! {
        <div class={classes!("stat", wide.then_some("wide"))}>
            <span class="stat-label">{ t(l, key) }</span>
            <span class="stat-value" {id}>{ value }</span>
        </div>
    }
}

/// A chart as inline SVG: one row per bar, its label and "resolved/received" above the bar.
fn chart_svg(l: Lang, id: &'static str, title: Key, chart: &Chart) -> Html {
    let view_box = format!("0 0 {WIDTH} {}", chart.height);
    let body = html! {
        <>
            if chart.bars.is_empty() {
                <p class="muted">{ t(l, Key::NoData) }</p>
            }
            <svg {id} class="chart" viewBox={view_box} role="img" aria-label={t(l, title)}
                 preserveAspectRatio="xMinYMin meet">
                { for chart.bars.iter().map(|b| html! {
                    <g class="bar" data-key={b.key.clone()}>
                        <title>{ format!("{}: {}", b.label, b.value()) }</title>
                        <text class="bar-label" x="0" y={(b.y + 14.0).to_string()}>{ b.label.clone() }</text>
                        <text class="bar-value" x={WIDTH.to_string()} y={(b.y + 14.0).to_string()} text-anchor="end">
                            { b.value() }
                        </text>
                        <rect class="bar-received" x="0" y={(b.y + BAR_TOP).to_string()}
                            width={b.received_width.to_string()} height={BAR_HEIGHT.to_string()} rx="3" />
                        <rect class="bar-resolved" x="0" y={(b.y + BAR_TOP).to_string()}
                            width={b.resolved_width.to_string()} height={BAR_HEIGHT.to_string()} rx="3" />
                    </g>
                }) }
            </svg>
        </>
    };
    html! {
        <section class="card chart-card">
            <h3>{ t(l, title) }</h3>
            <p class="legend">
                <span class="swatch received"></span>{ t(l, Key::Received) }
                <span class="swatch resolved"></span>{ t(l, Key::Resolved) }
            </p>
            { body }
        </section>
    }
}

#[function_component(FiguresPage)]
pub fn figures_page() -> Html {
    let l = use_lang();
    let period = use_state(|| Period::Month);
    let report = use_load(*period, |p| async move {
        let (from, to) = p.range(time::now_ms());
        bridge::figures(&from, &to).await
    });
    // English category names, when the taxonomy is at hand.
    let options = use_load((), |_| bridge::form_options());
    let english = move |code: &str| match &*options {
        Load::Ready(o) => o
            .categories
            .iter()
            .find(|c| c.code.as_str() == code)
            .map(|c| c.en.clone()),
        _ => None,
    };
    let on_period = {
        let period = period.clone();
        Callback::from(move |e: Event| {
            if let Some(p) = Period::from_code(&value_of(&e)) {
                period.set(p);
            }
        })
    };
    let body = loaded(l, &report, |s: &FiguresScreen| {
        let f = &s.report.total;
        html! {
            <>
                <section class="card stats">
                    <h2>{ tf(l, Key::FiguresOf, &[&s.unit_name]) }</h2>
                    <div class="stat-grid">
                        { stat(l, "figures-received", Key::Received, f.received.to_string(), false) }
                        // Cases linked as one matter count once here; every other figure counts cases.
                        { stat(l, "figures-matters", Key::MattersStat, tf(l, Key::MattersValue, &[&f.matters, &f.linked]), false) }
                        { stat(l, "figures-resolved", Key::Resolved, f.resolved.to_string(), false) }
                        { stat(l, "figures-open", Key::OpenCases, f.open.to_string(), false) }
                        { stat(l, "figures-overdue", Key::OverdueCount, f.overdue.to_string(), false) }
                        { stat(l, "figures-stabilised", Key::StabilisedCount, f.stabilised.to_string(), false) }
                        { stat(l, "figures-escalated", Key::EscalatedOut, f.escalated_out.to_string(), false) }
                        { stat(l, "figures-supervised", Key::SupervisedCount, f.supervised.to_string(), false) }
                        if f.orders > 0 {
                            { stat(l, "figures-orders", Key::OrdersCount, f.orders.to_string(), false) }
                            { stat(l, "figures-returned", Key::ReturnedCount, f.returned.to_string(), false) }
                        }
                        { stat(l, "figures-resolution-rate", Key::ResolutionRate, f.resolution_rate().to_string(), true) }
                        { stat(l, "figures-completion-rate", Key::CompletionRate, f.completion_rate().to_string(), true) }
                        { stat(l, "figures-on-time-rate", Key::OnTimeRate, f.on_time_rate().to_string(), true) }
                        { stat(l, "figures-satisfaction-rate", Key::SatisfactionRate, f.satisfaction_rate().to_string(), true) }
                    </div>
                </section>
                { chart_svg(l, "chart-category", Key::ByCategory, &charts::by_category(s, &english, l)) }
                { chart_svg(l, "chart-month", Key::ByMonth, &charts::by_month(s, l)) }
                { chart_svg(l, "chart-unit", Key::ByUnit, &charts::by_unit(s)) }
            </>
        }
    });
    html! {
        <div id="figures" class="page">
            <h2 class="page-title">{ t(l, Key::NavFigures) }</h2>
            <label class="card period">{ t(l, Key::Period) }
                <select id="figures-period" onchange={on_period}>
                    { for Period::ALL.iter().map(|&p| html! {
                        <option value={p.code()} selected={*period == p}>{ t(l, period_key(p)) }</option>
                    }) }
                </select>
            </label>
            { body }
        </div>
    }
}
