//! The `insight` rule: what each event adds to the activity rollups (see
//! [`crate::insight`]). Last in [`super::Rule::ALL`]; it proposes nothing. Its tally is
//! committed even when an earlier rule suppressed the others (the pipeline keeps it, like an
//! admission record), so deleted spam still counts as a message — and, marked by the pipeline
//! from moderation's verdict, as a violation.

use qunzhu_core::StateWrite;
use qunzhu_core::insight::InsightWrite;

use super::{RuleContext, RuleError, Verdict};

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let tally = crate::insight::tally(cx.store, cx.event, cx.settings.timezone()).await?;
    let writes = tally.map(|t| StateWrite::Insight(InsightWrite::Tally(Box::new(t)))).into_iter().collect();
    Ok(Verdict { writes, ..Verdict::default() })
}
