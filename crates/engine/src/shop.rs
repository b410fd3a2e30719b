//! The points shop and manual points: what a member's `兑换` command and the operator API
//! both use. Redeeming is one store transaction (stock, points, redemption, fulfilment task or
//! make-up card, audit); settling a redemption cancels with a refund or marks it fulfilled.

use chrono::{DateTime, Utc};
use qunzhu_core::points::{ItemChange, LedgerEntry, MAKEUP_CARD, PointsBalance};
use qunzhu_core::shop::{ItemKind, Redemption, RedemptionStatus, Refusal, ShopItem};
use qunzhu_core::{
    Action, ActionId, ActionKind, ConnectorId, GroupKey, Member, MemberId, NewAuditEntry, PlatformEventId, StaffTask, Store,
    StoreError, TaskId, TaskStatus,
};

use crate::locale::Locale;
use crate::{Engine, EngineError};

/// One redemption to attempt.
pub struct RedeemRequest<'a> {
    /// Unique; derived from the event for commands, so a replay redeems once.
    pub id: String,
    pub item: &'a ShopItem,
    pub connector: &'a ConnectorId,
    pub member: &'a Member,
    /// Where it was asked for: the fulfilment task's group.
    pub group: &'a GroupKey,
    pub group_name: &'a str,
    pub cause: Option<&'a PlatformEventId>,
    /// `engine` for commands, the operator for the API.
    pub actor: &'a str,
    pub locale: Locale,
    pub now: DateTime<Utc>,
}

/// Why a refusal happened, for the member.
pub fn refusal_text(refusal: Refusal, locale: Locale) -> &'static str {
    match refusal {
        Refusal::UnknownItem => locale.pick("商城里没有这个商品，发送「积分」可查看积分", "there is no such item in the shop"),
        Refusal::Disabled => locale.pick("这个商品暂时下架了", "this item is not available right now"),
        Refusal::OutOfStock => locale.pick("这个商品已经兑完了", "this item is out of stock"),
        Refusal::InsufficientPoints => locale.pick("积分不足", "not enough points"),
        Refusal::Duplicate => locale.pick("这次兑换已处理过", "this redemption was already handled"),
    }
}

/// Attempts a redemption; `Ok(Err(_))` says why it was refused (nothing changed then).
///
/// # Errors
/// Store failures.
pub async fn redeem(store: &dyn Store, request: &RedeemRequest<'_>) -> Result<Result<Redemption, Refusal>, StoreError> {
    let item = request.item;
    let member = request.member;
    let who = member.display_name();
    let reason = match request.locale {
        Locale::ZhCn => format!("兑换「{}」", item.name),
        Locale::En => format!("redeemed {}", item.name),
    };
    let debit = LedgerEntry {
        id: format!("redeem/{}", request.id),
        connector: request.connector.clone(),
        member: member.id.clone(),
        amount: -item.cost,
        reason: reason.clone(),
        rule: "shop".into(),
        group: Some(request.group.clone()),
        cause: request.cause.cloned(),
        actor: request.actor.to_owned(),
        time: request.now,
    };
    let (task, item_change) = match item.kind {
        ItemKind::Goods => {
            let (title, step) = match request.locale {
                Locale::ZhCn => (
                    format!("兑换发放：{who} 兑换了「{}」", item.name),
                    format!("为「{}」中的 {who}（{}）发放「{}」，完成后在兑换记录中标记已发放", request.group_name, member.id, item.name),
                ),
                Locale::En => (
                    format!("Fulfil: {who} redeemed {}", item.name),
                    format!("Hand {} to {who} ({}) of {}, then mark the redemption fulfilled", item.name, member.id, request.group_name),
                ),
            };
            let action = Action {
                id: ActionId::new(format!("redeem/{}", request.id)),
                group: request.group.clone(),
                kind: ActionKind::NotifyStaff { text: step.clone() },
                rule: "shop".into(),
                cause: request.cause.cloned(),
                explanation: reason.clone(),
                not_before: None,
                created_at: request.now,
            };
            let task = StaffTask {
                id: TaskId::new(format!("redeem/{}", request.id)),
                group: request.group.clone(),
                title,
                step,
                action,
                status: TaskStatus::Open,
                created_at: request.now,
                updated_at: request.now,
                updated_by: None,
            };
            (Some(task), None)
        }
        ItemKind::MakeupCard => {
            let change = ItemChange {
                id: format!("redeem/{}", request.id),
                connector: request.connector.clone(),
                member: member.id.clone(),
                item: MAKEUP_CARD.into(),
                delta: 1,
                time: request.now,
            };
            (None, Some(change))
        }
    };
    let redemption = Redemption {
        id: request.id.clone(),
        item: item.id.clone(),
        connector: request.connector.clone(),
        member: member.id.clone(),
        group: request.group.clone(),
        cost: item.cost,
        // A make-up card is handed over by the redemption itself.
        status: if item.kind == ItemKind::MakeupCard { RedemptionStatus::Fulfilled } else { RedemptionStatus::Pending },
        task: task.as_ref().map(|t| t.id.clone()),
        created_at: request.now,
        updated_at: request.now,
    };
    let audit = NewAuditEntry {
        time: request.now,
        actor: request.actor.to_owned(),
        kind: "shop.redeem".into(),
        group: Some(request.group.clone()),
        event_id: request.cause.cloned(),
        action_id: None,
        rule: Some("shop".into()),
        summary: format!("{who} {reason} -{}", item.cost),
        detail: None,
    };
    store.redeem(&redemption, &debit, task.as_ref(), item_change.as_ref(), &audit).await
}

