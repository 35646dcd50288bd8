"""Canonical entities: the fixed shape of every `raw.<entity>` table.

A feed declaration maps its export's columns onto these fields; whatever the source tool,
rows of one entity land in one raw table with one schema, so dbt staging never depends on a
particular vendor's column names. Fields not mapped by a feed land as NULL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["varchar", "integer", "decimal", "timestamp", "boolean"]
Family = Literal["crm", "survey", "channel"]

DUCKDB_TYPES: dict[str, str] = {
    "varchar": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18, 4)",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class CanonicalField:
    name: str
    type: FieldType
    description: str
    required: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    family: Family
    key: str
    fields: tuple[CanonicalField, ...]

    def field(self, name: str) -> CanonicalField:
        for canonical_field in self.fields:
            if canonical_field.name == name:
                return canonical_field
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(canonical_field.name for canonical_field in self.fields)


def _f(name: str, type_: FieldType, description: str, required: bool = False) -> CanonicalField:
    return CanonicalField(name=name, type=type_, description=description, required=required)


ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            name="crm_customers",
            family="crm",
            key="customer_ref",
            fields=(
                _f("customer_ref", "varchar", "The CRM's own customer/account id.", True),
                _f(
                    "person_ref",
                    "varchar",
                    "The source's own person id when accounts are per order or per contract "
                    "(e.g. Olist customer_unique_id); records sharing it are one person.",
                ),
                _f("first_name", "varchar", "Given name."),
                _f("last_name", "varchar", "Family name."),
                _f("email", "varchar", "Email as exported (not normalized)."),
                _f("phone", "varchar", "Phone as exported, any format."),
                _f("country", "varchar", "Country code or name."),
                _f("region", "varchar", "Region / state."),
                _f("city", "varchar", "City."),
                _f("postcode", "varchar", "Postal code, kept as text (leading zeros)."),
                _f("segment", "varchar", "Commercial segment (consumer, smb, enterprise…)."),
                _f("signed_up_at", "timestamp", "When the customer relationship started (UTC)."),
                _f("has_contact_consent", "boolean", "Customer agreed to be contacted."),
                _f("is_churned", "boolean", "CRM churn flag."),
                _f("churned_at", "timestamp", "When the customer churned (UTC)."),
            ),
        ),
        Entity(
            name="crm_orders",
            family="crm",
            key="order_ref",
            fields=(
                _f("order_ref", "varchar", "Order / charge id.", True),
                _f("customer_ref", "varchar", "CRM customer id of the buyer.", True),
                _f("ordered_at", "timestamp", "When the order was placed (UTC).", True),
                _f(
                    "order_amount",
                    "decimal",
                    "Order value in the order currency (or from crm_payments when absent).",
                ),
                _f("currency", "varchar", "ISO currency code."),
                _f("order_status", "varchar", "Order status as exported."),
                _f("sales_channel", "varchar", "Where the order was placed (web, store, app…)."),
            ),
        ),
        Entity(
            name="crm_payments",
            family="crm",
            key="payment_ref",
            fields=(
                _f("payment_ref", "varchar", "Payment / charge line id.", True),
                _f("order_ref", "varchar", "Order the payment settles.", True),
                _f("paid_amount", "decimal", "Amount paid.", True),
                _f("payment_method", "varchar", "Card, voucher, boleto…"),
                _f("installments", "integer", "Number of installments."),
            ),
        ),
        Entity(
            name="followup_outcomes",
            family="crm",
            key="outcome_ref",
            fields=(
                _f("outcome_ref", "varchar", "Id of the outcome record in the case tool.", True),
                _f("case_ref", "varchar", "cxmart's case_id, as exported to the case tool.", True),
                _f("outcome_at", "timestamp", "When the outcome was recorded (UTC).", True),
                _f(
                    "outcome_status",
                    "varchar",
                    "contacted (customer reached, loop closed), closed (closed without"
                    " reaching the customer), attempted (tried, still open).",
                    True,
                ),
                _f("agent_ref", "varchar", "Who worked the case."),
                _f("outcome_note", "varchar", "What was done or agreed."),
            ),
        ),
        Entity(
            name="erasure_requests",
            family="crm",
            key="request_ref",
            fields=(
                _f("request_ref", "varchar", "Id of the erasure request (the DPO's ticket).", True),
                _f(
                    "identifier_type",
                    "varchar",
                    "What identifies the person: email, phone or crm (the CRM's customer_ref).",
                    True,
                ),
                _f("identifier_value", "varchar", "The email, phone or customer_ref.", True),
                _f("requested_at", "timestamp", "When the person asked to be erased (UTC)."),
            ),
        ),
        Entity(
            name="survey_invitations",
            family="survey",
            key="invitation_ref",
            fields=(
                _f("invitation_ref", "varchar", "Invitation / distribution id.", True),
                _f("survey_ref", "varchar", "Survey id."),
                _f("customer_ref", "varchar", "CRM id passed to the survey (external reference)."),
                _f("email", "varchar", "Recipient email as exported."),
                _f("phone", "varchar", "Recipient phone as exported."),
                _f("sent_at", "timestamp", "When the invitation was sent (UTC).", True),
                _f("invitation_channel", "varchar", "email, sms, web…"),
                _f("touchpoint", "varchar", "Touchpoint the survey asks about."),
            ),
        ),
        Entity(
            name="survey_responses",
            family="survey",
            key="response_ref",
            fields=(
                _f("response_ref", "varchar", "Response id.", True),
                _f("invitation_ref", "varchar", "Invitation this response answers."),
                _f("survey_ref", "varchar", "Survey id."),
                _f("customer_ref", "varchar", "CRM id (external reference)."),
                _f("order_ref", "varchar", "Order the response is about (post-purchase reviews)."),
                _f("email", "varchar", "Respondent email as exported."),
                _f("phone", "varchar", "Respondent phone as exported."),
                _f("started_at", "timestamp", "When the respondent opened the survey (UTC)."),
                _f("submitted_at", "timestamp", "When the response was recorded (UTC).", True),
                _f("is_finished", "boolean", "Respondent reached the end of the survey."),
                _f("touchpoint", "varchar", "Touchpoint rated (delivery, checkout…)."),
                _f("channel", "varchar", "Channel of the experience rated."),
                _f("nps_score", "integer", "Likelihood to recommend, 0–10."),
                _f("csat_score", "integer", "Satisfaction on the declared CSAT scale."),
                _f("ces_score", "integer", "Effort on the declared CES scale."),
                _f("comment", "varchar", "Free-text verbatim."),
                _f("language", "varchar", "Language code of the response."),
                _f(
                    "source_nps_group",
                    "varchar",
                    "NPS group exported by the tool (reconcile only).",
                ),
            ),
        ),
        Entity(
            name="survey_driver_ratings",
            family="survey",
            key="response_ref",
            fields=(
                _f("response_ref", "varchar", "Response id.", True),
                _f(
                    "attribute",
                    "varchar",
                    "Driver attribute rated (wait_time, reliability…).",
                    True,
                ),
                _f("rating", "integer", "Rating on the declared driver scale.", True),
                _f("scale_min", "integer", "Lowest point of the driver scale."),
                _f("scale_max", "integer", "Highest point of the driver scale."),
            ),
        ),
        Entity(
            name="support_tickets",
            family="channel",
            key="ticket_ref",
            fields=(
                _f("ticket_ref", "varchar", "Ticket id.", True),
                _f("customer_ref", "varchar", "CRM id of the requester."),
                _f("requester_email", "varchar", "Requester email as exported."),
                _f("requester_phone", "varchar", "Requester phone as exported."),
                _f("created_at", "timestamp", "Ticket creation (UTC).", True),
                _f("first_response_at", "timestamp", "First customer-visible agent reply (UTC)."),
                _f("solved_at", "timestamp", "Last transition to solved (UTC)."),
                _f("first_solved_at", "timestamp", "First transition to solved (UTC)."),
                _f("reopen_count", "integer", "Solved → open transitions."),
                _f("reply_count", "integer", "Customer-visible agent replies."),
                _f("ticket_status", "varchar", "new, open, pending, solved, closed."),
                _f("priority", "varchar", "low, normal, high, urgent."),
                _f("team", "varchar", "Assigned group / team."),
                _f("ticket_channel", "varchar", "email, chat, web, phone, social."),
                _f("touchpoint", "varchar", "Touchpoint the ticket is about."),
                _f("subject", "varchar", "Ticket subject."),
                _f("satisfaction", "varchar", "good, bad, offered, unoffered."),
                _f("source_first_reply_minutes", "integer", "Tool's own first-reply minutes."),
                _f(
                    "source_first_reply_business_minutes",
                    "integer",
                    "Tool's own first-reply minutes within business hours.",
                ),
                _f(
                    "source_first_resolution_minutes",
                    "integer",
                    "Tool's own created → first solve minutes.",
                ),
                _f(
                    "source_full_resolution_minutes",
                    "integer",
                    "Tool's own created → last solve minutes.",
                ),
                _f(
                    "source_full_resolution_business_minutes",
                    "integer",
                    "Tool's own created → last solve minutes within business hours.",
                ),
            ),
        ),
        Entity(
            name="ticket_events",
            family="channel",
            key="event_ref",
            fields=(
                _f("event_ref", "varchar", "Audit event, activity or chat message id.", True),
                _f("ticket_ref", "varchar", "Ticket the event belongs to.", True),
                _f("ticket_feed", "varchar", "Feed of the summary tickets; empty: this feed."),
                _f("event_at", "timestamp", "When the event happened (UTC).", True),
                _f("event_type", "varchar", "created, comment, status_change.", True),
                _f("author_role", "varchar", "end_user, agent, system."),
                _f("is_public", "boolean", "Customer-visible (false: internal note); empty: true."),
                _f("status_from", "varchar", "Status before a status change."),
                _f("status_to", "varchar", "Status after a status change (or at creation)."),
                _f("channel", "varchar", "email, chat, web, phone, social."),
            ),
        ),
        Entity(
            name="calls",
            family="channel",
            key="call_ref",
            fields=(
                _f("call_ref", "varchar", "Call id.", True),
                _f("customer_ref", "varchar", "CRM id if the telephony system knows it."),
                _f("caller_phone", "varchar", "Caller number as exported, any format."),
                _f("queue", "varchar", "Queue / team that took the call."),
                _f("started_at", "timestamp", "Call offered to the queue (UTC).", True),
                _f("wait_seconds", "integer", "Seconds in queue before answer or abandon."),
                _f("talk_seconds", "integer", "Talk time."),
                _f("hold_seconds", "integer", "Hold time."),
                _f("wrap_seconds", "integer", "After-call work."),
                _f("is_abandoned", "boolean", "Caller hung up before an agent answered."),
                _f("agent_ref", "varchar", "Agent id."),
                _f("touchpoint", "varchar", "Touchpoint the call is about."),
            ),
        ),
        Entity(
            name="conversation_messages",
            family="channel",
            key="message_ref",
            fields=(
                _f("message_ref", "varchar", "Message / post id.", True),
                _f("in_reply_to_ref", "varchar", "Message this one replies to."),
                _f("author_ref", "varchar", "Author handle or id.", True),
                _f("is_inbound", "boolean", "Written by the customer (false: by the brand).", True),
                _f("sent_at", "timestamp", "When the message was posted (UTC).", True),
                _f("message_text", "varchar", "Message text."),
                _f("channel", "varchar", "social, chat, messaging…"),
                _f("touchpoint", "varchar", "Touchpoint the conversation is about."),
            ),
        ),
        Entity(
            name="web_sessions",
            family="channel",
            key="session_ref",
            fields=(
                _f("session_ref", "varchar", "Session id.", True),
                _f("customer_ref", "varchar", "CRM id when logged in."),
                _f("email", "varchar", "Email when known."),
                _f("started_at", "timestamp", "Session start (UTC).", True),
                _f("ended_at", "timestamp", "Session end (UTC)."),
                _f("page_views", "integer", "Pages viewed."),
                _f("device", "varchar", "desktop, mobile, tablet."),
                _f("landing_page", "varchar", "First page path."),
                _f("touchpoint", "varchar", "Touchpoint of the session (browse, checkout…)."),
            ),
        ),
    )
}

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_feed", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
    ("_extra", "JSON"),
)
