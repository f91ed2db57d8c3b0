//! Listing a stream's shards with `ListShards`, page by page, bounded: a server that keeps
//! answering with a `NextToken` (the same one again, or a new one forever) ends the listing
//! with an error naming the stream instead of holding the supervisor in a loop.

use std::collections::HashSet;

use aws_sdk_kinesis::types::Shard;

use super::Ctx;
use crate::aws::describe_error;

/// Most `ListShards` pages read for one listing. A page holds up to 1 000 shards by default,
/// and a stream's shards (open ones plus those closed within the retention period) number in
/// the thousands at most: far more pages than any real stream needs.
pub(super) const MAX_LIST_PAGES: usize = 1_000;

/// Why listing the shards of a stream failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ListShardsError {
    /// The call failed.
    #[error("listing the shards of {stream}: {message}")]
    Api {
        /// The stream ARN.
        stream: String,
        /// The SDK error with its context.
        message: String,
    },
    /// A page's `NextToken` was one an earlier page gave: paging would never end.
    #[error(
        "listing the shards of {stream}: ListShards page {page} returned a NextToken it had \
         returned before; given up (this listing is tried again later)"
    )]
    RepeatedToken {
        /// The stream ARN.
        stream: String,
        /// The page (from 1) that repeated a token.
        page: usize,
    },
    /// Still a `NextToken` after [`MAX_LIST_PAGES`] pages.
    #[error(
        "listing the shards of {stream}: ListShards still returned a NextToken after {pages} \
         pages; given up (this listing is tried again later)"
    )]
    TooManyPages {
        /// The stream ARN.
        stream: String,
        /// How many pages were read.
        pages: usize,
    },
}

/// Every shard of the stream, across all pages.
pub(super) async fn list_shards(ctx: &Ctx) -> Result<Vec<Shard>, ListShardsError> {
    let stream = &ctx.settings.stream_arn;
    let mut shards = Vec::new();
    let mut seen_tokens: HashSet<String> = HashSet::new();
    let mut next: Option<String> = None;
    for page in 1..=MAX_LIST_PAGES {
        // With a NextToken, Kinesis wants no stream name or ARN.
        let req = match &next {
            Some(token) => ctx.client.list_shards().next_token(token),
            None => ctx.client.list_shards().stream_arn(stream),
        };
        let out = req.send().await.map_err(|e| ListShardsError::Api {
            stream: stream.clone(),
            message: describe_error(&e, ctx.client.config().timeout_config()),
        })?;
        shards.extend(out.shards().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => {
                if !seen_tokens.insert(t.to_owned()) {
                    return Err(ListShardsError::RepeatedToken {
                        stream: stream.clone(),
                        page,
                    });
                }
                next = Some(t.to_owned());
            }
            _ => return Ok(shards),
        }
    }
    Err(ListShardsError::TooManyPages {
        stream: stream.clone(),
        pages: MAX_LIST_PAGES,
    })
}
