//! Tests of dispatch: delivery in order to every handler, cancellation, failure accounting
//! and waiting for a subscriber. Apart because they drive handlers, the set and
//! subscriptions together.

use super::*;
use crate::Operation;
use std::sync::Mutex;

// The parent module held these for the code the tests sat next to.
use crate::event::ChangeEvent;
use std::sync::Arc;

fn events(n: usize) -> Vec<SharedEvent> {
    (0..n)
        .map(|i| {
            Arc::new(
                ChangeEvent::new("s", Operation::Insert, "public.t")
                    .with_key(serde_json::json!({"id": i})),
            )
        })
        .collect()
}

fn recorder() -> (Arc<dyn EventHandler>, Arc<Mutex<Vec<i64>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let h = handler_fn(move |e: SharedEvent| {
        let s = Arc::clone(&s);
        async move {
            s.lock()
                .unwrap()
                .push(e.key.as_ref().unwrap()["id"].as_i64().unwrap());
            Ok(())
        }
    });
    (h, seen)
}

#[tokio::test]
async fn every_handler_gets_every_event_in_order_and_cancel_removes_one() {
    let subs = Subscribers::new("s");
    let (h1, seen1) = recorder();
    let (h2, seen2) = recorder();
    let s1 = subs.subscribe(h1);
    let s2 = subs.subscribe(h2);
    assert_eq!(subs.len(), 2);
    subs.deliver(&events(5)).await.unwrap();
    assert_eq!(*seen1.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(*seen2.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    assert!(s1.cancel());
    assert!(s2.is_active());
    subs.deliver(&events(2)).await.unwrap();
    assert_eq!(seen1.lock().unwrap().len(), 5);
    assert_eq!(seen2.lock().unwrap().len(), 7);
    drop(s2);
    assert!(subs.is_empty());
}

#[tokio::test]
async fn failure_reports_events_handled_by_all() {
    let subs = Subscribers::new("s");
    let (ok, _) = recorder();
    let failing = handler_fn(|e: SharedEvent| async move {
        if e.key.as_ref().unwrap()["id"] == 3 {
            Err("boom".into())
        } else {
            Ok(())
        }
    });
    let _a = subs.subscribe(ok);
    let b = subs.subscribe(failing);
    let err = subs.deliver(&events(6)).await.unwrap_err();
    assert_eq!(err.handled, 3);
    assert_eq!(err.errors.len(), 1);
    assert_eq!(err.errors[0].0, b.id());
    assert!(err.to_string().contains("boom"));
}

/// A handler that panics has failed on the whole batch, alone or beside others, and the
/// delivery returns (the task delivering is not taken down with it); the next delivery
/// reaches it again.
#[tokio::test]
async fn a_panicking_handler_fails_the_batch_and_delivery_goes_on() {
    let subs = Subscribers::new("s");
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let panicking = handler_fn(move |e: SharedEvent| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            if n == 1 {
                panic!("bad row {}", e.key.as_ref().unwrap()["id"]);
            }
            Ok(())
        }
    });
    let p = subs.subscribe(panicking);
    let err = subs.deliver(&events(3)).await.unwrap_err();
    assert_eq!(err.handled, 0, "a panic counts nothing as handled");
    assert_eq!(err.errors[0].0, p.id());
    assert_eq!(err.errors[0].1.message, "the handler panicked: bad row 1");
    // Beside another handler, and with a message of any length: clipped.
    let (ok, got) = recorder();
    let _o = subs.subscribe(ok);
    let long = handler_fn(|_e: SharedEvent| async move {
        if true {
            panic!("{}", "x".repeat(10_000));
        }
        Ok(())
    });
    let l = subs.subscribe(long);
    let err = subs.deliver(&events(2)).await.unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert_eq!(err.errors[0].0, l.id());
    assert!(err.errors[0].1.message.len() < 300);
    assert_eq!(
        got.lock().unwrap().len(),
        2,
        "the other handler got the batch"
    );
    drop(l);
    subs.deliver(&events(2)).await.unwrap();
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 5);
}

#[tokio::test]
async fn wait_for_subscriber_wakes_on_subscribe() {
    let subs = Subscribers::new("s");
    let waiter = {
        let subs = subs.clone();
        tokio::spawn(async move { subs.wait_for_subscriber().await })
    };
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    let (h, _) = recorder();
    let _sub = subs.subscribe(h);
    tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .expect("woken")
        .unwrap();
    // returns at once when someone already listens
    subs.wait_for_subscriber().await;
}

#[tokio::test]
async fn detached_subscription_stays() {
    let subs = Subscribers::new("s");
    let (h, seen) = recorder();
    subs.subscribe(h).detach();
    subs.deliver(&events(1)).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
    subs.clear();
    assert!(subs.is_empty());
}
