//! The backtest page's form: the common choices (universe, strategy, score, K, rebalance,
//! weighting, costs, a parameter sweep with its objective) written as the same TOML file the
//! text box holds, so a user who never writes TOML runs every strategy and one who does edits
//! the result.

use crate::i18n::use_i18n;
use leptos::prelude::*;

/// What the form holds, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// Comma-separated symbols; empty with a board.
    pub symbols: String,
    /// `main`, `chinext`, `star`, `index`, …; empty with symbols.
    pub board: String,
    pub from: String,
    pub to: String,
    /// `top_k`, `threshold`, `monthly_rotation` or `sma_cross`.
    pub kind: String,
    pub score: String,
    pub filter: String,
    pub k: String,
    /// `daily`, `weekly`, `monthly` or a number of trading days.
    pub rebalance: String,
    /// `equal`, `score` or `inverse_vol`.
    pub weighting: String,
    pub buy: String,
    pub sell: String,
    pub max_positions: String,
    pub hold_days: String,
    pub top_fraction: String,
    pub fast: String,
    pub slow: String,
    pub initial_cash: String,
    /// Commission in percent of turnover.
    pub commission_pct: String,
    pub min_commission: String,
    pub slippage_bps: String,
    pub stamp_duty: bool,
    pub transfer_fee: bool,
    /// The swept parameter's name (empty: no sweep) and its comma-separated values.
    pub sweep: String,
    pub sweep_values: String,
    /// `sharpe`, `total_return` or `min_max_drawdown`.
    pub objective: String,
    pub train_days: String,
    pub test_days: String,
}

impl Default for Form {
    fn default() -> Self {
        Form {
            symbols: "600000.SH, 000001.SZ, 000151.SZ".into(),
            board: String::new(),
            from: "2015-01-05".into(),
            to: "2024-09-19".into(),
            kind: "top_k".into(),
            score: "rank(-delta($close, 20) / ref($close, 20))".into(),
            filter: String::new(),
            k: "2".into(),
            rebalance: "monthly".into(),
            weighting: "equal".into(),
            buy: "$close > mean($close, 20)".into(),
            sell: "$close < mean($close, 20)".into(),
            max_positions: "3".into(),
            hold_days: String::new(),
            top_fraction: "0.34".into(),
            fast: "5".into(),
            slow: "20".into(),
            initial_cash: "1000000".into(),
            commission_pct: "0.025".into(),
            min_commission: "5".into(),
            slippage_bps: "1".into(),
            stamp_duty: true,
            transfer_fee: true,
            sweep: String::new(),
            sweep_values: String::new(),
            objective: "sharpe".into(),
            train_days: "500".into(),
            test_days: "120".into(),
        }
    }
}

/// A TOML string literal: JSON's escapes (\" \\ \n \uXXXX) are TOML's basic-string ones.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A number as typed, or the quoted text when it is not one (the parser then names the key).
fn number(s: &str) -> String {
    let t = s.trim().replace('_', "");
    if t.parse::<f64>().is_ok() {
        t
    } else {
        quoted(s.trim())
    }
}

/// The list of a comma-separated field, each item a number when it reads as one.
fn list(s: &str, numbers: bool) -> String {
    let items: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| if numbers { number(x) } else { quoted(x) })
        .collect();
    format!("[{}]", items.join(", "))
}