impl Engine {
    /// Grants (positive) or deducts (negative) points by hand, with an audit row; a deduction
    /// never takes the balance below zero ([`StoreError::Conflict`]).
    ///
    /// # Errors
    /// A zero amount or an uncovered deduction (`Conflict`), or a store failure.
    pub async fn grant_points(
        &self,
        connector: &ConnectorId,
        member: &MemberId,
        amount: i64,
        reason: &str,
        by: &str,
    ) -> Result<PointsBalance, EngineError> {
        if amount == 0 {
            return Err(StoreError::Conflict("a points change of 0 changes nothing".into()).into());
        }
        let now = self.clock().now();
        let entry = LedgerEntry {
            id: format!("manual/{}/{}", now.timestamp_micros(), member),
            connector: connector.clone(),
            member: member.clone(),
            amount,
            reason: reason.to_owned(),
            rule: "manual".into(),
            group: None,
            cause: None,
            actor: by.to_owned(),
            time: now,
        };
        let summary = match self.locale() {
            Locale::ZhCn => format!("{by} 为 {member} 调整积分 {amount:+}：{reason}"),
            Locale::En => format!("{by} changed {member}'s points by {amount:+}: {reason}"),
        };
        let audit = NewAuditEntry {
            time: now,
            actor: by.to_owned(),
            kind: "points.grant".into(),
            group: None,
            event_id: None,
            action_id: None,
            rule: Some("points".into()),
            summary,
            detail: None,
        };
        Ok(self.store().add_points(&entry, &audit).await?)
    }

    /// Marks a pending redemption fulfilled, or cancels it: the points are refunded and the
    /// item goes back in stock.
    ///
    /// # Errors
    /// An unknown redemption (`NotFound`), one already settled (`Conflict`), a store failure.
    pub async fn settle_redemption(&self, id: &str, fulfilled: bool, by: &str) -> Result<Redemption, EngineError> {
        let store = self.store();
        let now = self.clock().now();
        let redemption = store
            .list_redemptions(None, u32::MAX)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("redemption {id}")))?;
        let status = if fulfilled { RedemptionStatus::Fulfilled } else { RedemptionStatus::Cancelled };
        let refund = (!fulfilled).then(|| LedgerEntry {
            id: format!("refund/{id}"),
            connector: redemption.connector.clone(),
            member: redemption.member.clone(),
            amount: redemption.cost,
            reason: self.locale().pick("兑换取消，退回积分", "redemption cancelled: refund").to_owned(),
            rule: "shop".into(),
            group: Some(redemption.group.clone()),
            cause: None,
            actor: by.to_owned(),
            time: now,
        });
        let summary = match (self.locale(), fulfilled) {
            (Locale::ZhCn, true) => format!("{by} 已发放兑换 {id}"),
            (Locale::ZhCn, false) => format!("{by} 取消兑换 {id}，退回 {} 积分", redemption.cost),
            (Locale::En, true) => format!("{by} fulfilled redemption {id}"),
            (Locale::En, false) => format!("{by} cancelled redemption {id}, refunding {} points", redemption.cost),
        };
        let audit = NewAuditEntry {
            time: now,
            actor: by.to_owned(),
            kind: "shop.settle".into(),
            group: Some(redemption.group.clone()),
            event_id: None,
            action_id: None,
            rule: Some("shop".into()),
            summary,
            detail: None,
        };
        Ok(store.settle_redemption(id, status, refund.as_ref(), now, &audit).await?)
    }
}
