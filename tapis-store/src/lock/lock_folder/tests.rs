use std::fs;
use std::path::Path;

use super::*;

/// A token folder with a lock folder holding one entry of a dead process on this machine.
fn lock_folder_of_a_dead_holder(folder: &Path, name: &str) -> String {
    let mut child = std::process::Command::new("true").spawn().expect("spawn true");
    child.wait().expect("wait");
    let nonce = new_nonce();
    let mut record = OwnerRecord::ours(&Machine::current(), nonce.clone()).to_json();
    record["pid"] = child.id().into();
    fs::create_dir(folder.join(name)).expect("mkdir");
    let entry = format!("{nonce}.owner");
    fs::write(folder.join(name).join(&entry), record.to_string()).expect("write");
    entry
}

fn paths(folder: &Path) -> LockPaths {
    LockPaths {
        file: folder.join("tokens.json.lock"),
        folder_lock: folder.join("tokens.json.lock.d"),
        folder: folder.to_path_buf(),
        token_file_name: "tokens.json".to_owned(),
        heartbeat_period: Duration::from_secs(10),
        lease: Duration::from_secs(90),
        stop: None,
    }
}

/// The lock folder is opened once, and everything judged and removed is in the folder
/// opened: swapped for a link to another folder after the check, the link's target is not
/// touched.
#[test]
fn a_lock_folder_swapped_for_a_link_after_it_was_opened_redirects_nothing() {
    let temporary = tempfile::tempdir().expect("a folder");
    let folder = temporary.path();
    let entry = lock_folder_of_a_dead_holder(folder, "tokens.json.lock.d");
    // Elsewhere: a folder holding a file of the same name, which a removal through the path
    // would delete.
    fs::create_dir(folder.join("elsewhere")).expect("mkdir");
    fs::write(folder.join("elsewhere").join(&entry), "precious").expect("write");

    let token_folder = TokenFolder::open(folder).expect("open");
    let lock_paths = paths(folder);
    let names = ProtocolNames::new(&lock_paths, "0");
    let machine = Machine::current();
    let mut waiter = Waiter {
        paths: &lock_paths,
        folder: &token_folder,
        names: &names,
        machine: &machine,
        watch: HeartbeatWatch::new(Duration::from_secs(90)),
    };
    let opened = token_folder.open_folder(&names.lock).expect("the lock folder");
    // The swap, between the check (the open) and the use.
    fs::rename(folder.join("tokens.json.lock.d"), folder.join("moved")).expect("move the lock folder away");
    std::os::unix::fs::symlink(folder.join("elsewhere"), folder.join("tokens.json.lock.d")).expect("symlink");

    assert_eq!(waiter.look_into(&opened, None).expect("a look"), Look::TookOver);
    assert_eq!(fs::read_to_string(folder.join("elsewhere").join(&entry)).expect("still there"), "precious");
    assert!(!folder.join("moved").join(&entry).exists(), "the dead holder's entry, in the folder opened, is removed");
    // And a link at the lock folder's name is never opened.
    let error = waiter.look(None).expect_err("a link");
    assert_eq!(error.to_string(), "it is not a folder; remove it (tapis creates it again)");
}

#[test]
fn staging_names_are_the_protocols_own() {
    let names = ProtocolNames::new(&paths(Path::new("/")), "00ff");
    let table = [
        (".tokens.json.lock.00ff.new", true),
        (".tokens.json.lock.0123456789abcdef0123456789abcdef.new", true),
        (".tokens.json.lock..new", false),
        (".tokens.json.lock.zz.new", false),
        (".tokens.json.lock.00ff.new.old", false),
        (".other.json.lock.00ff.new", false),
    ];
    for (name, expected) in table {
        assert_eq!(names.is_staging(name), expected, "{name}");
    }
    for (name, expected) in [("00ff.owner", true), ("notes.txt", false), (".owner", false), ("x1.owner", false)] {
        assert_eq!(is_entry_name(name), expected, "{name}");
    }
}