impl Form {
    /// The file the form describes.
    pub fn to_toml(&self) -> String {
        let mut t = String::from("[universe]\n");
        if !self.symbols.trim().is_empty() {
            t += &format!("symbols = {}\n", list(&self.symbols, false));
        }
        if !self.board.trim().is_empty() {
            t += &format!("board = {}\n", quoted(self.board.trim()));
        }
        for (key, v) in [("from", &self.from), ("to", &self.to)] {
            if !v.trim().is_empty() {
                t += &format!("{key} = {}\n", v.trim());
            }
        }
        t += &format!("\n[strategy]\nkind = {}\n", quoted(&self.kind));
        match self.kind.as_str() {
            "top_k" => {
                t += &format!("score = {}\n", quoted(&self.score));
                t += &format!("k = {}\n", number(&self.k));
                let r = self.rebalance.trim();
                t += &format!(
                    "rebalance = {}\n",
                    if r.parse::<usize>().is_ok() {
                        r.to_string()
                    } else {
                        quoted(r)
                    }
                );
                t += &format!("weighting = {}\n", quoted(&self.weighting));
                if !self.filter.trim().is_empty() {
                    t += &format!("filter = {}\n", quoted(&self.filter));
                }
            }
            "threshold" => {
                t += &format!(
                    "buy = {}\nsell = {}\n",
                    quoted(&self.buy),
                    quoted(&self.sell)
                );
                t += &format!("max_positions = {}\n", number(&self.max_positions));
                if !self.hold_days.trim().is_empty() {
                    t += &format!("hold_days = {}\n", number(&self.hold_days));
                }
            }
            "monthly_rotation" => {
                t += &format!("top_fraction = {}\n", number(&self.top_fraction));
            }
            _ => {
                t += &format!(
                    "fast = {}\nslow = {}\n",
                    number(&self.fast),
                    number(&self.slow)
                );
            }
        }
        let commission = self.commission_pct.trim().parse::<f64>().map_or_else(
            |_| quoted(&self.commission_pct),
            |p| format!("{}", p / 100.0),
        );
        t += &format!(
            "\n[engine]\ninitial_cash = {}\nfees = {{ stock_commission = {commission}, stock_min_commission = {}, stamp_duty = {}, transfer_fee = {} }}\nslippage = {{ kind = \"bps\", bps = {} }}\n",
            number(&self.initial_cash),
            number(&self.min_commission),
            self.stamp_duty,
            self.transfer_fee,
            number(&self.slippage_bps),
        );
        if !self.sweep.trim().is_empty() {
            t += &format!(
                "\n[walk_forward]\ntrain_days = {}\ntest_days = {}\nobjective = {}\ngrid = {{ {} = {} }}\n",
                number(&self.train_days),
                number(&self.test_days),
                quoted(&self.objective),
                self.sweep.trim(),
                list(&self.sweep_values, true),
            );
        }
        t
    }
}

/// One text input of the form.
fn text_field(
    id: &'static str,
    label: (&'static str, &'static str),
    form: RwSignal<Form>,
    get: fn(&Form) -> String,
    set: fn(&mut Form, String),
    wide: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label class=if wide { "field wide" } else { "field" }>
            <span>{move || i18n.tr(label.0, label.1)}</span>
            <input type="text" id=id prop:value=move || form.with(get)
                on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
        </label>
    }
}

