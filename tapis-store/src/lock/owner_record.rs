//! Who holds a lock folder: the owner record in its entry, this machine's identity, and
//! whether a process on this machine is still alive.

use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::time::SystemTime;

use serde_json::{Value, json};

/// This machine, as far as pids mean the same thing: the host name, the kernel's boot id and
/// the pid namespace (each `None` where it cannot be read).
#[derive(Debug, Clone)]
pub(super) struct Machine {
    host: String,
    boot_id: Option<String>,
    pid_namespace: Option<String>,
}

impl Machine {
    pub(super) fn current() -> Self {
        let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok();
        let pid_namespace = fs::read_link("/proc/self/ns/pid").ok();
        Self {
            host: crate::host_name(),
            boot_id: boot_id.map(|id| id.trim().to_owned()).filter(|id| !id.is_empty()),
            pid_namespace: pid_namespace.and_then(|link| link.to_str().map(str::to_owned)),
        }
    }

    /// Whether `record`'s pid can be looked up here: the same host name, and the same boot id
    /// and pid namespace, both known on both sides. Anything that differs or is unknown — an
    /// unreadable `/proc` in a container, another host, a reboot, a container's own pid
    /// namespace — makes it another machine's, judged by its heartbeat alone: a wait of one
    /// lease is the price of a wrong "other", a broken lock that of a wrong "same".
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
    /// `/proc/<pid>/stat` field 22: when the process started, in clock ticks since boot.
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
            start_time: process_stat(pid).map(|stat| stat.start_time),
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
    /// process that started at another time (the pid was reused), or one whose every thread
    /// is a zombie (killed, not yet reaped: it will never release anything). A process whose
    /// main thread has exited while others run shows `Z` for its main thread only: it is
    /// alive. A process whose `/proc` entry cannot be read counts as alive.
    pub(super) fn process_is_gone(&self) -> bool {
        if !crate::process_exists(self.pid) {
            return true;
        }
        let Some(stat) = process_stat(self.pid) else { return false };
        if self.start_time.is_some_and(|start| start != stat.start_time) {
            return true;
        }
        match fs::read_dir(format!("/proc/{}/task", self.pid)) {
            Ok(threads) => {
                let mut states = threads.flatten().filter_map(|thread| {
                    let stat = fs::read_to_string(thread.path().join("stat")).ok()?;
                    parse_stat(&stat).map(|stat| stat.state)
                });
                // No thread readable (all reaped between the two reads) is a process gone.
                states.all(|state| matches!(state, b'Z' | b'X'))
            }
            Err(_) => matches!(stat.state, b'Z' | b'X'),
        }
    }
}

/// Two fields of `/proc/<pid>/stat`.
struct ProcessStat {
    /// Field 3: `R`, `S`, `Z` (zombie), ...
    state: u8,
    /// Field 22.
    start_time: u64,
}

fn process_stat(pid: i32) -> Option<ProcessStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(text: &str) -> Option<ProcessStat> {
    // Field 2, the command name, is in parentheses and may hold spaces and parentheses: the
    // fields after it start after the last ')'.
    let mut fields = text.get(text.rfind(')')? + 1..)?.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    // Fields 4 to 21 are skipped; the 19th after field 3 is field 22.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcessStat { state, start_time })
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
