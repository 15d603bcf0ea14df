//! SQLite's group commit: requests that queue for the writer share one
//! transaction, each in its own savepoint. What a cashier relies on: no
//! request is answered before the commit that holds it, a refused request
//! takes nothing of the others with it, and when a batch cannot commit every
//! request in it hears so and nothing of it stays.

use std::time::Duration;

use fuelcard::db::{Db, Slot};
use tokio::sync::oneshot;

use crate::support::{Backend, FreshDb};

async fn sqlite() -> (FreshDb, Db) {
    let fresh = FreshDb::create(Backend::Sqlite).await.expect("sqlite");
    let db = Db::connect(&fresh.url, 4).await.expect("connect");
    sqlx::query("CREATE TABLE marks (name TEXT NOT NULL)")
        .execute(db.pool())
        .await
        .expect("table");
    (fresh, db)
}

async fn mark(slot: &mut Slot, name: &str) {
    sqlx::query("INSERT INTO marks (name) VALUES ($1)")
        .bind(name)
        .execute(slot.conn().expect("conn"))
        .await
        .expect("insert");
}

/// The marks another connection sees: only committed ones.
async fn committed(db: &Db) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM marks ORDER BY name")
        .fetch_all(db.pool())
        .await
        .expect("marks")
}

/// Enters the writer queue in the background; the slot does its mark, says
/// it is inside, and finishes (`keep`) when told to go.
fn queued(
    db: &Db,
    name: &'static str,
    keep: bool,
) -> (
    oneshot::Receiver<()>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), sqlx::Error>>,
) {
    let (inside_tx, inside) = oneshot::channel();
    let (go, go_rx) = oneshot::channel::<()>();
    let group = db.group().expect("sqlite groups commits").clone();
    let task = tokio::spawn(async move {
        let mut slot = group.enter().await?;
        mark(&mut slot, name).await;
        let _ = inside_tx.send(());
        let _ = go_rx.await;
        slot.finish(keep).await
    });
    (inside, go, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_requests_share_one_commit_and_a_refused_one_takes_nothing_with_it() {
    let (_fresh, db) = sqlite().await;
    let group = db.group().expect("sqlite groups commits").clone();

    let mut first = group.enter().await.expect("enter");
    mark(&mut first, "a").await;
    // Two more requests queue behind the first.
    let (b_inside, b_go, b_done) = queued(&db, "b", false);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (c_inside, c_go, c_done) = queued(&db, "c", true);
    tokio::time::sleep(Duration::from_millis(150)).await;
    // The first finishes while others wait: it hands the transaction on
    // rather than commit, and is not answered yet.
    let a_done = tokio::spawn(first.finish(true));
    tokio::time::timeout(Duration::from_secs(10), b_inside)
        .await
        .expect("b enters next")
        .expect("b runs after a");
    assert!(
        committed(&db).await.is_empty(),
        "a request's work is visible before its batch committed"
    );
    assert!(!a_done.is_finished(), "a was answered before its commit");

    // b is refused (rolled back to its savepoint), c goes through last and
    // commits the batch: a and c stay, b does not.
    b_go.send(()).expect("b waits");
    c_go.send(()).expect("c waits");
    tokio::time::timeout(Duration::from_secs(10), c_inside)
        .await
        .expect("c enters next")
        .expect("c runs after b");
    for done in [a_done, b_done, c_done] {
        tokio::time::timeout(Duration::from_secs(10), done)
            .await
            .expect("answered")
            .expect("task")
            .expect("committed");
    }
    assert_eq!(committed(&db).await, ["a", "c"]);

    // A request alone commits at once.
    let mut alone = group.enter().await.expect("enter");
    mark(&mut alone, "d").await;
    alone.finish(true).await.expect("committed");
    assert_eq!(committed(&db).await, ["a", "c", "d"]);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_dies_inside_a_batch_takes_the_batch_down_and_everyone_hears_so() {
    let (_fresh, db) = sqlite().await;
    let group = db.group().expect("sqlite groups commits").clone();

    let mut first = group.enter().await.expect("enter");
    mark(&mut first, "a").await;
    let (inside, go, doomed) = {
        let (inside_tx, inside) = oneshot::channel();
        let (go, go_rx) = oneshot::channel::<()>();
        let group = group.clone();
        let task = tokio::spawn(async move {
            let mut slot = group.enter().await.expect("enter");
            mark(&mut slot, "b").await;
            let _ = inside_tx.send(());
            let _ = go_rx.await;
            // Dies here: the slot is dropped without finishing.
            drop(slot);
        });
        (inside, go, task)
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a_done = tokio::spawn(first.finish(true));
    tokio::time::timeout(Duration::from_secs(10), inside)
        .await
        .expect("b enters next")
        .expect("b runs after a");
    go.send(()).expect("b waits");
    doomed.await.expect("b ends");
    let a = tokio::time::timeout(Duration::from_secs(10), a_done)
        .await
        .expect("a answered")
        .expect("task");
    assert!(
        a.is_err(),
        "a was told its work stayed, yet its batch rolled back"
    );
    assert!(committed(&db).await.is_empty());

    // The writer is free again afterwards.
    let mut next = group.enter().await.expect("enter");
    mark(&mut next, "c").await;
    next.finish(true).await.expect("committed");
    assert_eq!(committed(&db).await, ["c"]);
    db.close().await;
}
