//! `/dev/mailbox`: every e-mail the portal sent, newest first, links clickable. Served only
//! without SMTP and on a plain-http loopback origin ([`crate::Portal::new`] refuses
//! otherwise): the links in these e-mails are credentials.

use axum::extract::State;
use axum::response::Html;
use maud::{Markup, html};

use crate::Portal;
use crate::views::Page;

/// Text with every `http://` or `https://` word made a link.
fn linkified(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 { "\n" }
            @for (j, word) in line.split(' ').enumerate() {
                @if j > 0 { " " }
                @if word.starts_with("http://") || word.starts_with("https://") {
                    a href=(word) { (word) }
                } @else {
                    (word)
                }
            }
        }
    }
}

/// `GET /dev/mailbox`: delivers the outbox first, so a mail just queued is already here.
pub(crate) async fn show(State(portal): State<Portal>) -> Html<String> {
    if let Err(error) = portal.service().dispatch_emails().await {
        tracing::warn!(%error, "the mailbox could not deliver the outbox");
    }
    let mut sent = portal.mailbox().map(|m| m.sent()).unwrap_or_default();
    sent.reverse();
    Page::anonymous("").render(
        "Mailbox",
        html! {
            p.muted { "Development mode: the portal sends no e-mail; this page shows what it "
                "would have sent, newest first. It exists only without SMTP settings and on a "
                "loopback address." }
            @if sent.is_empty() { p { "No e-mail yet." } }
            @for (n, mail) in sent.iter().enumerate() {
                article.card.mail aria-labelledby=(format!("mail-{n}")) {
                    h2 #(format!("mail-{n}")) { (mail.subject) }
                    p.muted { "To: " span.to { (mail.to.as_str()) } }
                    pre.mail { (linkified(&mail.text)) }
                }
            }
        },
    )
}
