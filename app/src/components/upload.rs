//! The upload panel: a file plus optional import options, posted as multipart to
//! `/api/import`; shows the `ImportReport` or the `ApiError` with its problem table.

use crate::components::error::{ErrorPanel, ProblemTable};
use crate::format;
use crate::i18n::use_i18n;
use crate::pages::chart_href;
use kxian_shared::Frequency;
use kxian_shared::api::{ApiError, ImportReport};
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;

/// What the panel dispatches; the page owns it so the symbol list can refetch on `version()`.
pub type ImportAction = Action<web_sys::FormData, Result<ImportReport, ApiError>>;

#[component]
pub fn UploadPanel(action: ImportAction) -> impl IntoView {
    let i18n = use_i18n();
    let form_ref = NodeRef::<html::Form>::new();
    let file_ref = NodeRef::<html::Input>::new();
    let local_error = RwSignal::new(None::<ApiError>);
    let pending = action.pending();
    let value = action.value();

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let has_file = file_ref
            .get()
            .and_then(|input| input.files())
            .is_some_and(|files| files.length() > 0);
        if !has_file {
            local_error.set(Some(ApiError {
                error: "no_file".into(),
                message: i18n.tr("请先选择一个文件。", "Choose a file first.").into(),
                problems: Vec::new(),
            }));
            return;
        }
        local_error.set(None);
        let Some(form) = form_ref.get() else { return };
        match web_sys::FormData::new_with_form(&form) {
            Ok(data) => {
                action.clear();
                action.dispatch_local(data);
            }
            Err(e) => local_error.set(Some(ApiError {
                error: "bad_form".into(),
                message: format!("{e:?}"),
                problems: Vec::new(),
            })),
        }
    };

    let frequency_options = move || {
        let lang = i18n.lang();
        Frequency::ALL
            .iter()
            .map(|f| view! { <option value=f.as_str()>{lang.frequency(*f)}</option> })
            .collect_view()
    };

    let outcome = move || {
        if let Some(e) = local_error.get() {
            return view! { <ErrorPanel error=e id="upload-error"/> }.into_any();
        }
        match value.get() {
            Some(Ok(report)) => view! { <ImportResult report/> }.into_any(),
            Some(Err(e)) => {
                let title = Signal::derive(move || i18n.tr("导入失败", "Import failed"));
                view! { <ErrorPanel error=e title id="upload-error"/> }.into_any()
            }
            None => ().into_any(),
        }
    };

    view! {
        <section class="panel upload-panel">
            <h2>{move || i18n.tr("导入K线文件", "Import a K-line file")}</h2>
            <p class="hint">{move || i18n.tr("支持 CSV / TXT / XLSX / JSON（akshare、Tushare、Kronos、Yahoo、baostock、HQChart 等格式自动识别），以及通达信本地日线文件（vipdoc/*/lday/*.day）。", "CSV / TXT / XLSX / JSON (akshare, Tushare, Kronos, Yahoo, baostock and HQChart layouts are detected), and TDX's local daily files (vipdoc/*/lday/*.day).")}</p>
            <form class="upload-form" node_ref=form_ref on:submit=on_submit>
                <label class="field field-file">
                    <span>{move || i18n.tr("文件", "File")}</span>
                    <input
                        id="upload-file"
                        type="file"
                        name="file"
                        accept=".csv,.txt,.tsv,.xlsx,.xls,.json,.day"
                        node_ref=file_ref
                    />
                </label>
                <label class="field">
                    <span>{move || i18n.tr("代码", "Symbol")}</span>
                    <input
                        id="upload-symbol"
                        type="text"
                        name="symbol"
                        autocomplete="off"
                        placeholder=move || i18n.tr("可选，如 600519.SH", "optional, e.g. 600519.SH")
                    />
                </label>
                <label class="field">
                    <span>{move || i18n.tr("名称", "Name")}</span>
                    <input
                        id="upload-name"
                        type="text"
                        name="name"
                        autocomplete="off"
                        placeholder=move || i18n.tr("可选", "optional")
                    />
                </label>
                <label class="field">
                    <span>{move || i18n.tr("周期", "Frequency")}</span>
                    <select id="upload-frequency" name="frequency">
                        <option value="">{move || i18n.tr("自动识别", "Detect")}</option>
                        {frequency_options}
                    </select>
                </label>
                <label class="field">
                    <span>{move || i18n.tr("成交量单位", "Volume unit")}</span>
                    <select id="upload-volume-unit" name="volume_unit">
                        <option value="">{move || i18n.tr("自动识别", "Detect")}</option>
                        <option value="shares">{move || i18n.tr("股", "shares")}</option>
                        <option value="lots">{move || i18n.tr("手（100股）", "lots (100 shares)")}</option>
                    </select>
                </label>
                <label class="check">
                    <input id="upload-skip-invalid" type="checkbox" name="skip_invalid" value="true"/>
                    <span>{move || i18n.tr("跳过无效行", "Skip invalid rows")}</span>
                </label>
                <button id="upload-submit" class="btn btn-primary" type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { i18n.tr("导入中…", "Importing…") } else { i18n.tr("导入", "Import") }}
                </button>
            </form>
            {outcome}
        </section>
    }
}