/// One choice of the form.
fn select_field(
    id: &'static str,
    label: (&'static str, &'static str),
    form: RwSignal<Form>,
    options: &'static [(&'static str, &'static str)],
    get: fn(&Form) -> String,
    set: fn(&mut Form, String),
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label class="field">
            <span>{move || i18n.tr(label.0, label.1)}</span>
            <select id=id on:change=move |ev| form.update(|f| set(f, event_target_value(&ev)))>
                {options.iter().map(|(value, text)| view! {
                    <option value=*value selected=move || form.with(get) == *value>{*text}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// The form; "Write the file" replaces `text` with what it describes.
#[component]
pub fn BacktestForm(text: RwSignal<String>) -> impl IntoView {
    let i18n = use_i18n();
    let form = RwSignal::new(Form::default());
    let kind = move || form.with(|f| f.kind.clone());
    view! {
        <details class="bt-form-panel" id="bt-form-panel">
            <summary>{move || i18n.tr("表单（写出左侧的 TOML）", "Form (writes the TOML file)")}</summary>
            <div class="bt-form">
                {text_field("bt-f-symbols", ("股票（逗号分隔）", "Symbols (comma-separated)"), form, |f| f.symbols.clone(), |f, v| f.symbols = v, true)}
                {select_field("bt-f-board", ("板块", "Board"), form,
                    &[("", "—"), ("main", "main"), ("chinext", "chinext"), ("star", "star"), ("bse", "bse"), ("etf", "etf"), ("index", "index")],
                    |f| f.board.clone(), |f, v| f.board = v)}
                {text_field("bt-f-from", ("开始", "From"), form, |f| f.from.clone(), |f, v| f.from = v, false)}
                {text_field("bt-f-to", ("结束", "To"), form, |f| f.to.clone(), |f, v| f.to = v, false)}
                {select_field("bt-f-kind", ("策略", "Strategy"), form,
                    &[("top_k", "top_k"), ("threshold", "threshold"), ("monthly_rotation", "monthly_rotation"), ("sma_cross", "sma_cross")],
                    |f| f.kind.clone(), |f, v| f.kind = v)}
                <Show when=move || kind() == "top_k">
                    {text_field("bt-f-score", ("评分表达式", "Score expression"), form, |f| f.score.clone(), |f, v| f.score = v, true)}
                    {text_field("bt-f-filter", ("过滤（可选）", "Filter (optional)"), form, |f| f.filter.clone(), |f, v| f.filter = v, true)}
                    {text_field("bt-f-k", ("K", "K"), form, |f| f.k.clone(), |f, v| f.k = v, false)}
                    {text_field("bt-f-rebalance", ("调仓 (daily/weekly/monthly/N)", "Rebalance (daily/weekly/monthly/N)"), form, |f| f.rebalance.clone(), |f, v| f.rebalance = v, false)}
                    {select_field("bt-f-weighting", ("权重", "Weighting"), form,
                        &[("equal", "equal"), ("score", "score"), ("inverse_vol", "inverse_vol")],
                        |f| f.weighting.clone(), |f, v| f.weighting = v)}
                </Show>
                <Show when=move || kind() == "threshold">
                    {text_field("bt-f-buy", ("买入条件", "Buy when"), form, |f| f.buy.clone(), |f, v| f.buy = v, true)}
                    {text_field("bt-f-sell", ("卖出条件", "Sell when"), form, |f| f.sell.clone(), |f, v| f.sell = v, true)}
                    {text_field("bt-f-max", ("最多持仓", "Max positions"), form, |f| f.max_positions.clone(), |f, v| f.max_positions = v, false)}
                    {text_field("bt-f-hold", ("持有天数（可选）", "Hold days (optional)"), form, |f| f.hold_days.clone(), |f, v| f.hold_days = v, false)}
                </Show>
                <Show when=move || kind() == "monthly_rotation">
                    {text_field("bt-f-top", ("前百分比 (0–1)", "Top fraction (0–1)"), form, |f| f.top_fraction.clone(), |f, v| f.top_fraction = v, false)}
                </Show>
                <Show when=move || kind() == "sma_cross">
                    {text_field("bt-f-fast", ("快线", "Fast"), form, |f| f.fast.clone(), |f, v| f.fast = v, false)}
                    {text_field("bt-f-slow", ("慢线", "Slow"), form, |f| f.slow.clone(), |f, v| f.slow = v, false)}
                </Show>
                {text_field("bt-f-cash", ("初始资金", "Initial cash"), form, |f| f.initial_cash.clone(), |f, v| f.initial_cash = v, false)}
                {text_field("bt-f-commission", ("佣金 (%)", "Commission (%)"), form, |f| f.commission_pct.clone(), |f, v| f.commission_pct = v, false)}
                {text_field("bt-f-min-commission", ("最低佣金", "Minimum commission"), form, |f| f.min_commission.clone(), |f, v| f.min_commission = v, false)}
                {text_field("bt-f-slippage", ("滑点 (bp)", "Slippage (bp)"), form, |f| f.slippage_bps.clone(), |f, v| f.slippage_bps = v, false)}
                <label class="field"><span>{move || i18n.tr("印花税", "Stamp duty")}</span>
                    <input type="checkbox" id="bt-f-stamp" prop:checked=move || form.with(|f| f.stamp_duty)
                        on:change=move |ev| form.update(|f| f.stamp_duty = event_target_checked(&ev))/></label>
                <label class="field"><span>{move || i18n.tr("过户费", "Transfer fee")}</span>
                    <input type="checkbox" id="bt-f-transfer" prop:checked=move || form.with(|f| f.transfer_fee)
                        on:change=move |ev| form.update(|f| f.transfer_fee = event_target_checked(&ev))/></label>
                {text_field("bt-f-sweep", ("参数寻优：参数名（可选）", "Sweep: parameter (optional)"), form, |f| f.sweep.clone(), |f, v| f.sweep = v, false)}
                {text_field("bt-f-sweep-values", ("取值（逗号分隔）", "Values (comma-separated)"), form, |f| f.sweep_values.clone(), |f, v| f.sweep_values = v, false)}
                {select_field("bt-f-objective", ("优化目标", "Objective"), form,
                    &[("sharpe", "max Sharpe"), ("total_return", "max return"), ("calmar", "max Calmar"), ("min_max_drawdown", "min max drawdown")],
                    |f| f.objective.clone(), |f, v| f.objective = v)}
                {text_field("bt-f-train", ("训练天数", "Train days"), form, |f| f.train_days.clone(), |f, v| f.train_days = v, false)}
                {text_field("bt-f-test", ("测试天数", "Test days"), form, |f| f.test_days.clone(), |f, v| f.test_days = v, false)}
            </div>
            <button type="button" class="btn" id="bt-form-apply"
                on:click=move |_| text.set(form.with(Form::to_toml))>
                {move || i18n.tr("写入配置", "Write the file")}</button>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kxian_shared::backtest::config::{self, StrategyConfig};

    #[test]
    fn every_kind_writes_a_file_the_parser_reads_back() {
        for kind in ["top_k", "threshold", "monthly_rotation", "sma_cross"] {
            let f = Form {
                kind: kind.into(),
                ..Form::default()
            };
            let text = f.to_toml();
            let c =
                config::parse(&text).unwrap_or_else(|e| panic!("{kind}: {}\n{text}", e.message));
            assert_eq!(c.universe.symbols.len(), 3);
            assert!((c.engine.fees.stock_commission - 0.00025).abs() < 1e-15);
        }
    }

    #[test]
    fn the_choices_reach_the_file() {
        let f = Form {
            symbols: String::new(),
            board: "main".into(),
            score: "pred.p_up".into(),
            k: "5".into(),
            rebalance: "10".into(),
            weighting: "inverse_vol".into(),
            stamp_duty: false,
            transfer_fee: false,
            commission_pct: "0.03".into(),
            sweep: "k".into(),
            sweep_values: "1, 2, 3".into(),
            objective: "min_max_drawdown".into(),
            ..Form::default()
        };
        let text = f.to_toml();
        // pred.* needs a set: the file says so until one is picked.
        let e = config::parse(&text).unwrap_err();
        assert!(e.message.contains("pred.p_up"), "{}", e.message);
        let f = Form {
            score: "rank($close / ref($close, 20))".into(),
            ..f
        };
        let c = config::parse(&f.to_toml()).unwrap();
        assert_eq!(c.universe.board.as_deref(), Some("main"));
        let StrategyConfig::TopK(t) = &c.strategy else {
            panic!("top_k")
        };
        assert_eq!(t.k, Some(5));
        assert_eq!(
            t.rebalance,
            kxian_shared::backtest::top_k::Rebalance::Days(10)
        );
        assert_eq!(
            t.weighting,
            kxian_shared::backtest::top_k::Weighting::InverseVol
        );
        assert!(!c.engine.fees.stamp_duty && !c.engine.fees.transfer_fee);
        assert!((c.engine.fees.stock_commission - 0.0003).abs() < 1e-15);
        let w = c.walk_forward.unwrap();
        assert_eq!(w.grid["k"].len(), 3);
        assert_eq!(
            w.objective,
            kxian_shared::backtest::walk_forward::Objective::MinMaxDrawdown
        );
        // A mistyped number reaches the parser, which names the key.
        let bad = Form {
            k: "two".into(),
            ..Form::default()
        };
        let e = config::parse(&bad.to_toml()).unwrap_err();
        assert!(e.message.contains("two"), "{}", e.message);
    }
}
