//! Who holds a lock folder: the owner record in its entry, this machine's identity, and
//! whether a process on this machine is still alive. What the operating system tells of
//! either comes from [`liveness`], one function per fact.

mod liveness;

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::time::SystemTime;

use serde_json::{Value, json};

/// This machine, as far as pids mean the same thing: the host name, the boot identity and
/// the pid namespace (each `None` where it cannot be read).
#[derive(Debug, Clone)]
pub(super) struct Machine {
    host: String,
    boot_id: Option<String>,
    pid_namespace: Option<String>,
}

impl Machine {
    pub(super) fn current() -> Self {
        Self { host: crate::host_name(), boot_id: liveness::boot_id(), pid_namespace: liveness::pid_namespace() }
    }

    /// Whether `record`'s pid can be looked up here: the same host name, and the same boot id
    /// and pid namespace, both known on both sides. Anything that differs or is unknown — an
    /// unreadable `/proc` in a container, another host, a reboot, a container's own pid
    /// namespace, a platform that tells neither — makes it another machine's, judged by its
    /// heartbeat alone: a wait of one lease is the price of a wrong "other", a broken lock
    /// that of a wrong "same".
    pub(super) fn is_this_one(&self, record: &OwnerRecord) -> bool {
        let known_and_equal = |ours: &Option<String>, theirs: &Option<String>| ours.is_some() && ours == theirs;
        record.host == self.host
            && known_and_equal(&self.boot_id, &record.boot_id)
            && known_and_equal(&self.pid_namespace, &record.pid_namespace)
    }
}

/// The owner record in a lock folder's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OwnerRecord {
    host: String,
    boot_id: Option<String>,
    pid_namespace: Option<String>,
    pid: i32,
    /// When the process started, as this platform tells it ([`liveness::process_start_time`]):
    /// compared only on the same machine, with the same platform's value.
    start_time: Option<u64>,
    pub(super) nonce: String,
}

/// At most this much of an entry is read; a record is about 200 bytes.
const MAX_RECORD_BYTES: u64 = 4096;

impl OwnerRecord {
    pub(super) fn ours(machine: &Machine, nonce: String) -> Self {
        let pid = std::process::id() as i32;
        Self {
            host: machine.host.clone(),
            boot_id: machine.boot_id.clone(),
            pid_namespace: machine.pid_namespace.clone(),
            pid,
            start_time: liveness::process_start_time(pid),
            nonce,
        }
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "host": self.host,
            "boot_id": self.boot_id,
            "pid_namespace": self.pid_namespace,
            "pid": self.pid,
            "start_time": self.start_time,
            "nonce": self.nonce,
        })
    }

    pub(super) fn write_to(&self, mut file: &File) -> std::io::Result<()> {
        file.write_all(format!("{}\n", self.to_json()).as_bytes())
    }

    /// Reads a record from an open entry; `None` when it is not one.
    pub(super) fn read_from(file: &File) -> Option<Self> {
        let mut bytes = Vec::new();
        file.take(MAX_RECORD_BYTES).read_to_end(&mut bytes).ok()?;
        Self::parse(&bytes)
    }

    fn parse(bytes: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let pid = value.get("pid").and_then(Value::as_i64).and_then(|pid| i32::try_from(pid).ok());
        Some(Self {
            host: text("host")?,
            boot_id: text("boot_id"),
            pid_namespace: text("pid_namespace"),
            pid: pid.filter(|pid| *pid > 0)?,
            start_time: value.get("start_time").and_then(Value::as_u64),
            nonce: text("nonce").filter(|nonce| !nonce.is_empty())?,
        })
    }

    /// Whether the recorded process (on this machine) no longer exists: no such pid, a
    /// process that started at another time (the pid was reused), or one that has ended but
    /// is not yet reaped ([`liveness::process_has_ended`]: it will never release anything). A
    /// process whose start time cannot be read counts as alive.
    pub(super) fn process_is_gone(&self) -> bool {
        if !crate::process_exists(self.pid) {
            return true;
        }
        let Some(start_time) = liveness::process_start_time(self.pid) else { return false };
        if self.start_time.is_some_and(|recorded| recorded != start_time) {
            return true;
        }
        liveness::process_has_ended(self.pid)
    }
}

/// 128 bits from the kernel's random source, in hex; where that cannot be read, a hash of the
/// host, pid, time and a counter, which is as unique if less unpredictable.
pub(super) fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    let random = File::open("/dev/urandom").and_then(|mut source| source.read_exact(&mut bytes));
    if random.is_err() {
        use std::hash::{BuildHasher as _, Hasher as _};
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos();
        for (index, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write(crate::host_name().as_bytes());
            hasher.write_u32(std::process::id());
            hasher.write_u128(nanos);
            hasher.write_u64(count);
            hasher.write_usize(index);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(boot_id: Option<&str>, pid_namespace: Option<&str>) -> Machine {
        Machine {
            host: "node1".to_owned(),
            boot_id: boot_id.map(str::to_owned),
            pid_namespace: pid_namespace.map(str::to_owned),
        }
    }

    fn record_of(machine: &Machine) -> OwnerRecord {
        OwnerRecord::ours(machine, "00ff".to_owned())
    }

    #[test]
    fn unknown_is_another_machine() {
        let table = [
            ("all known and equal", machine(Some("b"), Some("pid:[1]")), machine(Some("b"), Some("pid:[1]")), true),
            ("boot id unknown on both sides", machine(None, Some("pid:[1]")), machine(None, Some("pid:[1]")), false),
            ("pid namespace unknown on both sides", machine(Some("b"), None), machine(Some("b"), None), false),
            ("pid namespace unknown here", machine(Some("b"), None), machine(Some("b"), Some("pid:[1]")), false),
            ("another boot", machine(Some("a"), Some("pid:[1]")), machine(Some("b"), Some("pid:[1]")), false),
        ];
        for (case, here, there, expected) in table {
            assert_eq!(here.is_this_one(&record_of(&there)), expected, "{case}");
        }
    }

    #[test]
    fn a_record_reads_back() {
        let record = record_of(&machine(Some("b"), None));
        let mut file = tempfile::tempfile().expect("a file");
        record.write_to(&file).expect("write");
        std::io::Seek::rewind(&mut file).expect("rewind");
        assert_eq!(OwnerRecord::read_from(&file), Some(record));
    }
}