/// The report of a successful import.
#[component]
fn ImportResult(report: ImportReport) -> impl IntoView {
    let i18n = use_i18n();
    let rows_read = report.rows_read;
    let series = report
        .series
        .into_iter()
        .map(|s| {
            let code = s.symbol.to_string();
            let href = chart_href(&code, s.frequency, s.adjustment);
            let row_key = code.clone();
            let (freq, adj) = (s.frequency, s.adjustment);
            view! {
                <tr class="import-series-row" data-symbol=row_key>
                    <td><A href=href.clone()>{code}</A></td>
                    <td>{s.name.unwrap_or_default()}</td>
                    <td>{move || i18n.lang().frequency(freq)}</td>
                    <td>{move || i18n.lang().adjustment(adj)}</td>
                    <td class="num">{s.bars}</td>
                    <td class="num">{s.inserted}</td>
                    <td class="num">{s.updated}</td>
                    <td>{format::date_range(s.first, s.last)}</td>
                    <td><A href=href attr:class="chart-link">{move || i18n.tr("查看K线", "Chart")}</A></td>
                </tr>
            }
        })
        .collect_view();
    let warnings = (!report.warnings.is_empty()).then(|| {
        let n = report.warnings.len();
        view! {
            <details class="problems warnings" open=n <= 10>
                <summary>{move || i18n.tr("警告（数据已修复并保留）", "Warnings (rows repaired and kept)")}" ("{n}")"</summary>
                <ProblemTable problems=report.warnings/>
            </details>
        }
    });
    let rejected = (!report.rejected.is_empty()).then(|| {
        let n = report.rejected.len();
        view! {
            <details class="problems rejected" open=n <= 10>
                <summary>{move || i18n.tr("已跳过的无效行", "Invalid rows skipped")}" ("{n}")"</summary>
                <ProblemTable problems=report.rejected/>
            </details>
        }
    });
    view! {
        <div id="upload-result" class="panel success-panel">
            <h3>{move || i18n.tr("导入成功", "Imported")}": "{report.file}</h3>
            <p class="meta">
                {move || i18n.tr("格式", "Layout")}" "<code>{report.layout}</code>" · "
                {move || i18n.lang().rows_read(rows_read)}
            </p>
            <div class="table-wrap">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th>{move || i18n.tr("代码", "Code")}</th>
                            <th>{move || i18n.tr("名称", "Name")}</th>
                            <th>{move || i18n.tr("周期", "Frequency")}</th>
                            <th>{move || i18n.tr("复权", "Adj.")}</th>
                            <th class="num">{move || i18n.tr("根数", "Bars")}</th>
                            <th class="num">{move || i18n.tr("新增", "Inserted")}</th>
                            <th class="num">{move || i18n.tr("更新", "Updated")}</th>
                            <th>{move || i18n.tr("区间", "Range")}</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>{series}</tbody>
                </table>
            </div>
            {warnings}
            {rejected}
        </div>
    }
}
