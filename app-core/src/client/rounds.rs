//! The round loop every sync client runs, over a source of changes: a device's outbox
//! ([`super::SyncClient::sync`]) or a centre server's documents in its parent's scope (the
//! server's forwarder). Each round the source prepares an upload; the server's answer is applied
//! and what went up acknowledged, in that order, so that a crash repeats at most one round
//! (which the server takes idempotently). The loop ends when the source has nothing more to
//! send and the server nothing more to give.

use super::transport::{Refusal, Synced, Transport};
use super::SyncError;
use crate::protocol::SyncRequest;
use std::future::Future;

/// One round's upload, and what it carries (acknowledged once the server answered).
#[derive(Debug)]
pub struct Prepared<S> {
    pub request: SyncRequest,
    pub sent: S,
    /// More waits beyond this round.
    pub full: bool,
}

/// What applying an answer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied, and what went up acknowledged.
    Done,
    /// Not applied: the source started over (its cursor reset); go round again.
    Again,
}

/// Where a round's upload comes from and where the server's answer goes.
pub trait Source {
    /// What a round carries, to acknowledge.
    type Sent: Send;
    /// The source's error; a transport failure becomes one.
    type Error: From<SyncError> + Send;

    /// The next round's upload.
    fn prepare(&mut self)
        -> impl Future<Output = Result<Prepared<Self::Sent>, Self::Error>> + Send;

    /// The server refused one document of the upload: set it aside and go on, or give up.
    fn refused(&mut self, refusal: Refusal)
        -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Applies the server's answer and acknowledges what went up.
    fn apply(
        &mut self,
        sent: Self::Sent,
        synced: Synced,
    ) -> impl Future<Output = Result<Applied, Self::Error>> + Send;
}

/// Runs rounds until `source` has sent everything and the server has nothing more; `after` sees
/// the source after every round applied.
pub async fn run<S: Source>(
    transport: &Transport,
    source: &mut S,
    mut after: impl FnMut(&S),
) -> Result<(), S::Error> {
    loop {
        let Prepared {
            request,
            sent,
            full,
        } = source.prepare().await?;
        match transport.sync(&request).await? {
            Err(refusal) => source.refused(refusal).await?,
            Ok(synced) => {
                let more = synced.answer.more;
                if source.apply(sent, synced).await? == Applied::Done {
                    after(source);
                    if !more && !full {
                        return Ok(());
                    }
                }
            }
        }
    }
}
