// boxjail-completions: writes the bash, zsh and fish completions for
// boxjail from the flag table that --help and --config use (cli.h), so
// that a new flag is completed without anyone editing a script.
//
//   boxjail-completions OUTDIR   writes OUTDIR/boxjail (bash),
//                                OUTDIR/_boxjail (zsh), OUTDIR/boxjail.fish
//
// Run at build time. The value lists come from the same tables the parser
// uses (rlimit names, signal names) or from the libraries boxjail links
// (libcap's capability names, libseccomp's system call names).
#include <linux/capability.h>
#include <seccomp.h>
#include <sys/capability.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "boxjail/cli.h"
#include "boxjail/identity.h"
#include "boxjail/seccomp_groups.h"
#include "boxjail/rlimit.h"
#include "boxjail/signames.h"

namespace {

using boxjail::Complete;
using boxjail::Flag;
using Words = std::vector<std::string>;

struct Entry {
  const Flag* flag;
  std::string shorts;  // "p", or empty
  std::string longs;   // "pidfile"
  bool takes_value;    // the next word is the value
  bool optional;       // --name[=VALUE] only
  bool repeatable;
};

std::vector<Entry> entries() {
  size_t n = 0;
  const Flag* table = boxjail::flag_table(&n);
  // Registered with CLI11 as boxjail does, to ask it which are repeatable.
  CLI::App app;
  boxjail::Options o;
  std::vector<Entry> out;
  for (size_t i = 0; i < n; ++i) {
    const Flag& f = table[i];
    CLI::Option* opt = f.add(app, o, f);
    Entry e{&f, "", boxjail::long_name(f), false, false, false};
    std::string names = f.names;
    if (names.size() > 1 && names[0] == '-' && names[1] != '-') e.shorts = names.substr(1, 1);
    e.optional = names.find('{') != std::string::npos;
    e.takes_value = f.value != nullptr && !e.optional;
    e.repeatable = opt->get_items_expected_max() > 1 || (!e.takes_value && e.longs == "verbose");
    out.push_back(e);
  }
  return out;
}

Words rlimit_words() {
  size_t n = 0;
  const boxjail::RlimitInfo* t = boxjail::rlimit_table(&n);
  Words w;
  for (size_t i = 0; i < n; ++i) w.push_back(std::string(t[i].name) + "=");
  return w;
}

Words signal_words() {
  Words w;
  for (int s = 1; s < 32; ++s) {
    std::string name = boxjail::signal_name(s);
    if (name.rfind("SIG", 0) == 0) w.push_back(name.substr(3));
  }
  return w;
}

Words capability_words() {
  Words w{"all"};
  for (int c = 0; c <= CAP_LAST_CAP; ++c) {
    char* name = cap_to_name(static_cast<cap_value_t>(c));
    std::string s = name;
    cap_free(name);
    if (s.rfind("cap_", 0) == 0) w.push_back(s.substr(4));
  }
  return w;
}

Words syscall_words() {
  Words w;
  for (int nr = 0; nr < 1024; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
    if (name == nullptr) continue;
    w.push_back(name);
    free(name);
  }
  // The groups and families (@open, @system-service).
  for (const std::string& g : boxjail::seccomp::group_names()) w.push_back(g);
  return w;
}

// The fixed words of a kind, or empty for kinds the shell completes itself.
Words words_of(Complete c) {
  switch (c) {
    case Complete::kRlimit: return rlimit_words();
    case Complete::kSignal: return signal_words();
    case Complete::kSeccompAction:
      return {"kill-process", "trap", "log", "errno:EPERM", "errno:EACCES", "errno:ENOSYS"};
    case Complete::kSyscall: return syscall_words();
    case Complete::kCapability: return capability_words();
    case Complete::kLandlockMode: return {"require", "best-effort"};
    case Complete::kScope: return {"unix", "signal", "none"};
    case Complete::kLogLevel: return {"trace", "debug", "info", "warn", "error", "off"};
    case Complete::kFeatures: return {"text", "json"};
    case Complete::kSyscallGroup: return boxjail::seccomp::group_names();
    case Complete::kNamespaces:
      return {"user", "net", "mnt", "pid", "ipc", "uts", "cgroup", "time", "all"};
    case Complete::kAddressFamily:
      return {"unix", "inet", "inet6", "netlink", "packet", "vsock", "bluetooth", "can", "alg"};
    case Complete::kSecurebits: {
      size_t n = 0;
      const boxjail::Securebit* t = boxjail::securebit_table(&n);
      Words w;
      for (size_t i = 0; i < n; ++i)
        if (t[i].settable) w.push_back(t[i].name);
      return w;
    }
    default: return {};
  }
}

bool comma_list(Complete c) {
  return c == Complete::kSyscall || c == Complete::kCapability || c == Complete::kGroup ||
         c == Complete::kNamespaces || c == Complete::kAddressFamily || c == Complete::kEnvName ||
         c == Complete::kSecurebits;
}

std::string join(const Words& w, const char* sep = " ") {
  std::string s;
  for (const auto& x : w) s += (s.empty() ? "" : sep) + x;
  return s;
}

// A word for a shell single-quoted string.
std::string sq(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out;
}

std::string names_pattern(const Entry& e) {
  return (e.shorts.empty() ? "" : "-" + e.shorts + "|") + "--" + e.longs;
}

const char* kHeader = "Generated from boxjail's flag table by boxjail-completions; do not edit.";

std::string bash(const std::vector<Entry>& all) {
  std::string s = "# bash completion for boxjail(1).\n# " + std::string(kHeader) + "\n\n";
  s += "_boxjail() {\n"
       "    local cur prev words cword split\n"
       "    _init_completion -s || return\n\n"
       "    # Options end at \"--\" or at PROGRAM, the first word that is neither an\n"
       "    # option nor an option's value; PROGRAM's own words are completed as\n"
       "    # that command's.\n"
       "    local i\n"
       "    for ((i = 1; i < cword; i++)); do\n"
       "        case ${words[i]} in\n"
       "            --) _command_offset \"$(__boxjail_raw $((i + 1)))\"; return ;;\n";
  Words valued;
  for (const auto& e : all)
    if (e.takes_value) valued.push_back(names_pattern(e));
  s += "            " + join(valued, "|") + ") ((i++)) ;;\n";
  s += "            -*) ;;\n"
       "            *) _command_offset \"$(__boxjail_raw $i)\"; return ;;\n"
       "        esac\n"
       "    done\n\n"
       "    case $prev in\n";
  for (const auto& e : all) {
    if (!e.takes_value && !e.optional) continue;
    const Complete c = e.flag->complete;
    std::string body;
    const Words w = words_of(c);
    if (c == Complete::kFile) {
      body = "_filedir";
    } else if (c == Complete::kDir) {
      body = "_filedir -d";
    } else if (c == Complete::kUser) {
      body = "COMPREPLY=($(compgen -u -- \"$cur\"))";
    } else if (c == Complete::kGroup) {
      body = "__boxjail_list \"$(compgen -g)\"";
    } else if (c == Complete::kEnvName) {
      body = "__boxjail_list \"$(compgen -e)\"";
    } else if (comma_list(c)) {
      body = "__boxjail_list '" + sq(join(w)) + "'";
    } else if (!w.empty()) {
      body = "COMPREPLY=($(compgen -W '" + sq(join(w)) + "' -- \"$cur\"))";
      if (c == Complete::kRlimit) body += "\n            [[ $COMPREPLY == *= ]] && compopt -o nospace";
    } else {
      body = ":";  // free text: nothing to offer
    }
    // An optional value is only ever --name=VALUE.
    if (e.optional) body = "if $split; then\n                " + body + "\n                return\n            fi";
    else body += "\n            return";
    s += "        " + names_pattern(e) + ")\n            " + body + "\n            ;;\n";
  }
  s += "    esac\n"
       "    $split && return\n\n"
       "    if [[ $cur == -* ]]; then\n"
       "        COMPREPLY=($(compgen -W '";
  Words opts;
  for (const auto& e : all) {
    if (!e.shorts.empty()) opts.push_back("-" + e.shorts);
    opts.push_back("--" + e.longs + (e.optional ? "=" : ""));
    if (e.optional) opts.push_back("--" + e.longs);
  }
  opts.push_back("-h");
  opts.push_back("--help");
  opts.push_back("-V");
  opts.push_back("--version");
  s += sq(join(opts)) +
       "' -- \"$cur\"))\n"
       "        [[ ${#COMPREPLY[@]} -eq 1 && $COMPREPLY == *= ]] && compopt -o nospace\n"
       "        return\n"
       "    fi\n"
       "    # PROGRAM\n"
       "    COMPREPLY=($(compgen -c -- \"$cur\"))\n"
       "}\n\n"
       "# The index in COMP_WORDS of words[$1]: readline splits COMP_WORDS at \"=\",\n"
       "# which _init_completion -s joins again, and _command_offset counts the\n"
       "# split words.\n"
       "__boxjail_raw() {\n"
       "    local want=$1 i=0 j=0 acc=\n"
       "    while ((i < want && j < ${#COMP_WORDS[@]})); do\n"
       "        acc+=${COMP_WORDS[j]}\n"
       "        ((j++))\n"
       "        if [[ $acc == \"${words[i]}\" ]]; then\n"
       "            ((i++))\n"
       "            acc=\n"
       "        fi\n"
       "    done\n"
       "    echo \"$j\"\n"
       "}\n\n"
       "# A comma-separated list: completes the word after the last comma.\n"
       "__boxjail_list() {\n"
       "    local prefix=\n"
       "    [[ $cur == *,* ]] && prefix=${cur%,*},\n"
       "    COMPREPLY=($(compgen -P \"$prefix\" -W \"$1\" -- \"${cur##*,}\"))\n"
       "    compopt -o nospace\n"
       "}\n\n"
       "complete -F _boxjail boxjail\n";
  return s;
}

// Help text inside zsh's [...] within a single-quoted word.
std::string zsh_help(const std::string& h) {
  std::string out;
  for (char c : h) {
    if (c == '[' || c == ']') out += '\\';
    if (c == '\'') {
      out += "'\\''";
      continue;
    }
    out += c;
  }
  return out;
}

std::string zsh_action(const Entry& e) {
  const Complete c = e.flag->complete;
  const Words w = words_of(c);
  switch (c) {
    case Complete::kFile: return "_files";
    case Complete::kDir: return "_files -/";
    case Complete::kUser: return "_users";
    case Complete::kGroup: return "_sequence _groups";
    case Complete::kEnvName: return "_sequence _parameters -g \"*export*\"";
    case Complete::kRlimit: return "_boxjail_rlimits";
    case Complete::kSyscall: return "_boxjail_syscalls";
    case Complete::kCapability: return "_boxjail_capabilities";
    default: break;
  }
  if (!w.empty()) return "(" + join(w) + ")";
  return " ";
}

std::string zsh(const std::vector<Entry>& all) {
  std::string s = "#compdef boxjail\n# zsh completion for boxjail(1).\n# " + std::string(kHeader) +
                  "\n\n";
  s += "_boxjail_rlimits() {\n  compadd -S '' -- " + join(rlimit_words()) + "\n}\n";
  s += "_boxjail_syscalls() {\n  _sequence compadd - " + join(syscall_words()) + "\n}\n";
  s += "_boxjail_capabilities() {\n  _sequence compadd - " + join(capability_words()) + "\n}\n\n";
  s += "_arguments -s -S : \\\n";
  for (const auto& e : all) {
    std::string help = "[" + zsh_help(e.flag->help) + "]";
    std::string value;
    std::string placeholder = e.flag->value ? e.flag->value : "";
    for (char& ch : placeholder)
      if (ch == ':') ch = ' ';
    if (e.takes_value) value = ":" + placeholder + ":" + zsh_action(e);
    if (e.optional) value = "::" + placeholder + ":" + zsh_action(e);
    std::string suffix = e.takes_value ? "=" : e.optional ? "=-" : "";
    std::string spec;
    if (!e.shorts.empty()) {
      std::string excl = e.repeatable ? "*" : "(-" + e.shorts + " --" + e.longs + ")";
      spec = "  '" + excl + "'{-" + e.shorts + (e.takes_value ? "+" : "") + ",--" + e.longs +
             suffix + "}'" + help + value + "' \\\n";
    } else {
      spec = "  '" + std::string(e.repeatable ? "*" : "") + "--" + e.longs + suffix + help + value +
             "' \\\n";
    }
    s += spec;
  }
  s += "  '(- *)'{-h,--help}'[Print help and exit]' \\\n"
       "  '(- *)'{-V,--version}'[Print the version and build options and exit]' \\\n"
       "  '(-):PROGRAM:_command_names -e' \\\n"
       "  '*::PROGRAM arguments:_normal'\n";
  return s;
}

std::string fish_quote(const std::string& h) {
  std::string out = "'";
  for (char c : h) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string fish(const std::vector<Entry>& all) {
  std::string s = "# fish completion for boxjail(1).\n# " + std::string(kHeader) + "\n\n";
  Words valued;
  for (const auto& e : all)
    if (e.takes_value) {
      if (!e.shorts.empty()) valued.push_back("-" + e.shorts);
      valued.push_back("--" + e.longs);
    }
  s += "# The index of PROGRAM among the words before the cursor; fails while\n"
       "# options are still being given.\n"
       "function __boxjail_program_index\n"
       "    set -l tokens (commandline -opc)\n"
       "    set -l i 2\n"
       "    while test $i -le (count $tokens)\n"
       "        switch $tokens[$i]\n"
       "            case --\n"
       "                echo (math $i + 1)\n"
       "                return 0\n"
       "            case " + join(valued) + "\n"
       "                set i (math $i + 1)\n"
       "            case '-*'\n"
       "            case '*'\n"
       "                echo $i\n"
       "                return 0\n"
       "        end\n"
       "        set i (math $i + 1)\n"
       "    end\n"
       "    return 1\n"
       "end\n\n"
       "function __boxjail_options\n"
       "    not __boxjail_program_index >/dev/null\n"
       "end\n\n"
       "# Where PROGRAM may be typed: options are still open and the word before\n"
       "# the cursor is not an option that takes a value.\n"
       "function __boxjail_at_program\n"
       "    __boxjail_options; or return 1\n"
       "    set -l last (commandline -opc)[-1]\n"
       "    not contains -- $last " + join(valued) + "\n"
       "end\n\n"
       "# PROGRAM's words, completed as that command's.\n"
       "function __boxjail_program_args\n"
       "    set -l i (__boxjail_program_index); or return\n"
       "    set -l tokens (commandline -opc)\n"
       "    set -l line (string join ' ' -- (string escape -- $tokens[$i..-1]))\n"
       "    set -l cur (commandline -ct)\n"
       "    complete -C \"$line $cur\"\n"
       "end\n\n"
       "# A comma-separated list: the words after the last comma.\n"
       "function __boxjail_list\n"
       "    set -l prefix (commandline -ct | string replace -r -- '^--[^=]*=' '' | string replace -r -- '[^,]*$' '')\n"
       "    for w in $argv\n"
       "        echo $prefix$w\n"
       "    end\n"
       "end\n\n"
       "complete -c boxjail -f\n"
       "complete -c boxjail -n __boxjail_at_program -a '(__fish_complete_command)'\n"
       "complete -c boxjail -n 'not __boxjail_options' -a '(__boxjail_program_args)'\n";
  for (const auto& e : all) {
    std::string line = "complete -c boxjail -n __boxjail_options";
    if (!e.shorts.empty()) line += " -s " + e.shorts;
    line += " -l " + e.longs;
    const Complete c = e.flag->complete;
    const Words w = words_of(c);
    if (e.takes_value || e.optional) {
      // -x: a value, and no file names unless they are the value.
      if (e.takes_value) line += c == Complete::kFile ? " -r" : " -x";
      if (c == Complete::kFile) line += " -F";
      else if (c == Complete::kDir) line += " -a '(__fish_complete_directories)'";
      else if (c == Complete::kUser) line += " -a '(__fish_complete_users)'";
      else if (c == Complete::kGroup) line += " -a '(__boxjail_list (__fish_complete_groups | string replace -r \"\\t.*\" \"\"))'";
      else if (c == Complete::kEnvName) line += " -a '(__boxjail_list (set -xn))'";
      else if (comma_list(c)) line += " -a '(__boxjail_list " + join(w) + ")'";
      else if (!w.empty()) line += " -a " + fish_quote(join(w));
    }
    line += " -d " + fish_quote(e.flag->help);
    s += line + "\n";
  }
  s += "complete -c boxjail -n __boxjail_options -s h -l help -d 'Print help and exit'\n"
       "complete -c boxjail -n __boxjail_options -s V -l version -d 'Print the version and build "
       "options and exit'\n";
  return s;
}

bool write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::fprintf(stderr, "boxjail-completions: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: boxjail-completions OUTDIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::vector<Entry> all = entries();
  bool ok = write(dir + "/boxjail", bash(all));
  ok = write(dir + "/_boxjail", zsh(all)) && ok;
  ok = write(dir + "/boxjail.fish", fish(all)) && ok;
  return ok ? 0 : 1;
}
