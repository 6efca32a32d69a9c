// --config FILE: TOML through CLI11's own config reader, with every key
// checked against the flag table (cli.h) before CLI11 applies it, so that
// each error names the key. See boxjail(1), CONFIGURATION FILES.
#pragma once

#include <CLI/CLI.hpp>
#include <istream>
#include <string>
#include <vector>

namespace boxjail::config {

/// Thrown by TomlReader::from_config when read_policy_file (policyfile.h)
/// refuses the file. what() is the reason alone, so that parse_cli's
/// "FILE: MESSAGE" for errors in the file reads "FILE: writable by others
/// (...)"; `line` is read_policy_file's whole message, "--config FILE: ...".
class PolicyFileError : public CLI::ConfigError {
 public:
  PolicyFileError(std::string reason, std::string whole)
      : CLI::ConfigError(std::move(reason)), line(std::move(whole)) {}
  std::string line;
};

/// TOML as boxjail reads it, for CLI11's parser. Arrays that span several
/// lines, and trailing commas, are joined onto one line first (CLI11 2.1
/// reads neither). `command = [...]` is taken out into `command`; every
/// other key must be a long option of the flag table. Errors are thrown as
/// CLI::ConfigError with a one-line message that starts with the key.
///
/// The text parsed is not `in` (the stream CLI11 opened by name) but the
/// file named by `app`'s --config, read again through read_policy_file,
/// which refuses a file that anyone but root and the caller could have
/// written (PolicyFileError). Without `app`, or without a --config value,
/// from_config refuses rather than parse an unchecked stream.
class TomlReader : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override;

  /// The parser the options are registered with (to ask which take one
  /// value only, and for the --config file's name).
  const CLI::App* app = nullptr;
  mutable std::vector<std::string> command;  // `command = [...]`, if given

 private:
  // CLI11 reads each --config value, the last first (several end in
  // "--config given twice" after they are read); how many were read.
  mutable size_t files_read_ = 0;
};

/// The text of `in` with each multi-line array joined onto its key's line,
/// comments inside it and a trailing comma dropped. Throws CLI::ConfigError
/// for a key given twice, for a table header ("line 3: table [box]: ...")
/// and for an array that is not closed ("line 2: key 'fs-ro': ..."), the
/// last two with the line they are on.
std::string join_arrays(std::istream& in);

}  // namespace boxjail::config
