//! Background work that must not cost the sales their latency: a thread
//! that hashes passwords or copies the database for a backup puts itself
//! in Linux's idle scheduling class, so the kernel runs it only on CPU time
//! nothing else wants and a sale's worker that wakes up takes the core at
//! once.

/// Puts the calling thread in the idle scheduling class, saying in the log
/// (as `work`) when it cannot: not every platform has the class, and the
/// work then runs at normal priority.
pub fn lowest_priority(work: &str) {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(e) = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            idle,
        ) {
            tracing::warn!(?e, work, "runs at normal priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    tracing::debug!(work, "runs at normal priority");
}
