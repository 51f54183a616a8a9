//! The Training page's model zoo: a backbone, a target, a loss and (on the multi-dimensional
//! tab) industry, style and regime conditions, written as the `train-model` file the CLI
//! reads, run as a job on the server with its train and validation curves and learning rate
//! live; cancel, resume from the last checkpoint, and the card of the held-out test part.

use super::history::JobHistory;
use super::{split_symbols, submit_and_watch};
use crate::api;
use crate::charts::training::{ZooPoint, zoo_option};
use crate::components::echart::EChart;
use crate::i18n::use_i18n;
use kxian_shared::api::JobSpec;
use kxian_shared::jobs::{JobEvent, JobKind, JobResult, TrainModelJob};
use leptos::prelude::*;

/// What the form's fields say; [`ZooForm::file`] writes it as a training file.
#[derive(Debug, Clone, PartialEq)]
pub struct ZooForm {
    pub symbols: Vec<String>,
    pub market: String,
    pub backbone: String,
    pub features: String,
    pub context: String,
    pub target: String,
    pub horizon: String,
    pub loss: String,
    pub select: String,
    pub epochs: String,
    pub lr: String,
    pub max_seconds: String,
    /// The multi-dimensional tab: conditions, and one industry or all of them.
    pub conditions: Vec<&'static str>,
    pub industry: String,
}

/// Targets that are classes (their losses are `ce`, `focal` and `cost`).
pub fn is_class_target(target: &str) -> bool {
    matches!(target, "updown3" | "updown4" | "binary")
}

