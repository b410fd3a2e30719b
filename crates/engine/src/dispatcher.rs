//! Events of one group in order, groups in parallel: each group hashes to one partition,
//! and each partition is one worker task draining its queue.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qunzhu_core::Event;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, warn};

use crate::{pipeline, Core, EngineError, Processed};

type Reply = oneshot::Sender<Result<Processed, EngineError>>;

enum Job {
    Process { seq: i64, event: Box<Event>, reply: Option<Reply> },
    Stop,
}

pub(crate) struct Dispatcher {
    queues: Vec<mpsc::Sender<Job>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// Store failures are retried this many times (with a short backoff) before the event is
/// left in the inbox for the next start.
const ATTEMPTS: u32 = 3;

impl Dispatcher {
    pub(crate) fn start(core: Arc<Core>, partitions: usize, depth: usize) -> Self {
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for _ in 0..partitions.max(1) {
            let (tx, rx) = mpsc::channel(depth.max(1));
            queues.push(tx);
            workers.push(tokio::spawn(run(core.clone(), rx)));
        }
        Self { queues, workers: Mutex::new(workers) }
    }

    pub(crate) async fn dispatch(&self, seq: i64, event: Event, reply: Option<Reply>) -> Result<(), EngineError> {
        let mut hasher = DefaultHasher::new();
        event.origin.connector.hash(&mut hasher);
        event.origin.group.hash(&mut hasher);
        let partition = (hasher.finish() % self.queues.len() as u64) as usize;
        self.queues[partition].send(Job::Process { seq, event: Box::new(event), reply }).await.map_err(|_| EngineError::ShuttingDown)
    }

    /// Queues a stop behind everything already queued, then waits for every worker.
    pub(crate) async fn stop(&self) {
        for queue in &self.queues {
            let _ = queue.send(Job::Stop).await;
        }
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for worker in workers {
            if let Err(e) = worker.await {
                error!(error = %e, "engine worker ended abnormally");
            }
        }
    }
}

async fn run(core: Arc<Core>, mut queue: mpsc::Receiver<Job>) {
    while let Some(job) = queue.recv().await {
        let Job::Process { seq, event, reply } = job else { break };
        let mut attempt = 1;
        let result = loop {
            match pipeline::process(&core, seq, &event).await {
                Err(EngineError::Store(e)) if attempt < ATTEMPTS => {
                    warn!(seq, attempt, error = %e, "store failed while processing; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    attempt += 1;
                }
                result => break result,
            }
        };
        if let Err(e) = &result {
            error!(seq, group = %event.group_key(), error = %e, "event left in the inbox for the next start");
        }
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
}
