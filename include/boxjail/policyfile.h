// Policy files (--config, --seccomp-profile, --seccomp-bpf) that only root
// and the caller could have written, after sshd's StrictModes: a file that
// someone else can rewrite is a policy that someone else chooses.
//
// Parent side only. Every descriptor is owned by a UniqueFd inside
// read_policy_file and closed before it returns.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace boxjail {

/// The most a policy file may hold (16 MiB); a bigger one is refused.
inline constexpr size_t kPolicyFileMax = size_t{16} << 20;

/// Reads the policy file that `flag` ("--config", "--seccomp-profile",
/// "--seccomp-bpf") names as `path` into `*contents`, refusing one that
/// anyone but root and the caller could have written. A relative `path` is
/// relative to the working directory.
///
/// The checks, each on what was opened rather than on a name looked up again:
/// - the directory that holds the file is resolved to its canonical path
///   (realpath), and every directory from / down to it is opened in turn
///   with O_PATH|O_DIRECTORY|O_NOFOLLOW from the one above and fstat()ed.
///   Each must be owned by root or the caller and writable by neither its
///   group nor others, unless it is sticky (mode 1777, such as /tmp): there,
///   only an entry's owner, the directory's owner or root can rename or
///   remove the entry, so others cannot put a directory or a file of their
///   own in place of the one below, which is itself checked;
/// - the file is opened in the last of those directories with
///   O_RDONLY|O_NOFOLLOW|O_NOCTTY|O_NONBLOCK|O_CLOEXEC (so a symbolic link is
///   refused, and a FIFO cannot block), and the descriptor must be a regular
///   file owned by root or the caller and writable by neither its group nor
///   others;
/// - the contents are read from that descriptor, at most kPolicyFileMax bytes.
///
/// Owners are named from /etc/passwd, read directly (no NSS: boxjail is
/// static). In a user namespace, an owner the namespace does not map shows
/// as the overflow uid (65534) and is refused like any other user: it may
/// be anyone outside, not only root. So, as an ordinary user inside
/// `unshare -Urm`, where / itself is such, no policy file is accepted; in a
/// container whose root the namespace maps, the rule is as outside.
///
/// False with a one-line `*err` that starts with "FLAG PATH: ", names the
/// file or directory, its owner and mode, and says what to do, such as
/// "--config /tmp/x/box.toml: writable by others (owner nobody (65534), mode
/// 0666): a policy file must be owned by root or you and writable by no one
/// else; chmod go-w it".
bool read_policy_file(const std::string& flag, const std::string& path, std::string* contents,
                      std::string* err);

/// read_policy_file with `caller` standing for the effective uid, for tests
/// that show a refused owner without the privilege to chown.
bool read_policy_file_as(uid_t caller, const std::string& flag, const std::string& path,
                         std::string* contents, std::string* err);

/// "NAME (UID)" from /etc/passwd, or "uid UID" when it has no such user;
/// "a user this user namespace does not map (shown as UID)" for the
/// overflow uid where /proc/self/uid_map does not map it.
std::string describe_owner(uid_t uid);

}  // namespace boxjail