impl ZooForm {
    /// The training file: only what the fields set, so the trainer's defaults stay visible as
    /// defaults.
    pub fn file(&self) -> String {
        let q = |s: &str| format!("{s:?}");
        let mut out = String::from("[data]\n");
        out += &format!(
            "symbols = [{}]\n",
            self.symbols
                .iter()
                .map(|s| q(s))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !self.market.trim().is_empty() {
            out += &format!("market = {}\n", q(self.market.trim()));
        }
        let features = match self.features.as_str() {
            "factors" => "[\"factors\"]",
            "both" => "[\"bars\", \"factors\"]",
            "bars_market" => "[\"bars\", \"market\"]",
            _ => "[\"bars\"]",
        };
        out += &format!("features = {features}\n");
        let context = self.context.trim();
        if !context.is_empty() {
            // "20-100" is a random range, as EquiNet draws it.
            match context.split_once('-') {
                Some((a, b)) => out += &format!("context = [{}, {}]\n", a.trim(), b.trim()),
                None => out += &format!("context = {context}\n"),
            }
        }
        if !self.conditions.is_empty() {
            out += &format!(
                "conditions = [{}]\n",
                self.conditions
                    .iter()
                    .map(|c| q(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !self.industry.trim().is_empty() {
            out += &format!("industry = {}\n", q(self.industry.trim()));
        }
        out += &format!("\n[model]\nbackbone = {}\n", q(&self.backbone));
        out += &format!("\n[target]\nkind = {}\n", q(&self.target));
        if !self.horizon.trim().is_empty() {
            out += &format!("horizon = {}\n", self.horizon.trim());
        }
        let loss = if is_class_target(&self.target) == is_class_target_loss(&self.loss) {
            self.loss.clone()
        } else if is_class_target(&self.target) {
            "cost".into()
        } else {
            "huber".into()
        };
        out += &format!("\n[loss]\nkind = {}\n", q(&loss));
        out += "\n[train]\n";
        for (key, v) in [
            ("epochs", &self.epochs),
            ("lr", &self.lr),
            ("max_seconds", &self.max_seconds),
        ] {
            if !v.trim().is_empty() {
                out += &format!("{key} = {}\n", v.trim());
            }
        }
        if is_class_target(&self.target) {
            out += &format!("select = {}\n", q(&self.select));
        }
        out
    }
}

fn is_class_target_loss(loss: &str) -> bool {
    matches!(loss, "ce" | "focal" | "cost")
}

const BACKBONES: [(&str, &str, &str); 6] = [
    ("lstm", "LSTM", "LSTM"),
    ("gru", "GRU", "GRU"),
    ("cnn_lstm", "CNN + LSTM", "CNN + LSTM"),
    ("tsmixer", "TSMixer", "TSMixer"),
    (
        "transformer",
        "Transformer（可选 QK-norm）",
        "Transformer (optional QK-norm)",
    ),
    (
        "gbdt",
        "梯度提升树（表格因子）",
        "gradient-boosted trees (tabular factors)",
    ),
];

const TARGETS: [(&str, &str, &str); 6] = [
    ("updown3", "涨 / 跌 / 平", "up / down / flat"),
    (
        "updown4",
        "涨 / 跌 / 平 / 大跌",
        "up / down / flat / strong down",
    ),
    ("binary", "涨 / 跌", "up / down"),
    ("return", "未来收益", "forward return"),
    ("volatility", "未来波动率", "forward volatility"),
    (
        "multitask",
        "多任务（收益 + 夏普 + 回撤）",
        "multi-task (return + Sharpe + drawdown)",
    ),
];

const LOSSES: [(&str, &str, &str); 6] = [
    (
        "cost",
        "代价敏感（看涨实跌罚两倍）",
        "cost-sensitive (called up, fell: twice the penalty)",
    ),
    ("ce", "交叉熵", "cross-entropy"),
    ("focal", "Focal", "focal"),
    ("huber", "Huber", "Huber"),
    ("l1", "L1", "L1"),
    ("mse", "MSE", "MSE"),
];

#[component]
pub fn ZooTraining() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.lang();
    let symbols = RwSignal::new("000001.SZ, 600000.SH".to_string());
    let market = RwSignal::new(String::new());
    let backbone = RwSignal::new("lstm".to_string());
    let features = RwSignal::new("bars".to_string());
    let context = RwSignal::new("30".to_string());
    let target = RwSignal::new("updown3".to_string());
    let horizon = RwSignal::new("3".to_string());
    let loss = RwSignal::new("cost".to_string());
    let select = RwSignal::new("points".to_string());
    let epochs = RwSignal::new("5".to_string());
    let lr = RwSignal::new(String::new());
    let max_seconds = RwSignal::new("120".to_string());
    let multi = RwSignal::new(false);
    let conditions = RwSignal::new(Vec::<&'static str>::new());
    let industry = RwSignal::new(String::new());
    let form = move || ZooForm {
        symbols: split_symbols(&symbols.get()),
        market: market.get(),
        backbone: backbone.get(),
        features: features.get(),
        context: context.get(),
        target: target.get(),
        horizon: horizon.get(),
        loss: loss.get(),
        select: select.get(),
        epochs: epochs.get(),
        lr: lr.get(),
        max_seconds: max_seconds.get(),
        conditions: if multi.get() {
            conditions.get()
        } else {
            Vec::new()
        },
        industry: if multi.get() {
            industry.get()
        } else {
            String::new()
        },
    };
    // The file follows the fields; an edit in the text area wins until a field changes again.
    let file = RwSignal::new(String::new());
    Effect::new(move |_| file.set(form().file()));

    let job = RwSignal::new(None::<i64>);
    let state = RwSignal::new(String::new());
    let points = RwSignal::new(Vec::<ZooPoint>::new());
    // (model, card text, prediction set)
    let result = RwSignal::new(None::<(String, String, Option<i64>)>);
    let error = RwSignal::new(None::<String>);
    // The last epoch: its validation loss and, for a classifier, Brier and points.
    let last_epoch = RwSignal::new(None::<String>);
    let on_event = move |e: &JobEvent| match e {
        JobEvent::Step { step, loss, lr, .. } => points.update(|p| {
            p.push(ZooPoint::Step {
                step: *step,
                loss: f64::from(*loss),
                lr: *lr,
            })
        }),
        JobEvent::Epoch {
            epoch,
            val_loss,
            best,
            scores,
            ..
        } => {
            last_epoch.set(Some(format!(
                "epoch {epoch}: validation loss {val_loss:.4}{}{}",
                scores.map_or(String::new(), |s| format!(
                    ", Brier {:.4} (baseline {:.4}){}",
                    s.val_brier,
                    s.val_brier_baseline,
                    s.val_points
                        .map_or(String::new(), |p| format!(", points {p:+.4}"))
                )),
                if *best { ", best" } else { "" }
            )));
            points.update(|p| {
                let step = p
                    .iter()
                    .filter_map(|q| match q {
                        ZooPoint::Step { step, .. } => Some(*step),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0);
                p.push(ZooPoint::Val {
                    step,
                    loss: f64::from(*val_loss),
                })
            })
        }
        JobEvent::End {
            result: Some(JobResult::Zoo { model, card, set }),
            ..
        } => result.set(Some((
            model.clone(),
            kxian_shared::zoo::card::table(card),
            *set,
        ))),
        _ => {}
    };
    let submit = move |_| {
        let spec = JobSpec::TrainModel(TrainModelJob {
            config: file.get_untracked(),
        });
        error.set(None);
        points.set(Vec::new());
        last_epoch.set(None);
        result.set(None);
        leptos::task::spawn_local(async move {
            if let Some(j) = submit_and_watch(&spec, state, error, on_event).await {
                job.set(Some(j.id));
            }
        });
    };
    let cancel = move |_| super::cancel(job, error);
    // The retried job continues from its last checkpoint; its steps go on from there.
    let resume = move |_| {
        if let Some(id) = job.get_untracked() {
            error.set(None);
            leptos::task::spawn_local(async move {
                match api::retry_job(id).await {
                    Ok(j) => {
                        state.set(j.state.as_str().to_string());
                        super::watch(id, state, on_event);
                    }
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        }
    };
    let text = super::text_field;
    let choice =
        move |sig: RwSignal<String>,
              id: &'static str,
              label: (&'static str, &'static str),
              options: &'static [(&'static str, &'static str, &'static str)]| {
            view! {
                <label class="field"><span>{move || lang().tr(label.0, label.1)}</span>
                    <select id=id prop:value=move || sig.get() on:change=move |ev| sig.set(event_target_value(&ev))>
                        {options.iter().map(|(v, zh, en)| view! {
                            <option value=*v selected=move || sig.get() == *v>{move || lang().tr(zh, en)}</option>
                        }).collect_view()}
                    </select></label>
            }
        };
    let condition = move |name: &'static str, label: (&'static str, &'static str)| {
        view! {
            <label class="check"><input type="checkbox" id=format!("zoo-cond-{name}")
                prop:checked=move || conditions.get().contains(&name)
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    conditions.update(|c| {
                        c.retain(|x| *x != name);
                        if on {
                            c.push(name);
                            c.sort_unstable();
                        }
                    });
                }/>
                {move || lang().tr(label.0, label.1)}</label>
        }
    };
    view! {
        <section class="panel jobs-page" id="zoo">
            <h1>{move || lang().tr("训练模型库中的模型", "Train a model of the zoo")}</h1>
            <p class="hint">{move || lang().tr(
                "在服务器上用数据库中的序列训练 LSTM、GRU、CNN+LSTM、TSMixer、Transformer 或梯度提升树；测试期的指标写入模型卡，模型随后出现在“模型”页。",
                "Trains an LSTM, GRU, CNN + LSTM, TSMixer, Transformer or gradient-boosted trees on series of the store, on the server; the held-out test figures go into the model card, and the model then appears on the Models page.")}</p>
            <div class="tabs" role="tablist">
                <button type="button" id="zoo-tab-basic" class=move || if multi.get() { "tab" } else { "tab active" }
                    on:click=move |_| multi.set(false)>{move || lang().tr("基础", "Basic")}</button>
                <button type="button" id="zoo-tab-multi" class=move || if multi.get() { "tab active" } else { "tab" }
                    on:click=move |_| multi.set(true)>{move || lang().tr("多维（行业、风格、市场状态）", "Multi-dimensional (industry, style, regime)")}</button>
            </div>
            {text(symbols, "zoo-symbols", ("代码", "Symbols"), ("数据库中的序列，逗号分隔。", "Stored series, separated by commas."))}
            <div class="form-row">
                {choice(backbone, "zoo-backbone", ("模型结构", "Backbone"), &BACKBONES)}
                {choice(target, "zoo-target", ("目标", "Target"), &TARGETS)}
                {choice(loss, "zoo-loss", ("损失", "Loss"), &LOSSES)}
            </div>
            <div class="form-row">
                {choice(features, "zoo-features", ("特征", "Features"), &[
                    ("bars", "K线（归一化 OHLCV）", "bars (normalised OHLCV)"),
                    ("factors", "24 个因子", "the 24 factors"),
                    ("both", "两者", "both"),
                    ("bars_market", "K线 + 市场（量、涨跌、振幅）", "bars + market (volume, change, range)"),
                ])}
                {text(context, "zoo-context", ("上下文K线数", "Context bars"), ("固定长度，或随机范围如 20-100。", "A fixed length, or a random range such as 20-100."))}
                {text(horizon, "zoo-horizon", ("预测天数", "Horizon (days)"), ("标签看多少天后的结果。", "Days ahead the label looks."))}
            </div>
            <div class="form-row">
                {text(market, "zoo-market", ("市场指数（可选）", "Market index (optional)"), ("如 000300.SH：其走势作为特征，并给出市场状态。", "e.g. 000300.SH: its bars become features and give the regime."))}
                {text(epochs, "zoo-epochs", ("轮数", "Epochs"), ("每轮后在验证期上评估。", "Validated after each epoch."))}
                {text(lr, "zoo-lr", ("学习率", "Learning rate"), ("留空用默认值 0.001。", "Blank for the default 0.001."))}
                {text(max_seconds, "zoo-max-seconds", ("限时（秒）", "Seconds"), ("到时保留最好的检查点。", "When it runs out, the best checkpoint is kept."))}
            </div>
            {move || is_class_target(&target.get()).then(|| choice(select, "zoo-select", ("选模型", "Pick the checkpoint by"), &[
                ("points", "积分制（验证期决策得分）", "points of the decisions on validation (积分制)"),
                ("val_loss", "验证损失", "validation loss"),
            ]))}
            {move || multi.get().then(|| view! {
                <fieldset class="form-row" id="zoo-multi">
                    <legend>{move || lang().tr("条件（需要参考数据）", "Conditions (need reference data)")}</legend>
                    {condition("industry", ("行业（32 维）", "industry (32-d)"))}
                    {condition("style", ("风格：市值 × 估值（16 维）", "style: size × value (16-d)"))}
                    {condition("regime", ("市场状态（16 维，需市场指数）", "regime (16-d, needs a market index)"))}
                    {text(industry, "zoo-industry", ("单一行业（留空为统一模型）", "Single industry (blank: one unified model)"), ("如 finance、technology。", "e.g. finance, technology."))}
                </fieldset>
            })}
            <label class="field"><span>{move || lang().tr("训练文件（可直接编辑，与命令行相同）", "Training file (editable; the CLI reads the same)")}</span>
                <textarea id="zoo-config" rows="14" class="bt-text" prop:value=move || file.get()
                    on:input=move |ev| file.set(event_target_value(&ev))></textarea></label>
            <div class="actions">
                <button type="button" class="btn primary" id="zoo-submit" on:click=submit>{move || lang().tr("开始训练", "Start training")}</button>
                {move || (state.get() == "running" || state.get() == "queued").then(|| view! {
                    <button type="button" class="btn" id="zoo-cancel" on:click=cancel>{lang().tr("取消", "Cancel")}</button> })}
                {move || (state.get() == "cancelled" || state.get() == "failed").then(|| view! {
                    <button type="button" class="btn" id="zoo-resume" on:click=resume>{lang().tr("从检查点继续", "Resume from the checkpoint")}</button> })}
            </div>
            {move || error.get().map(|e| view! { <div class="panel error-panel" id="zoo-error"><p class="error-message">{e}</p></div> })}
            {move || job.get().map(|id| view! {
                <h2>{format!("{} {id}", lang().tr("任务", "Job"))} " "
                    <span class="badge" id="zoo-state" data-state=move || state.get()>{move || state.get()}</span></h2>
                <EChart id="zoo-curves" option=Signal::derive(move || zoo_option(&points.get()))/>
                <p class="hint" id="zoo-progress" data-steps=move || points.get().iter().filter(|p| matches!(p, ZooPoint::Step { .. })).count()
                    data-epochs=move || points.get().iter().filter(|p| matches!(p, ZooPoint::Val { .. })).count()
                    data-last-step=move || points.get().iter().filter_map(|p| match p { ZooPoint::Step { step, .. } => Some(*step), _ => None }).max().unwrap_or(0)>
                    {move || points.get().iter().rev().find_map(|p| match p {
                        ZooPoint::Step { step, loss, lr } => Some(format!("step {step}: loss {loss:.4}, lr {lr:.2e}")),
                        _ => None,
                    })}</p>
                <p class="hint" id="zoo-epoch">{move || last_epoch.get()}</p>
            })}
            {move || result.get().map(|(model, card, set)| view! {
                <h2>{move || lang().tr("模型卡（测试期）", "Model card (held-out test part)")}</h2>
                <pre class="bt-text" id="zoo-card" data-model=model.clone()>{card}</pre>
                {set.map(|s| view! { <p id="zoo-set" data-set=s>{format!("{} {s}（{model}）{}", lang().tr("测试期的输出已存为预测集", "The test part's outputs are stored as prediction set"), lang().tr("，可在回测页使用。", ", for the backtest page."))}</p> })}
                <p><a class="btn" id="zoo-models" href="/models">{format!("{} {model}", lang().tr("在模型页查看", "See on the Models page:"))}</a></p>
            })}
            <JobHistory kind=JobKind::TrainModel refresh=state/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ZooForm {
        ZooForm {
            symbols: vec!["000001.SZ".into(), "600000.SH".into()],
            market: "000300.SH".into(),
            backbone: "cnn_lstm".into(),
            features: "both".into(),
            context: "20-100".into(),
            target: "updown4".into(),
            horizon: "3".into(),
            loss: "cost".into(),
            select: "points".into(),
            epochs: "5".into(),
            lr: String::new(),
            max_seconds: "120".into(),
            conditions: vec!["industry", "regime"],
            industry: "finance".into(),
        }
    }

    /// The file the form writes is one the server takes and the trainer reads, with what the
    /// fields said.
    #[test]
    fn the_form_writes_a_training_file_the_server_takes() {
        let f = form();
        let text = f.file();
        let spec = JobSpec::TrainModel(TrainModelJob {
            config: text.clone(),
        })
        .normalised()
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let JobSpec::TrainModel(m) = spec else {
            unreachable!()
        };
        let c = kxian_shared::zoo::config::read(&m.config).unwrap();
        assert_eq!(c.data.symbols, ["000001.SZ", "600000.SH"]);
        assert_eq!(c.data.market.as_deref(), Some("000300.SH"));
        assert_eq!(c.data.context.max(), 100);
        assert_eq!(c.data.conditions.len(), 2);
        assert_eq!(c.data.industry.as_deref(), Some("finance"));
        assert_eq!(c.model.backbone.name(), "cnn_lstm");
        assert_eq!(c.train.max_seconds, Some(120.0));
        // A numeric target with a class loss gets a loss that fits it.
        let text = ZooForm {
            target: "return".into(),
            ..f
        }
        .file();
        let c = kxian_shared::zoo::config::read(&text).unwrap();
        assert!(text.contains("kind = \"huber\""), "{text}");
        assert!(!text.contains("select"), "{text}");
        assert_eq!(c.target.horizon, 3);
    }
}
