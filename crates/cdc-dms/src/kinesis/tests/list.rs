//! `ListShards` paging: followed to the last page, and bounded against a server that never
//! stops answering with a `NextToken`.

use std::sync::atomic::AtomicUsize;

use aws_sdk_kinesis::operation::list_shards::ListShardsOutput;
use aws_sdk_kinesis::types::Shard;
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::fake::shard;
use super::*;
use crate::kinesis::list::{ListShardsError, MAX_LIST_PAGES, list_shards};

/// Lists with a client whose every `ListShards` is answered by `page`; bounded in time, so
/// that a listing that never ends fails the test instead of hanging it.
async fn list_with(
    page: impl Fn(Option<&str>) -> ListShardsOutput + Send + Sync + 'static,
) -> (Result<Vec<Shard>, ListShardsError>, usize) {
    let rule = mock!(Client::list_shards).then_compute_output(move |req| page(req.next_token()));
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&rule]);
    let ctx = ctx_with(client, Subscribers::new("src"));
    let listed = tokio::time::timeout(Duration::from_secs(30), list_shards(&ctx))
        .await
        .expect("listing ended");
    (listed, rule.num_calls())
}

#[tokio::test]
async fn pages_are_followed_to_the_last_with_the_token_alone() {
    let asked: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let log = Arc::clone(&asked);
    let rule = mock!(Client::list_shards).then_compute_output(move |req| {
        // With a token the request must carry no stream: Kinesis refuses both together.
        let token = req.next_token().map(str::to_owned);
        let stream_too = req.stream_arn().is_some();
        log.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(match (&token, stream_too) {
                (Some(t), true) => Some(format!("{t} with stream")),
                _ => token.clone(),
            });
        let (id, next) = match token.as_deref() {
            None => ("shardId-0", Some("t1")),
            Some("t1") => ("shardId-1", Some("t2")),
            _ => ("shardId-2", None),
        };
        ListShardsOutput::builder()
            .set_shards(shard(id).map(|s| vec![s]))
            .set_next_token(next.map(str::to_owned))
            .build()
    });
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&rule]);
    let ctx = ctx_with(client, Subscribers::new("src"));
    let shards = list_shards(&ctx).await.unwrap();
    let ids: Vec<&str> = shards.iter().map(Shard::shard_id).collect();
    assert_eq!(ids, ["shardId-0", "shardId-1", "shardId-2"]);
    assert_eq!(
        *asked.lock().unwrap(),
        [None, Some("t1".to_owned()), Some("t2".to_owned())]
    );
}

#[tokio::test]
async fn a_next_token_given_again_ends_the_listing_with_an_error_naming_the_stream() {
    let (listed, calls) = list_with(|_| {
        ListShardsOutput::builder()
            .set_shards(shard("shardId-0").map(|s| vec![s]))
            .next_token("same-again")
            .build()
    })
    .await;
    let err = listed.unwrap_err();
    assert!(
        matches!(err, ListShardsError::RepeatedToken { page: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(STREAM_ARN), "{err}");
    assert_eq!(calls, 2);
}

#[tokio::test]
async fn a_next_token_forever_ends_the_listing_after_the_page_bound() {
    let n = AtomicUsize::new(0);
    let (listed, calls) = list_with(move |_| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        ListShardsOutput::builder()
            .next_token(format!("token-{i}"))
            .build()
    })
    .await;
    let err = listed.unwrap_err();
    assert!(
        matches!(err, ListShardsError::TooManyPages { pages, .. } if pages == MAX_LIST_PAGES),
        "{err:?}"
    );
    assert!(err.to_string().contains(STREAM_ARN), "{err}");
    assert_eq!(calls, MAX_LIST_PAGES);
}
